"""Renderers: each sees only the report (a :class:`~payprobe.reports.types.Report`) and returns text.

``render(report, fmt, lang=..., colour=...)`` dispatches by format name; the
modules are imported lazily so that rendering JSON never loads the HTML code.
The renderers for people (text, markdown, html) say the report's words in
``lang`` (payprobe.reports.wording.in_language), whatever the run's language;
JSON and Prometheus give the report as it is.
"""

from __future__ import annotations

import importlib

from payprobe.engine.errors import UsageError
from payprobe.reports.types import Report

FORMATS = ("text", "json", "markdown", "html", "prometheus")


def render(report: Report, fmt: str, *, lang: str = "en", colour: bool = False) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    module = importlib.import_module(f"payprobe.reports.render.{fmt}")
    text: str = module.render(report, lang=lang, colour=colour)
    return text
