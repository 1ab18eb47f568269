"""One table for every scenario, and the JSON file (versions, CPU, Python)."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from trio_gemini_live._build_info import build_name

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    section: str
    name: str
    value: float
    unit: str
    ratio: float | None = None  # value ÷ the baseline's value (or target), same run
    baseline: str = ""
    note: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list[Row])
    # (section, name) -> value from an earlier run (`--baseline`): the "before" column.
    before: dict[tuple[str, str], float] = field(default_factory=dict[tuple[str, str], float])
    before_label: str = ""

    def load_baseline(self, path: str) -> None:
        with open(path) as f:
            data = json.load(f)
        self.before = {(r["section"], r["name"]): r["value"] for r in data["rows"]}
        self.before_label = data.get("label") or path

    def add(self, *args: Any, **kwargs: Any) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        print(f"  {row.section:8} {row.name:56} {_fmt(row.value)} {row.unit}", flush=True)
        return row

    def add_lateness(
        self, section: str, name: str, p99: dict[str, float], client: str, genai: str, note: str
    ) -> Row:
        """A row of `client`'s p99 lateness (us), against google-genai's (`genai`) this run."""
        return self.add(
            section,
            name,
            p99[client],
            "us",
            p99[client] / p99[genai],
            "google-genai p99",
            note=note,
        )

    def add_lateness_vs_ag2(
        self,
        section: str,
        name: str,
        p99: dict[str, float],
        p50: dict[str, float],
        ours: str,
        ag2: str,
    ) -> Row:
        """A row of our p99 lateness over AG2's (below 1: ours less late), with the p50 ratio."""
        return self.add(
            section,
            name,
            p99[ours] / p99[ag2],
            "x",
            note=f"ours ÷ AG2 (below 1: ours less late); p50 {p50[ours] / p50[ag2]:.2f}x",
        )

    def table(self) -> str:
        history = bool(self.before)
        extra = f"{'before':>11} {'after/before':>12} " if history else ""
        lines = [
            "ratio = value ÷ the figure after '÷' in the last column, both from this run (or "
            "÷ a target): below 1 = less time, CPU",
            "or lateness than that peer; for a `target >= N` row above 1 meets it, for a "
            "`target < N` row below 1 does. Rows in 'x' are ratios themselves, named in the row.",
            f"{'section':9}{'scenario':58}{'value':>11} {'unit':9}{extra}{'ratio':>8}  ÷ vs / note",
            "-" * (146 if history else 120),
        ]
        for r in self.rows:
            ratio = f"{r.ratio:7.3f}x" if r.ratio is not None else " " * 8
            vs = f"÷ {r.baseline}" if r.ratio is not None and r.baseline else r.baseline
            tail = vs + (f" ({r.note})" if r.note else "")
            head = f"{r.section:9}{r.name:58}{_fmt(r.value)} {r.unit:9}"
            if history:
                old = self.before.get((r.section, r.name))
                if old is None:
                    head += " " * 25
                else:
                    change = f"{r.value / old:11.3f}x" if old else " " * 12
                    head += f"{_fmt(old)} {change} "
            lines.append(f"{head}{ratio}  {tail}")
        if history:
            lines.append(f"before: {self.before_label}")
        return "\n".join(lines)

    def write_json(self, path: str, extra: dict[str, Any]) -> None:
        rows = []
        for r in self.rows:
            row = asdict(r)
            if self.before:
                row["before"] = self.before.get((r.section, r.name))
            rows.append(row)
        data = {"environment": environment(), **extra, "rows": rows}
        if self.before:
            data["history"] = {"before": self.before_label}
        with open(path, "w") as f:
            json.dump(data, f, indent=2)


def _fmt(value: float) -> str:
    return f"{value:11.4g}" if abs(value) < 1e6 else f"{value:11.4e}"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state() -> dict[str, Any]:
    """The commit the benchmarks (and, from a checkout, the library) were run from.

    `dirty`: a tracked file differs from that commit (untracked files, such as this run's
    JSON, do not count); "unknown" outside a git checkout or without git.
    """
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": "unknown", "dirty": "unknown", "library": _library_path()}
    status = _git("status", "--porcelain", "--untracked-files=no")
    dirty = "unknown" if status is None else bool(status)
    return {"commit": commit, "dirty": dirty, "library": _library_path()}


def _library_path() -> str:
    """Where `trio_gemini_live` is imported from: the commit above is its commit only if
    this is inside the same checkout (an installed copy elsewhere is another version).
    """
    spec = importlib.util.find_spec("trio_gemini_live")
    origin = spec.origin if spec is not None and spec.origin else "absent"
    return str(Path(origin).parent) if origin != "absent" else origin


def environment() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    packages = [
        "trio-gemini-live",
        "trio",
        "trio-websocket",
        "wsproto",
        "websockets",
        "msgspec",
        "pybase64",
        "pydantic",
        "pydantic-core",
        "anyio",
        "google-genai",
        "ag2",
    ]
    return {
        "python": sys.version,
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "git": git_state(),
        "versions": {name: _version(name) for name in packages},
        "build": build_name(),
    }
