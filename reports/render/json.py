"""JSON: the report itself, as written to disk."""

from __future__ import annotations

from typing import Any

from payprobe.reports.model import dumps


def render(report: dict[str, Any], *, lang: str = "en", colour: bool = False) -> str:
    return dumps(report)
