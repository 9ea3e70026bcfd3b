"""Support bundle contents: one zip to attach to a ticket.

The zip holds the report as JSON, HTML and Markdown, a summary.txt with a
ticket code (run-id prefix + status + top cause), and the history summaries it
is given. Everything in it goes through redaction again, whatever the report
says: a bundle is made to be shared. Where the bundle is written and where it
is uploaded is the agent's business (payprobe.agent.ticket, .upload).
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import re
import zipfile
from typing import Any

from payprobe.reports import catalog
from payprobe.reports.redact import make_redactor
from payprobe.reports.render import render
from payprobe.reports.types import Report
from payprobe.reports.wording import in_language
from payprobe.settings import Settings

# The code names the bundle's file and the folder inside the zip: whatever a
# report from outside holds, each part is letters, digits and underscores.
_CODE_PART_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")
_CODE_PART_CHARS = 40
# A zip stores local time as a DOS date: years 1980 to 2107 only.
_ZIP_YEARS = (1980, 2107)


def _code_part(value: object, default: str, chars: int = _CODE_PART_CHARS) -> str:
    part = _CODE_PART_UNSAFE.sub("_", str(value))[:chars].strip("_") if isinstance(value, str) else ""
    return part or default


def ticket_code(report: Report) -> str:
    """Run-id prefix + status + top cause, e.g. ``3f9a2c1d-unhealthy-clock_wrong``."""
    causes = [c for c in report.get("causes") or [] if isinstance(c, dict) and c.get("code") != "inconclusive"]
    top = causes[0].get("code") if causes else "none"
    return "-".join((_code_part(report.get("run_id"), "run", 8), _code_part(report.get("status"), "unknown"),
                     _code_part(top, "none")))


def _summary_txt(report: Report, code: str, lang: str, *, re_redacted: bool) -> str:
    # The verdict and causes in the bundle's language, whatever the run's.
    report = in_language(report, lang)
    summary = report.get("summary") or {}
    lines = [f"{catalog.ui('ticket', lang)}: {code}",
             f"run_id: {report.get('run_id', '')}",
             f"started_at: {report.get('started_at', '')}",
             f"status: {report.get('status', '')}",
             f"tool: payprobe {(report.get('tool') or {}).get('version', '')}",
             f"platform: {(report.get('host') or {}).get('platform', '')}"]
    if summary.get("verdict"):
        lines += ["", str(summary["verdict"])]
    for i, cause in enumerate(report.get("causes") or [], 1):
        lines.append(f"{i}. [{cause.get('severity')}/{cause.get('confidence')}] {cause.get('code')}: "
                     f"{cause.get('title', '')}")
    lines += ["", catalog.ui("redacted", lang)]
    if re_redacted:
        lines.append(catalog.ui("aside", lang, text=catalog.ui("bundle_re_redacted", lang)))
    return "\n".join(lines) + "\n"


def build_bundle(report: Report, *, history: list[dict[str, Any]] | None = None,
                 lang: str | None = None, settings: Settings | None = None,
                 salt: bytes | None = None) -> tuple[bytes, str]:
    """The zip (bytes) and the ticket code. Nothing unredacted goes in."""
    re_redacted = not report.get("redacted", False)
    # Always redact again: cheap, idempotent, and the only safe default for a
    # file made to leave the device. A --no-redact report brings the secrets of
    # its run (as fingerprints); the redactor removes those and today's.
    redactor = make_redactor(report, settings=settings, salt=salt, related=history)
    safe = redactor.report(report)
    lang = lang or safe.get("lang") or "en"
    code = ticket_code(safe)
    buf = io.BytesIO()
    stamp = _zip_time(safe)
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        def put(name: str, text: str) -> None:
            info = zipfile.ZipInfo(f"payprobe-{code}/{name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zf.writestr(info, text.encode("utf-8"))

        put("report.json", render(safe, "json", lang=lang))
        put("report.html", render(safe, "html", lang=lang))
        put("report.md", render(safe, "markdown", lang=lang))
        put("summary.txt", _summary_txt(safe, code, lang, re_redacted=re_redacted))
        if history:
            put("history.json", json.dumps(redactor.value(history), ensure_ascii=False, indent=2) + "\n")
    return buf.getvalue(), code


def _zip_time(report: Report) -> tuple[int, int, int, int, int, int]:
    # The report's own time, so the same report gives the same zip bytes; a time
    # a zip cannot hold (year 1 is a real date) is clamped to the nearest it can.
    try:
        s = str(report["started_at"])
        stamp = (int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]), int(s[17:19]))
        _dt.datetime(*stamp)
    except (KeyError, ValueError):
        return (_ZIP_YEARS[0], 1, 1, 0, 0, 0)
    if stamp[0] < _ZIP_YEARS[0]:
        return (_ZIP_YEARS[0], 1, 1, 0, 0, 0)
    if stamp[0] > _ZIP_YEARS[1]:
        return (_ZIP_YEARS[1], 12, 31, 23, 59, 58)
    return stamp
