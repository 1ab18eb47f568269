"""`python -m benchmarks [--quick] [--only decode,send,e2e,latency,scale,alloc] [--json F]`."""

from __future__ import annotations

import argparse
import importlib
import time

from ._report import Report, environment

SCENARIOS = ["decode", "send", "e2e", "latency", "scale", "alloc"]
MODULES = {"send": "encode"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer rounds (about 2 minutes)")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated subset")
    parser.add_argument("--json", default="benchmark-results.json", help="where to write JSON")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {sorted(unknown)}; choose from {SCENARIOS}")
    env = environment()
    print(f"Python {env['python'].split()[0]} on {env['cpu']} ({env['cpu_count']} CPUs)")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    report = Report()
    timings: dict[str, float] = {}
    for name in chosen:
        print(f"[{name}]", flush=True)
        t0 = time.perf_counter()
        module = importlib.import_module(f".{MODULES.get(name, name)}", __package__)
        module.run(report, args.quick)
        timings[name] = time.perf_counter() - t0
    print()
    print(report.table())
    report.write_json(args.json, {"quick": args.quick, "seconds": timings})
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
