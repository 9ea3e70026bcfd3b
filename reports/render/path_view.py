"""The path check's traces for people: one compact table per traced route
(hop, address, loss, RTT, note) for text, Markdown and HTML, and a small SVG of
the hops for the HTML.

| piece                     | what it makes                                          |
|---------------------------|--------------------------------------------------------|
| :func:`path_tables`       | the tables' cells in words, from the ``path`` check     |
| :func:`text_lines`        | the terminal's tables                                   |
| :func:`markdown_lines`    | a Markdown table per route, under one heading           |
| :func:`html_blocks`       | a card per route: the SVG, then the table               |

The hop where loss starts comes from the ``path.loss_at_hop`` finding for the
route's endpoint and family (the evidence's ``loss_onset`` when a report holds
no such finding), with its segment (local network, ISP, provider edge) in words.

Every cell may hold bytes from the network (a hop's address, or what a
redactor put there) and is escaped by the calling renderer's own escaper,
passed in: this module cannot import the renderers, which import it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from payprobe.reports import catalog
from payprobe.reports.phrase import Voice
from payprobe.reports.types import CheckEntry

Escape = Callable[[Any], str]

_FAMILIES = {"ipv4": "IPv4", "ipv6": "IPv6"}
# Evidence notes (checks/_path_report.py) that say a hop's missing answers are not loss.
_NOT_LOSS = ("rate_limited", "loss_not_persistent")
_NOTES = ("persistent_loss", *_NOT_LOSS)
# Loss at or above this share of probes reads as heavy (red) in the SVG; below it, some (amber).
_HEAVY_LOSS_PCT = 20.0
_GREEN, _AMBER, _RED, _GREY = "#1e8e3e", "#b26a00", "#c5221f", "#9aa0a6"


@dataclass(frozen=True)
class HopRow:
    hop: int
    address: str            # "*" when no hop answered
    loss: str               # "40%", "" when nothing was sent
    rtt: str                # "9.8 ms", "" without answers
    note: str               # words in the voice's language
    onset: bool             # loss that carries on to the server starts here
    loss_pct: float | None
    kind: str               # ok | loss | not_loss | silent: what the SVG's dot shows


@dataclass(frozen=True)
class PathTable:
    title: str              # "Alipay OpenAPI (IPv4)"
    outcome: str            # "reached the server at hop 5 · loss starts at hop 3: your internet provider"
    reached: bool
    rows: tuple[HopRow, ...]


def path_tables(checks: Sequence[CheckEntry], voice: Voice) -> list[PathTable]:
    """One table per traced route of the ``path`` check(s); none without the check."""
    tables: list[PathTable] = []
    for check in checks:
        if check.get("name") != "path":
            continue
        onsets = _onsets(check)
        for item in check.get("evidence") or []:
            if isinstance(item, Mapping) and item.get("what") == "path" and isinstance(item.get("hops"), list):
                tables.append(_table(item, onsets, voice))
    return tables


def _onsets(check: CheckEntry) -> dict[tuple[str, str], tuple[int, str]]:
    """(endpoint, ip_family) -> (onset hop, segment), from the findings first."""
    onsets: dict[tuple[str, str], tuple[int, str]] = {}
    for f in check.get("findings") or []:
        data = f.get("data")
        if f.get("code") == "path.loss_at_hop" and isinstance(data, Mapping) and isinstance(data.get("hop"), int):
            key = (str(data.get("endpoint") or f.get("target") or ""), str(data.get("ip_family") or ""))
            onsets.setdefault(key, (data["hop"], str(data.get("segment") or "")))
    for item in check.get("evidence") or []:
        onset = item.get("loss_onset") if isinstance(item, Mapping) else None
        if isinstance(onset, Mapping) and isinstance(onset.get("hop"), int):
            for endpoint in _endpoints(item):
                onsets.setdefault((str(endpoint), str(item.get("ip_family") or "")),
                                  (onset["hop"], str(onset.get("segment") or "")))
    return onsets


def _endpoints(item: Mapping[str, Any]) -> list[str]:
    names = item.get("endpoints")
    return [str(name) for name in names] if isinstance(names, list) else []


def _table(item: Mapping[str, Any], onsets: Mapping[tuple[str, str], tuple[int, str]],
           voice: Voice) -> PathTable:
    lang = voice.lang
    family = str(item.get("ip_family") or "")
    endpoints = _endpoints(item)
    onset = next((onsets[(e, family)] for e in endpoints if (e, family) in onsets), None)
    segment = catalog.ui(f"path.segment.{onset[1]}", lang) if onset and onset[1] else ""
    hops = [h for h in item["hops"] if isinstance(h, Mapping) and isinstance(h.get("hop"), int)]
    rows = tuple(_row(h, onset[0] if onset else None, segment, lang) for h in hops)
    reached = bool(item.get("reached"))
    last = next((h["hop"] for h in hops if h.get("destination")), item.get("destination_hop"))
    said = [catalog.ui("path.reached", lang, hop=last) if reached else catalog.ui("path.not_reached", lang)]
    if onset:
        said.append(catalog.ui("path.onset", lang, hop=onset[0], segment=segment or "?"))
    title = catalog.ui("path.trace", lang, endpoints=catalog.join([voice.endpoint(e) for e in endpoints], lang),
                       family=_FAMILIES.get(family, family))
    return PathTable(title, " · ".join(said), reached, rows)


def _row(hop: Mapping[str, Any], onset_hop: int | None, segment: str, lang: str) -> HopRow:
    number = int(hop["hop"])
    loss_pct = _number(hop.get("loss_pct"))
    rtt = hop.get("rtt_ms")
    rtt_ms = _number(rtt.get("p50")) if isinstance(rtt, Mapping) else None
    silent = not hop.get("answered") and not hop.get("address")
    note_key = str(hop.get("note") or "")
    notes = []
    if number == onset_hop:
        notes.append(catalog.ui("path.note.onset", lang, segment=segment or "?"))
    elif note_key in _NOTES:
        notes.append(catalog.ui(f"path.note.{note_key}", lang))
    if hop.get("destination"):
        notes.append(catalog.ui("path.note.destination", lang))
    elif silent:
        notes.append(catalog.ui("path.note.no_reply", lang))
    if silent:
        kind = "silent"
    elif note_key in _NOT_LOSS:
        kind = "not_loss"
    else:
        kind = "loss" if loss_pct else "ok"
    return HopRow(number, str(hop.get("address") or "*"),
                  "" if loss_pct is None else f"{loss_pct:g}%",
                  "" if rtt_ms is None else _ms(rtt_ms), catalog.join(notes, lang),
                  number == onset_hop, loss_pct, kind)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return float(value)


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value >= 1 else f"{value:.2f} ms"


def _headings(lang: str) -> list[str]:
    return [catalog.ui(f"path.col.{key}", lang) for key in ("hop", "address", "loss", "rtt", "note")]


# ------------------------------------------------------------------ text


def _columns(text: str) -> int:
    """Columns on a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, columns: int, right: bool = False) -> str:
    gap = " " * max(0, columns - _columns(text))
    return gap + text if right else text + gap


