"""Text for the terminal: the verdict first, then the causes with their
remedies, what the report rules out, then a compact table per check.

Everything that came from the report may hold bytes from the network (a DNS
answer, a server's reason phrase, an issuer name): it is shown inert, with
control characters (terminal escape sequences included) spelled out as \\xNN.
Colour only when the caller says the stream is a TTY. The words are made in
the language asked for (payprobe.reports.wording), whatever the run's.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from payprobe.reports import catalog
from payprobe.reports.phrase import Voice
from payprobe.reports.render import path_view
from payprobe.reports.types import Cause, CheckEntry, FindingEntry, Report, Summary
from payprobe.reports.wording import (
    MEASURED_LANG,
    check_summary,
    check_words,
    finding_words,
    in_language,
    severity_tag,
    voice_of,
)

_COLOURS = {"healthy": "32", "ok": "32", "degraded": "33", "warn": "33", "unhealthy": "31",
            "fail": "31", "error": "35", "timeout": "35", "unknown": "35", "skipped": "2",
            "info": "2", "bold": "1", "dim": "2"}
_MAX_FINDINGS = 6


def _c(text: str, key: str, colour: bool) -> str:
    return f"\x1b[{_COLOURS.get(key, '0')}m{text}\x1b[0m" if colour else text


def _safe(text: Any) -> str:
    # Whatever came from the network may hold terminal escapes: show them inert.
    # isprintable() is False for C0/C1 controls, DEL and bidi overrides' cousins
    # in category Cf, so none of them reach the terminal raw.
    return "".join(ch if ch.isprintable() or ch == " " else f"\\x{ord(ch):02x}" if ord(ch) < 256
                   else f"\\u{ord(ch):04x}" for ch in str(text))


def _width(text: str) -> int:
    """Columns on a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - _width(text))


def render(report: Report, *, lang: str = "en", colour: bool = False) -> str:
    lang = catalog.norm_lang(lang)
    report = in_language(report, lang)
    voice = voice_of(report, lang)
    lines = _head(report, lang, colour)
    summary = report.get("summary") or {}
    lines += _causes(report.get("causes") or [], lang, colour)
    lines += _advice(summary, lang, colour)
    lines += _checks(report.get("checks") or [], voice, colour)
    lines += path_view.text_lines(report.get("checks") or [], voice, _safe, colour)
    lines.append("")
    run_id = _safe(report.get("run_id", ""))
    lines.append(_c(f"{catalog.ui('run', lang)} {run_id} · {_safe(report.get('started_at', ''))} · "
                    f"{catalog.ui('redacted' if report.get('redacted', True) else 'not_redacted', lang)}",
                    "dim", colour))
    return "\n".join(lines) + "\n"


def _head(report: Report, lang: str, colour: bool) -> list[str]:
    status = str(report.get("status", "unknown"))
    label = catalog.ui("status." + status, lang) if status in _COLOURS else _safe(status)
    head = f"payprobe{catalog.ui('colon', lang)}{_c(label, status, colour)}"
    if report.get("partial"):
        head += catalog.after_word("aside", lang, text=catalog.ui("partial", lang))
    lines = [head]
    summary = report.get("summary") or {}
    if summary.get("verdict"):
        lines.append(_c(_safe(summary["verdict"]), "bold", colour))
    return lines


def _causes(causes: list[Cause], lang: str, colour: bool) -> list[str]:
    lines: list[str] = []
    if causes:
        lines += ["", _c(catalog.ui("causes", lang), "bold", colour)]
    for i, cause in enumerate(causes, 1):
        sev = str(cause.get("severity", ""))
        conf = catalog.ui(f"confidence.{cause.get('confidence')}", lang)
        tags = catalog.after_word("cause_tags", lang, severity=_c(_safe(severity_tag(sev, lang)), sev, colour),
                                  confidence=_safe(conf))
        lines.append(f" {i}. {_safe(cause.get('title') or cause.get('code'))}{tags}")
        if cause.get("explanation"):
            lines.append(f"    {_safe(cause['explanation'])}")
        remedies = cause.get("remedies") or []
        if remedies:
            lines.append(f"    {catalog.ui('remedies', lang)}{catalog.ui('colon', lang).rstrip()}")
            lines += [f"      - {_safe(r)}" for r in remedies]
    return lines


def _advice(summary: Summary, lang: str, colour: bool) -> list[str]:
    """What the run rules out, and what to try next."""
    lines: list[str] = []
    for key, items in (("ruled_out", summary.get("ruled_out")), ("next_steps", summary.get("next_steps"))):
        if items:
            lines += ["", _c(catalog.ui(key, lang), "bold", colour)]
            if key == "next_steps" and summary.get("next_steps_intro"):
                lines.append(f"  {_safe(summary['next_steps_intro'])}")
            lines += [f"  - {_safe(item)}" for item in items]
    return lines


def _checks(checks: list[CheckEntry], voice: Voice, colour: bool) -> list[str]:
    """A compact table: one line per check, its warn/fail findings under it."""
    if not checks:
        return []
    lang = voice.lang
    lines = ["", _c(catalog.ui("checks", lang), "bold", colour)]
    labels = [_safe(check_words(str(c.get("name", "?")), voice)) for c in checks]
    width = max(12, *(_width(label) for label in labels))
    statuses = [catalog.ui(f"check_status.{c.get('status')}", lang) if c.get("status") in _COLOURS
                else _safe(c.get("status", "?")) for c in checks]
    status_width = max(8, *(_width(label) for label in statuses))
    for check, name, label in zip(checks, labels, statuses, strict=True):
        st = str(check.get("status", "?"))
        duration = check.get("duration_s") or 0
        line = (f"  {_pad(name, width)} {_c(label, st, colour)}{' ' * (status_width - _width(label))} "
                f"{float(duration):6.2f} s  {_safe(check_summary(check, voice))}")
        if check.get("error") and not (st == "error" and lang != MEASURED_LANG):
            # (In another language the summary line already names the error.)
            line += "  " + catalog.ui("error_note", lang, error=_safe(check["error"]))
        lines.append(line.rstrip())
        lines += _findings(check.get("findings") or [], voice, colour)
    return lines


def _findings(findings: list[FindingEntry], voice: Voice, colour: bool) -> list[str]:
    shown = [f for f in findings if f.get("severity") != "info"]
    lines = []
    colon = catalog.ui("colon", voice.lang)
    for f in shown[:_MAX_FINDINGS]:
        sev = str(f.get("severity", ""))
        words = finding_words(f, voice)
        target = catalog.after_word("target_tag", voice.lang, text=_safe(words.target)) if words.target else ""
        title = f" {_safe(words.title)}" if words.title else ""
        lines.append(f"      {_c(_safe(severity_tag(sev, voice.lang)), sev, colour)} {_safe(f.get('code'))}"
                     f"{title}{target}{colon}{_safe(words.text)}")
    if len(shown) > _MAX_FINDINGS:
        lines.append(f"      ... +{len(shown) - _MAX_FINDINGS}")
    return lines
