"""JSON: the report itself, as written to disk."""

from __future__ import annotations

from payprobe.reports.model import dumps
from payprobe.reports.types import Report


def render(report: Report, *, lang: str = "en", colour: bool = False) -> str:
    return dumps(report)
