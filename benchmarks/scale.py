"""Scale: not implemented yet (see the issue, item 6); reported as such."""

from __future__ import annotations

from ._report import Report


def run(report: Report, quick: bool) -> None:
    print("  scale: not implemented yet")
