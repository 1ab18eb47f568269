"""One table for every scenario, and the JSON file (versions, CPU, Python)."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any


@dataclass
class Row:
    section: str
    name: str
    value: float
    unit: str
    ratio: float | None = None  # value / baseline value, measured in the same run
    baseline: str = ""
    note: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list[Row])

    def add(self, *args: Any, **kwargs: Any) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        print(f"  {row.section:8} {row.name:56} {_fmt(row.value)} {row.unit}", flush=True)
        return row

    def table(self) -> str:
        lines = [
            f"{'section':9}{'scenario':58}{'value':>11} {'unit':9}{'ratio':>8}  vs / note",
            "-" * 120,
        ]
        for r in self.rows:
            ratio = f"{r.ratio:7.3f}x" if r.ratio is not None else " " * 8
            tail = r.baseline + (f" ({r.note})" if r.note else "")
            head = f"{r.section:9}{r.name:58}{_fmt(r.value)} {r.unit:9}"
            lines.append(f"{head}{ratio}  {tail}")
        return "\n".join(lines)

    def write_json(self, path: str, extra: dict[str, Any]) -> None:
        data = {"environment": environment(), **extra, "rows": [asdict(r) for r in self.rows]}
        with open(path, "w") as f:
            json.dump(data, f, indent=2)


def _fmt(value: float) -> str:
    return f"{value:11.4g}" if abs(value) < 1e6 else f"{value:11.4e}"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


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
        "google-genai",
        "ag2",
    ]
    return {
        "python": sys.version,
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "versions": {name: _version(name) for name in packages},
    }
