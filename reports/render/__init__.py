"""Renderers: each sees only the report dict and returns text.

``render(report, fmt, lang=..., colour=...)`` dispatches by format name; the
modules are imported lazily so that rendering JSON never loads the HTML code.
"""

from __future__ import annotations

import importlib
from typing import Any

from payprobe.engine.errors import UsageError

FORMATS = ("text", "json", "markdown", "html", "prometheus")


def render(report: dict[str, Any], fmt: str, *, lang: str = "en", colour: bool = False) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    module = importlib.import_module(f"payprobe.reports.render.{fmt}")
    return module.render(report, lang=lang, colour=colour)
