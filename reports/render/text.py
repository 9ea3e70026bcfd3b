"""Text for the terminal: the verdict first, then causes, then each check."""

from __future__ import annotations

from typing import Any

_COLOURS = {"healthy": "32", "ok": "32", "degraded": "33", "warn": "33", "unhealthy": "31",
            "fail": "31", "error": "35", "timeout": "35", "unknown": "35", "skipped": "2"}


def _c(text: str, key: str, colour: bool) -> str:
    return f"\x1b[{_COLOURS.get(key, '0')}m{text}\x1b[0m" if colour else text


def _safe(text: Any) -> str:
    # Whatever came from the network may hold terminal escapes: show them inert.
    return "".join(ch if ch.isprintable() or ch == " " else f"\\x{ord(ch):02x}" for ch in str(text))


def render(report: dict[str, Any], *, lang: str = "en", colour: bool = False) -> str:
    lines: list[str] = []
    status = report.get("status", "unknown")
    partial = " (partial: the run was interrupted)" if report.get("partial") else ""
    lines.append(f"payprobe: {_c(status.upper(), status, colour)}{partial}")
    for cause in report.get("causes", []):
        lines.append(f"  * {_safe(cause.get('title', cause.get('code')))} "
                     f"[{cause.get('severity')}, {cause.get('confidence')} confidence]")
        for remedy in cause.get("remedies", [])[:4]:
            lines.append(f"      - {_safe(remedy)}")
    lines.append("")
    for check in report.get("checks", []):
        st = check.get("status", "?")
        lines.append(f"  {check.get('name', '?'):<13} {_c(f'{st:<8}', st, colour)} "
                     f"{check.get('duration_s', 0):6.2f} s  {_safe(check.get('summary', ''))}")
        for f in check.get("findings", [])[:5]:
            if f.get("severity") == "info":
                continue
            lines.append(f"      {_c(f.get('severity', ''), f.get('severity', ''), colour)} "
                         f"{f.get('code')}: {_safe(f.get('message', ''))}")
    return "\n".join(lines) + "\n"