def text_lines(checks: Sequence[CheckEntry], voice: Voice, safe: Escape, colour: bool) -> list[str]:
    """The terminal's tables; ``safe`` shows control characters inert."""
    tables = path_tables(checks, voice)
    if not tables:
        return []
    heading = catalog.ui("path.heading", voice.lang)
    lines = ["", f"\x1b[1m{heading}\x1b[0m" if colour else heading]
    for table in tables:
        lines.append(f"  {safe(table.title)}{catalog.ui('colon', voice.lang)}{safe(table.outcome)}")
        cells = [[str(r.hop), safe(r.address), r.loss, r.rtt, safe(r.note)] for r in table.rows]
        head = _headings(voice.lang)
        widths = [max(_columns(row[i]) for row in [head, *cells]) for i in range(4)]
        for marker, row in [(" ", head)] + [(">" if r.onset else " ", c) for r, c in zip(table.rows, cells,
                                                                                          strict=True)]:
            hop, address, loss, rtt, note = row
            lines.append(f"   {marker} {_fit(hop, widths[0], True)}  {_fit(address, widths[1])}  "
                         f"{_fit(loss, widths[2], True)}  {_fit(rtt, widths[3], True)}  {note}".rstrip())
    return lines


# ------------------------------------------------------------------ markdown


def markdown_lines(checks: Sequence[CheckEntry], voice: Voice, esc: Escape) -> list[str]:
    """A table per route; ``esc`` is the Markdown renderer's (HTML and Markdown punctuation)."""
    tables = path_tables(checks, voice)
    if not tables:
        return []
    out = [f"## {esc(catalog.ui('path.heading', voice.lang))}", ""]
    for table in tables:
        out += [f"### {esc(table.title)}", "", esc(table.outcome), "",
                "| " + " | ".join(esc(h) for h in _headings(voice.lang)) + " |",
                "|---:|---|---:|---:|---|"]
        for r in table.rows:
            cells = [str(r.hop), esc(r.address), esc(r.loss), esc(r.rtt), esc(r.note)]
            if r.onset:   # esc() has escaped every '*' in the cells, so the bold cannot break out
                cells = [f"**{c}**" if c else c for c in cells]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return out


# ------------------------------------------------------------------ html


def html_blocks(checks: Sequence[CheckEntry], voice: Voice, esc: Escape) -> list[str]:
    """A heading, then a card per route with its SVG and table; ``esc`` is html.escape's kin.

    The table has four columns (hop, address, loss, RTT) with a hop's note under its
    address: five columns do not fit a 360 px screen without breaking words letter by letter.
    """
    tables = path_tables(checks, voice)
    if not tables:
        return []
    lang = voice.lang
    out = [f"<h2>{esc(catalog.ui('path.heading', lang))}</h2>",
           f'<p class="meta">{esc(catalog.ui("path.legend", lang))}</p>']
    for table in tables:
        head = "".join(f"<th{_CELL_STYLES[i]}>{esc(h)}</th>" for i, h in enumerate(_headings(lang)[:4]))
        rows = [_html_row(r, esc) for r in table.rows]
        out.append(f'<div class="card"><h3>{esc(table.title)}</h3><p class="meta">{esc(table.outcome)}</p>'
                   f"{svg(table, esc, lang)}<table><tr>{head}</tr>{''.join(rows)}</table></div>")
    return out


