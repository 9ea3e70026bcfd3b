"""JSON: the report itself, as written to disk."""

from __future__ import annotations

from typing import Any


def render(report: dict[str, Any], *, lang: str = "en", colour: bool = False) -> str:
    from reports.model import dumps
    return dumps(report)
