"""HTML: one self-contained page, no external assets, readable on a phone.

The verdict and causes come first, then a latency chart per endpoint (inline
SVG from the endpoints metrics tcp_connect_seconds / tls_handshake_seconds /
http_ttfb_seconds {endpoint, stat}), then every check in a <details> section.
Every value from the report goes through html.escape; a Content-Security-Policy
meta tag forbids scripts and remote loads, so even a missed escape could not
run code or call home.
"""

from __future__ import annotations

import html
import json
from typing import Any

from payprobe.reports import catalog, units
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

PHASES = ("tcp_connect_seconds", "tls_handshake_seconds", "http_ttfb_seconds")
_PHASE_COLOURS = {"tcp_connect_seconds": "#3b7dd8", "tls_handshake_seconds": "#8e5bd0",
                  "http_ttfb_seconds": "#1f9d74"}
_STATUS_COLOURS = {"healthy": "#1e8e3e", "ok": "#1e8e3e", "degraded": "#b26a00", "warn": "#b26a00",
                   "unhealthy": "#c5221f", "fail": "#c5221f", "error": "#8a3ffc", "timeout": "#8a3ffc",
                   "unknown": "#5f6368", "skipped": "#5f6368", "info": "#5f6368"}

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans CJK SC","PingFang SC",sans-serif;
margin:0;padding:12px;line-height:1.45;color:#202124;background:#f8f9fa;font-size:16px;
overflow-wrap:anywhere}
main{max-width:760px;margin:0 auto}
h1{font-size:1.3em;margin:.2em 0 .4em}
h2{font-size:1.1em;margin:1.2em 0 .4em}
.badge{display:inline-block;padding:.15em .6em;border-radius:1em;color:#fff;font-weight:600;font-size:.9em}
.verdict{font-size:1.05em;font-weight:600;margin:.4em 0 .8em}
.card{background:#fff;border:1px solid #dadce0;border-radius:10px;padding:10px 12px;margin:8px 0}
.card h3{margin:0 0 .3em;font-size:1em}
.meta{color:#5f6368;font-size:.85em}
ul,ol{padding-left:1.3em;margin:.3em 0}
details{background:#fff;border:1px solid #dadce0;border-radius:10px;margin:6px 0;padding:6px 10px}
summary{cursor:pointer;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:.85em;margin:.4em 0}
td,th{border-bottom:1px solid #eee;padding:3px 4px;text-align:left;vertical-align:top}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}
pre{white-space:pre-wrap;background:#f1f3f4;padding:6px;border-radius:6px;max-height:320px;overflow:auto}
svg{width:100%;height:auto;display:block}
.sev-fail{color:#c5221f;font-weight:600}.sev-warn{color:#b26a00;font-weight:600}.sev-info{color:#5f6368}
footer{color:#5f6368;font-size:.8em;margin:1.5em 0 .5em}
code.metric{overflow-wrap:normal;word-break:normal}
td.value{white-space:nowrap;text-align:right}
"""


def esc(value: Any) -> str:
    # Control characters (terminal escapes from a hostile server) are spelled out
    # rather than shown as boxes; newlines and tabs stay.
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else f"\\x{ord(ch):02x}" if ord(ch) < 256
                   else f"\\u{ord(ch):04x}" for ch in str(value))
    return html.escape(text, quote=True)


def _badge(label: str, key: str) -> str:
    return f'<span class="badge" style="background:{_STATUS_COLOURS.get(key, "#5f6368")}">{esc(label)}</span>'


def latency_series(report: Report) -> dict[str, dict[str, dict[str, float]]]:
    """endpoint -> phase -> stat -> seconds, from the endpoints check's metrics."""
    series: dict[str, dict[str, dict[str, float]]] = {}
    for check in report.get("checks") or []:
        if check.get("name") != "endpoints":
            continue
        for m in check.get("metrics") or []:
            labels = m.get("labels") or {}
            # Per-family series (ip_family) are evidence; the chart shows the family apps use.
            if (m.get("name") in PHASES and "endpoint" in labels and "stat" in labels
                    and "ip_family" not in labels):
                try:
                    value = float(m["value"])
                except (TypeError, ValueError, KeyError):
                    continue
                if value != value or value < 0:  # NaN or nonsense: no bar rather than a broken chart
                    continue
                series.setdefault(str(labels["endpoint"]), {}).setdefault(m["name"], {})[
                    str(labels["stat"])] = value
    return series


def _chart(endpoint: str, phases: dict[str, dict[str, float]], scale_s: float, lang: str) -> str:
    width, label_w, row_h, right_pad = 360, 96, 26, 58
    bar_w = width - label_w - right_pad
    rows = [p for p in PHASES if p in phases]
    height = row_h * len(rows) + 6

    def x(seconds: float) -> float:
        return label_w + bar_w * min(seconds, scale_s) / scale_s

    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{esc(endpoint)}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, phase in enumerate(rows):
        stats = phases[phase]
        y = 4 + i * row_h
        mid = y + row_h / 2 - 2
        colour = _PHASE_COLOURS[phase]
        parts.append(f'<text x="0" y="{mid + 4:.1f}" font-size="11" fill="#3c4043">'
                     f'{esc(catalog.ui("phase." + phase, lang))}</text>')
        parts.append(f'<rect x="{label_w}" y="{mid - 6:.1f}" width="{bar_w}" height="12" fill="#f1f3f4"/>')
        p50 = stats.get("p50", stats.get("min"))
        if p50 is not None:
            parts.append(f'<rect x="{label_w}" y="{mid - 6:.1f}" width="{x(p50) - label_w:.1f}" height="12" '
                         f'rx="2" fill="{colour}" fill-opacity="0.75"/>')
        if "min" in stats and "max" in stats:
            parts.append(f'<line x1="{x(stats["min"]):.1f}" y1="{mid:.1f}" x2="{x(stats["max"]):.1f}" '
                         f'y2="{mid:.1f}" stroke="#202124" stroke-width="1.5"/>')
        if "p95" in stats:
            parts.append(f'<line x1="{x(stats["p95"]):.1f}" y1="{mid - 7:.1f}" x2="{x(stats["p95"]):.1f}" '
                         f'y2="{mid + 7:.1f}" stroke="#202124" stroke-width="2"/>')
        shown = p50 if p50 is not None else stats.get("max", 0.0)
        parts.append(f'<text x="{width - right_pad + 6}" y="{mid + 4:.1f}" font-size="11" fill="#202124">'
                     f'{shown * 1000:.0f} ms</text>')
    parts.append("</svg>")
    return "".join(parts)


def _charts(report: Report, voice: Voice) -> str:
    series = latency_series(report)
    if not series:
        return ""
    # One scale for all endpoints so that bars compare across charts.
    scale_s = max((v for ph in series.values() for st in ph.values() for v in st.values()), default=0.0)
    scale_s = max(scale_s, 0.001)
    lang = voice.lang
    out = [f"<h2>{esc(catalog.ui('latency', lang))}</h2>",
           f'<p class="meta">{esc(catalog.ui("latency_note", lang))} · 0–{scale_s * 1000:.0f} ms</p>']
    for endpoint in sorted(series):
        shown = voice.endpoint(endpoint)
        out.append(f'<div class="card"><h3>{esc(shown)}</h3>{_chart(shown, series[endpoint], scale_s, lang)}'
                   f"</div>")
    return "\n".join(out)


def _check_section(check: CheckEntry, voice: Voice) -> str:
    lang = voice.lang
    st = str(check.get("status", "?"))
    label = catalog.ui("check_status." + st, lang)
    open_attr = " open" if st in ("fail", "error") else ""
    name = str(check.get("name", "?"))
    words = check_words(name, voice)
    shown = esc(name) if words == name else f"{esc(words)} <code>{esc(name)}</code>"
    out = [f"<details{open_attr}><summary>{shown} "
           f'{_badge(label, st)} <span class="meta">{float(check.get("duration_s") or 0):.2f} s</span></summary>']
    summary = check_summary(check, voice)
    if summary:
        out.append(f"<p>{esc(summary)}</p>")
    if check.get("error"):
        out.append(f"<p>{esc(catalog.ui('error', lang))}{esc(catalog.ui('colon', lang))}"
                   f"<code>{esc(check['error'])}</code></p>")
    findings = check.get("findings") or []
    if findings:
        out.append(f"<h4>{esc(catalog.ui('findings', lang))}</h4><ul>")
        out += [_finding_item(f, voice) for f in findings]
        out.append("</ul>")
    metrics = check.get("metrics") or []
    if metrics:
        out.append(f"<h4>{esc(catalog.ui('metrics', lang))}</h4><table>")
        for m in metrics:
            labels = ", ".join(f"{k}={v}" for k, v in sorted((m.get("labels") or {}).items()))
            name = str(m.get("name", ""))
            out.append(f'<tr><td><code class="metric">{_breakable(name)}</code></td><td>{esc(labels)}</td>'
                       f'<td class="value">{esc(units.human(name, m.get("value")))}</td></tr>')
        out.append("</table>")
    evidence = check.get("evidence") or []
    if evidence:
        out.append(f"<h4>{esc(catalog.ui('evidence', lang))}</h4>")
        out.append(f"<pre>{esc(json.dumps(evidence, ensure_ascii=False, indent=1, sort_keys=True))}</pre>")
    out.append("</details>")
    return "\n".join(out)


def _finding_item(f: FindingEntry, voice: Voice) -> str:
    """One finding: its words for people, then what was measured (the check's own
    message, in English, when the words are in another language) and its data."""
    sev = str(f.get("severity", ""))
    words = finding_words(f, voice)
    target = esc(catalog.after_word("aside", voice.lang, text=words.target)) if words.target else ""
    measured = [str(f.get("message", ""))] if voice.lang != MEASURED_LANG and f.get("message") else []
    if f.get("data"):
        measured.append(json.dumps(f["data"], ensure_ascii=False, sort_keys=True))
    data = f"<pre>{esc(chr(10).join(measured))}</pre>" if measured else ""
    title = f" <strong>{esc(words.title)}</strong>" if words.title else ""
    return (f'<li><span class="sev-{esc(sev)}">{esc(severity_tag(sev, voice.lang))}</span> '
            f'<code>{esc(f.get("code", ""))}</code>{title}{target}{esc(catalog.ui("colon", voice.lang))}'
            f"{esc(words.text)}{data}</li>")


def _breakable(name: str) -> str:
    """A metric name that a narrow screen may break after an underscore, never mid-word."""
    return "_<wbr>".join(esc(part) for part in name.split("_"))


def render(report: Report, *, lang: str = "en", colour: bool = False) -> str:
    lang = catalog.norm_lang(lang)
    report = in_language(report, lang)
    voice = voice_of(report, lang)
    status = str(report.get("status", "unknown"))
    summary = report.get("summary") or {}
    title = esc(catalog.ui("title", lang))
    body: list[str] = [f"<h1>{title} {_badge(catalog.ui('status.' + status, lang), status)}</h1>"]
    if report.get("partial"):
        body.append(f'<p class="sev-warn">{esc(catalog.ui("partial", lang))}</p>')
    if summary.get("verdict"):
        body.append(f'<p class="verdict">{esc(summary["verdict"])}</p>')
    body += _causes(report.get("causes") or [], lang)
    body += _advice(summary, lang)
    charts = _charts(report, voice)
    if charts:
        body.append(charts)
    body += path_view.html_blocks(report.get("checks") or [], voice, esc)
    checks = report.get("checks") or []
    if checks:
        body.append(f"<h2>{esc(catalog.ui('checks', lang))}</h2>")
        body += [_check_section(c, voice) for c in checks]
    body.append(_footer(report, lang))
    return _page(body, f"{title}: {esc(catalog.ui('status.' + status, lang))}", lang)


def _causes(causes: list[Cause], lang: str) -> list[str]:
    body = [f"<h2>{esc(catalog.ui('causes', lang))}</h2>"]
    if not causes:
        body.append(f"<p>{esc(catalog.ui('no_causes', lang))}</p>")
    for i, cause in enumerate(causes, 1):
        sev = str(cause.get("severity", ""))
        conf = catalog.ui(f"confidence.{cause.get('confidence')}", lang)
        card = [f'<div class="card"><h3>{i}. {esc(cause.get("title") or cause.get("code"))}</h3>',
                f'<p class="meta"><span class="sev-{esc(sev)}">{esc(severity_tag(sev, lang))}</span>'
                f' · {esc(conf)} · <code>{esc(cause.get("code", ""))}</code></p>']
        if cause.get("explanation"):
            card.append(f"<p>{esc(cause['explanation'])}</p>")
        if cause.get("remedies"):
            card.append(f"<strong>{esc(catalog.ui('remedies', lang))}</strong><ol>"
                        + "".join(f"<li>{esc(r)}</li>" for r in cause["remedies"]) + "</ol>")
        if cause.get("findings"):
            card.append(f'<p class="meta">{esc(catalog.ui("findings", lang))}{esc(catalog.ui("colon", lang))}'
                        + catalog.join([f"<code>{esc(f)}</code>" for f in cause["findings"]], lang) + "</p>")
        card.append("</div>")
        body.append("".join(card))
    return body


def _advice(summary: Summary, lang: str) -> list[str]:
    """What the run rules out, and what to try next."""
    body: list[str] = []
    lists = (("ruled_out", summary.get("ruled_out") or []),
             ("next_steps", summary.get("next_steps") or []))
    for key, items in lists:
        if items:
            body.append(f"<h2>{esc(catalog.ui(key, lang))}</h2>")
            if key == "next_steps" and summary.get("next_steps_intro"):
                body.append(f"<p>{esc(summary['next_steps_intro'])}</p>")
            body.append("<ul>" + "".join(f"<li>{esc(item)}</li>" for item in items) + "</ul>")
    return body


def _footer(report: Report, lang: str) -> str:
    tool = report.get("tool") or {}
    host = report.get("host") or {}
    redacted = "redacted" if report.get("redacted", True) else "not_redacted"
    return (f"<footer>{esc(catalog.ui('run', lang))} <code>{esc(report.get('run_id', ''))}</code> · "
            f"{esc(catalog.ui('started', lang))} {esc(report.get('started_at', ''))} · payprobe "
            f"{esc(tool.get('version', ''))} · {esc(host.get('platform', ''))} {esc(host.get('os', ''))}<br>"
            f"{esc(catalog.ui(redacted, lang))}</footer>")


def _page(body: list[str], title: str, lang: str) -> str:
    """The whole document around ``body``; ``title`` is escaped already."""
    html_lang = "zh-CN" if lang == "zh" else "en"
    return ("<!DOCTYPE html>\n"
            f'<html lang="{html_lang}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; img-src data:\">\n"
            '<meta name="referrer" content="no-referrer">\n'
            f"<title>{title}</title>\n"
            f"<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")