# Numbers never wrap; an address wraps after a dot or colon (see _breakable) before anywhere else.
_NUMBER_CELL = ' style="text-align:right;white-space:nowrap"'
_CELL_STYLES = (_NUMBER_CELL, "", _NUMBER_CELL, _NUMBER_CELL)


def _html_row(row: HopRow, esc: Escape) -> str:
    style = ' style="background:#fce8e6;font-weight:600"' if row.onset else ""
    note = f'<div class="meta">{esc(row.note)}</div>' if row.note else ""
    cells = (esc(row.hop), _breakable(row.address, esc) + note, esc(row.loss), esc(row.rtt))
    return f"<tr{style}>" + "".join(f"<td{_CELL_STYLES[i]}>{c}</td>" for i, c in enumerate(cells)) + "</tr>"


def _breakable(address: str, esc: Escape) -> str:
    """An address that a narrow screen may break after a dot or colon, never mid-group."""
    return "<wbr>".join(esc(part) for part in re.split(r"(?<=[.:])", address))


def _dot_colour(row: HopRow) -> str:
    if row.kind in ("silent", "not_loss"):
        return _GREY
    if row.kind == "ok":
        return _GREEN
    return _RED if (row.loss_pct or 0.0) >= _HEAVY_LOSS_PCT else _AMBER


def svg(table: PathTable, esc: Escape, lang: str = "en") -> str:
    """Hops as dots on a line, coloured by loss, a ring where loss starts; a dashed end
    and a cross when the trace did not reach the server. No script, every text escaped."""
    onset_label = catalog.ui("path.svg_onset", lang)
    width, height, pad, line_y = 320, 60, 14, 32
    rows = table.rows
    slots = len(rows) + (0 if table.reached else 1)
    step = (width - 2 * pad) / max(1, slots - 1)
    radius = max(2.0, min(6.0, step / 2.6))
    numbered = _numbered(rows, step)

    def x(i: int) -> float:
        return pad + step * i if slots > 1 else width / 2

    parts = [f'<svg width="100%" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(table.title)}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    if rows:
        parts.append(f'<line x1="{x(0):.1f}" y1="{line_y}" x2="{x(len(rows) - 1):.1f}" y2="{line_y}" '
                     f'stroke="#dadce0" stroke-width="2"/>')
    if not table.reached and rows:
        end = x(slots - 1)
        parts.append(f'<line x1="{x(len(rows) - 1):.1f}" y1="{line_y}" x2="{end:.1f}" y2="{line_y}" '
                     f'stroke="{_GREY}" stroke-width="2" stroke-dasharray="3 3"/>')
        parts.append(f'<path d="M{end - 4:.1f} {line_y - 4} l8 8 m0 -8 l-8 8" stroke="{_RED}" '
                     f'stroke-width="2" fill="none"/>')
    for i, row in enumerate(rows):
        parts += _dot(row, x(i), line_y, radius, esc)
        if i in numbered:
            parts.append(f'<text x="{x(i):.1f}" y="{line_y + 22}" font-size="11" text-anchor="middle" '
                         f'fill="#3c4043">{row.hop}</text>')
        if row.onset:
            # Anchored so that the label stays inside the picture at either end.
            anchor = "start" if x(i) < width * 0.3 else "end" if x(i) > width * 0.7 else "middle"
            parts.append(f'<text x="{x(i):.1f}" y="{line_y - 14}" font-size="11" text-anchor="{anchor}" '
                         f'fill="{_RED}">{esc(onset_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _numbered(rows: Sequence[HopRow], step: float, gap: float = 20.0) -> set[int]:
    """Which dots get their hop number: the onset always, then the last and others evenly,
    none within ``gap`` (viewBox units) of another, so two-digit numbers never overlap."""
    chosen = {i for i, row in enumerate(rows) if row.onset}
    every = max(1, math.ceil(gap / step)) if step > 0 else 1
    for i in [len(rows) - 1, *range(0, len(rows), every)]:
        if i >= 0 and all(abs(i - j) * step >= gap for j in chosen):
            chosen.add(i)
    return chosen


def _dot(row: HopRow, cx: float, cy: int, radius: float, esc: Escape) -> list[str]:
    colour = _dot_colour(row)
    fill = "#fff" if row.kind == "silent" else colour
    tip = " · ".join(t for t in (str(row.hop), row.address, row.loss, row.rtt, row.note) if t)
    parts = [f'<circle cx="{cx:.1f}" cy="{cy}" r="{radius:.1f}" fill="{fill}" stroke="{colour}" '
             f'stroke-width="1.5"><title>{esc(tip)}</title></circle>']
    if row.onset:
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy}" r="{radius + 4:.1f}" fill="none" stroke="{_RED}" '
                     f'stroke-width="2"/>')
    return parts
