"""Markdown, to paste into a support ticket.

Every value from the report is escaped twice over: HTML special characters
become entities (ticket systems render inline HTML) and Markdown punctuation
gets a backslash, so a hostile issuer name or server reason phrase shows as
text and can never turn into a link, an image or markup. Newlines inside a
value become spaces so it cannot start a heading or break a table row.
"""

from __future__ import annotations

import html
import re
from typing import Any

from payprobe.reports import catalog
from payprobe.reports.phrase import Voice
from payprobe.reports.render import path_view
from payprobe.reports.types import Cause, CheckEntry, Report, Summary
from payprobe.reports.wording import (
    check_summary,
    check_words,
    finding_words,
    in_language,
    severity_tag,
    voice_of,
)

# Inline specials; '(' ')' '!' only act after '[' or ']', which are escaped.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")
# A value at the start of a line must not start a list, quote or heading.
_LINE_START = re.compile(r"^([-+=>])")
# "1. " at the start of a value would become an ordered list: escape the dot, not
# the digit (a backslash before a digit is no escape in CommonMark; it would show).
_ORDERED = re.compile(r"^(\d+)([.)])(?=\s|$)")
_CODE_SAFE = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")


def esc(value: Any) -> str:
    text = " ".join(str(value).split())  # newlines, tabs, other separators -> one space
    text = "".join(ch for ch in text if ch.isprintable())
    text = html.escape(text, quote=False)  # quotes are plain text in Markdown
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _ORDERED.sub(r"\1\\\2", text)
    return _LINE_START.sub(r"\\\1", text)


def code(value: Any) -> str:
    """Inline code only for values that cannot escape the backticks."""
    text = str(value)
    return f"`{text}`" if _CODE_SAFE.match(text) else esc(text)


def render(report: Report, *, lang: str = "en", colour: bool = False) -> str:
    lang = catalog.norm_lang(lang)
    report = in_language(report, lang)
    voice = voice_of(report, lang)
    out: list[str] = []
    status = str(report.get("status", "unknown"))
    out.append(f"# {esc(catalog.ui('title', lang))}{_colon(lang)}"
               f"{esc(catalog.ui('status.' + status, lang))}")
    out.append("")
    if report.get("partial"):
        out += [f"> **{esc(catalog.ui('partial', lang))}**", ""]
    summary = report.get("summary") or {}
    if summary.get("verdict"):
        out += [f"**{esc(summary['verdict'])}**", ""]
    out += _causes(report.get("causes") or [], lang)
    out += _advice(summary, lang)
    checks = report.get("checks") or []
    out += _check_table(checks, voice)
    out += path_view.markdown_lines(checks, voice, esc)
    for c in checks:
        out += _check_details(c, voice)
    out += _footer(report, lang)
    return "\n".join(out) + "\n"


def _causes(causes: list[Cause], lang: str) -> list[str]:
    out = [f"## {esc(catalog.ui('causes', lang))}", ""]
    if not causes:
        out += [esc(catalog.ui("no_causes", lang)), ""]
    for i, cause in enumerate(causes, 1):
        conf = catalog.ui(f"confidence.{cause.get('confidence')}", lang)
        severity = severity_tag(str(cause.get("severity")), lang)
        out.append(f"### {i}\\. {esc(cause.get('title') or cause.get('code'))}")
        out.append("")
        target = catalog.provider_name(str(cause.get("target") or ""), lang)
        out.append(f"{code(cause.get('code'))} · {esc(severity)} · {esc(conf)}"
                   + (f" · {esc(target)}" if target else ""))
        out.append("")
        if cause.get("explanation"):
            out += [esc(cause["explanation"]), ""]
        if cause.get("remedies"):
            out.append(f"**{esc(catalog.ui('remedies', lang))}{esc(catalog.ui('colon', lang).strip())}**")
            out.append("")
            out += [f"- {esc(r)}" for r in cause["remedies"]]
            out.append("")
        if cause.get("findings"):
            out += [f"{esc(catalog.ui('findings', lang))}{_colon(lang)}"
                    + catalog.join([code(f) for f in cause["findings"]], lang), ""]
    return out


def _advice(summary: Summary, lang: str) -> list[str]:
    """What the run rules out, and what to try next."""
    out: list[str] = []
    lists = (("ruled_out", summary.get("ruled_out") or []),
             ("next_steps", summary.get("next_steps") or []))
    for key, items in lists:
        if not items:
            continue
        out += [f"## {esc(catalog.ui(key, lang))}", ""]
        if key == "next_steps" and summary.get("next_steps_intro"):
            out += [esc(summary["next_steps_intro"]), ""]
        out += [f"- {esc(item)}" for item in items]
        out.append("")
    return out


def _colon(lang: str) -> str:
    # Our own punctuation, never escaped: esc() would fold its trailing space away.
    return catalog.ui("colon", lang)


def _check_name(name: str, voice: Voice) -> str:
    """The check's name; in another language its words first (域名解析 `dns`)."""
    words = check_words(name, voice)
    return esc(name) if words == name else f"{esc(words)} {code(name)}"


def _check_table(checks: list[CheckEntry], voice: Voice) -> list[str]:
    if not checks:
        return []
    lang = voice.lang
    headings = [esc(catalog.ui(key, lang)) for key in ("check", "status", "duration", "summary")]
    out = [f"## {esc(catalog.ui('checks', lang))}", "",
           "| " + " | ".join(headings) + " |",
           "|---|---|---:|---|"]
    for c in checks:
        st = str(c.get("status", "?"))
        out.append(f"| {_check_name(str(c.get('name', '?')), voice)} | "
                   f"{esc(catalog.ui('check_status.' + st, lang))} | "
                   f"{float(c.get('duration_s') or 0):.2f} s | {esc(check_summary(c, voice))} |")
    out.append("")
    return out


def _check_details(c: CheckEntry, voice: Voice) -> list[str]:
    """A check's error and findings, under its own heading (nothing when it has neither)."""
    findings = c.get("findings") or []
    if not findings and not c.get("error"):
        return []
    lang = voice.lang
    colon = _colon(lang)
    out = [f"### {_check_name(str(c.get('name', '?')), voice)}", ""]
    if c.get("error"):
        out += [f"{esc(catalog.ui('error', lang))}{colon}{code(c['error'])}", ""]
    for f in findings:
        words = finding_words(f, voice)
        aside = catalog.after_word("aside", lang, text=words.target) if words.target else ""
        # esc() folds white space: the space before an English bracket is put back.
        target = (" " if aside.startswith(" ") else "") + esc(aside)
        title = f" {esc(words.title)}" if words.title else ""
        out.append(f"- **{esc(severity_tag(str(f.get('severity', '')), lang))}** {code(f.get('code', ''))}"
                   f"{title}{target}{colon}{esc(words.text)}")
    out.append("")
    return out


def _footer(report: Report, lang: str) -> list[str]:
    tool = report.get("tool") or {}
    host = report.get("host") or {}
    redacted = "redacted" if report.get("redacted", True) else "not_redacted"
    return ["---", "",
            f"{esc(catalog.ui('run', lang))} {code(report.get('run_id', ''))} · {esc(catalog.ui('started', lang))} "
            f"{esc(report.get('started_at', ''))} · payprobe {esc(tool.get('version', ''))} · "
            f"{esc(host.get('platform', ''))}" + (" (Termux)" if host.get("termux") else ""),
            "",
            esc(catalog.ui(redacted, lang))]
