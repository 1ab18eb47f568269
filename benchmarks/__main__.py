"""`python -m benchmarks [--quick] [--only decode,...] [--json F] [--baseline OLD.json]`.

`--baseline` takes an earlier run's JSON (e.g. the library before a change) and prints its
values beside this run's, with the after/before ratio: the record of each change's effect.
"""

from __future__ import annotations

import argparse
import importlib
import time
import traceback

from ._report import Report, environment

SCENARIOS = ["decode", "send", "e2e", "latency", "scale", "alloc"]
MODULES = {"send": "encode"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer rounds, fewer frames, shorter trials and coarser searches",
    )
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated subset")
    parser.add_argument("--json", default="benchmark-results.json", help="where to write JSON")
    parser.add_argument(
        "--baseline", help="an earlier run's JSON: adds its values as a 'before' column"
    )
    parser.add_argument("--label", default="", help="names this run in its JSON (history)")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {sorted(unknown)}; choose from {SCENARIOS}")
    env = environment()
    print(f"Python {env['python'].split()[0]} on {env['cpu']} ({env['cpu_count']} CPUs)")
    git = env["git"]
    print(f"git {git['commit']} (dirty: {git['dirty']}), library from {git['library']}")
    print(f"build: {env['build']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    report = Report()
    if args.baseline:
        report.load_baseline(args.baseline)
    timings: dict[str, float] = {}
    failed: list[str] = []
    for name in chosen:
        print(f"[{name}]", flush=True)
        t0 = time.perf_counter()
        module = importlib.import_module(f".{MODULES.get(name, name)}", __package__)
        try:
            module.run(report, args.quick)
        except Exception:  # one broken scenario must not lose the others' results
            traceback.print_exc()
            failed.append(name)
        timings[name] = time.perf_counter() - t0
    print()
    print(report.table())
    report.write_json(
        args.json, {"label": args.label, "quick": args.quick, "seconds": timings, "failed": failed}
    )
    print(f"\nwrote {args.json}")
    if failed:
        raise SystemExit(f"scenario(s) failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
