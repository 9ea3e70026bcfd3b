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


def render(report: dict[str, Any], *, lang: str = "en", colour: bool = False) -> str:
    lang = catalog.norm_lang(lang)

    def ui(key: str, **kw: Any) -> str:
        return catalog.ui(key, lang, **kw)

    out: list[str] = []
    status = str(report.get("status", "unknown"))
    out.append(f"# {esc(ui('title'))}: {esc(ui('status.' + status))}")
    out.append("")
    if report.get("partial"):
        out += [f"> **{esc(ui('partial'))}**", ""]
    summary = report.get("summary") or {}
    if summary.get("verdict"):
        out += [f"**{esc(summary['verdict'])}**", ""]

    causes = report.get("causes") or []
    out += [f"## {esc(ui('causes'))}", ""]
    if not causes:
        out += [esc(ui("no_causes")), ""]
    for i, cause in enumerate(causes, 1):
        conf = ui(f"confidence.{cause.get('confidence')}")
        out.append(f"### {i}\\. {esc(cause.get('title') or cause.get('code'))}")
        out.append("")
        out.append(f"{code(cause.get('code'))} · {esc(ui('severity.' + str(cause.get('severity'))))} · {esc(conf)}"
                   + (f" · {esc(cause['target'])}" if cause.get("target") else ""))
        out.append("")
        if cause.get("explanation"):
            out += [esc(cause["explanation"]), ""]
        if cause.get("remedies"):
            out.append(f"**{esc(ui('remedies'))}:**")
            out.append("")
            out += [f"- {esc(r)}" for r in cause["remedies"]]
            out.append("")
        if cause.get("findings"):
            out += [f"{esc(ui('findings'))}: " + ", ".join(code(f) for f in cause["findings"]), ""]

    for key in ("ruled_out", "next_steps"):
        items = summary.get(key) or []
        if not items:
            continue
        out += [f"## {esc(ui(key))}", ""]
        if key == "next_steps" and summary.get("next_steps_intro"):
            out += [esc(summary["next_steps_intro"]), ""]
        out += [f"- {esc(item)}" for item in items]
        out.append("")

    checks = report.get("checks") or []
    if checks:
        out += [f"## {esc(ui('checks'))}", "",
                f"| {esc(ui('check'))} | {esc(ui('status'))} | {esc(ui('duration'))} | {esc(ui('summary'))} |",
                "|---|---|---:|---|"]
        for c in checks:
            st = str(c.get("status", "?"))
            out.append(f"| {esc(c.get('name', '?'))} | {esc(ui('check_status.' + st))} | "
                       f"{float(c.get('duration_s') or 0):.2f} s | {esc(c.get('summary', ''))} |")
        out.append("")
    for c in checks:
        findings = c.get("findings") or []
        if not findings and not c.get("error"):
            continue
        out += [f"### {esc(c.get('name', '?'))}", ""]
        if c.get("error"):
            out += [f"{esc(ui('error'))}: {code(c['error'])}", ""]
        for f in findings:
            target = f" ({esc(f['target'])})" if f.get("target") else ""
            title = catalog.finding_title(str(f.get("code", "")), lang)
            title = f" {esc(title)}" if title else ""
            out.append(f"- **{esc(f.get('severity', ''))}** {code(f.get('code', ''))}{title}{target}: "
                       f"{esc(f.get('message', ''))}")
        out.append("")

    out.append("---")
    out.append("")
    tool = report.get("tool") or {}
    host = report.get("host") or {}
    out.append(f"{esc(ui('run'))} {code(report.get('run_id', ''))} · {esc(ui('started'))} "
               f"{esc(report.get('started_at', ''))} · payprobe {esc(tool.get('version', ''))} · "
               f"{esc(host.get('platform', ''))}" + (" (Termux)" if host.get("termux") else ""))
    out.append("")
    out.append(esc(ui("redacted") if report.get("redacted", True) else ui("not_redacted")))
    return "\n".join(out) + "\n"
