"""`payprobe history` output: text with sparklines, JSON, CSV.

Pure functions of the rows history.query() returns; nothing here opens the database.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
import time
from typing import Any

from payprobe.agent.history_db import iso

SPARK_CHARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 40


def sparkline(values: list[float | None], width: int = SPARK_WIDTH) -> str:
    """Unicode sparkline; None (no measurement: endpoint down) is a space.
    More values than ``width`` are averaged into ``width`` buckets."""
    if len(values) > width:
        buckets: list[float | None] = []
        for i in range(width):
            chunk = [v for v in values[i * len(values) // width:(i + 1) * len(values) // width]
                     if v is not None]
            buckets.append(sum(chunk) / len(chunk) if chunk else None)
        values = buckets
    present = [v for v in values if v is not None]
    if not present:
        return " " * len(values)
    low, high = min(present), max(present)
    span = high - low
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif span <= 0:
            out.append(SPARK_CHARS[0])
        else:
            out.append(SPARK_CHARS[min(7, int((v - low) / span * 8))])
    return "".join(out)


def trends(runs: list[dict[str, Any]]) -> dict[str, list[float | None]]:
    """Per endpoint, connect p50 (seconds) for every run, None where not measured."""
    names = sorted({name for r in runs for name in r.get("endpoints", {})})
    return {name: [(r["endpoints"].get(name) or {}).get("connect_s") for r in runs] for name in names}


def cause_counts(runs: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in runs:
        for c in r["causes"]:
            counts[c["code"]] = counts.get(c["code"], 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _local(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _safe(text: Any) -> str:
    # Titles come from reports, which may quote what a network sent: no terminal escapes.
    return "".join(ch if ch.isprintable() else "?" for ch in str(text))


def render_text(runs: list[dict[str, Any]], since_label: str) -> str:
    if not runs:
        return f"no runs in the history since {since_label}\n"
    lines = []
    for r in runs:
        flags = " partial" if r["partial"] else ""
        causes = ", ".join(c["code"] for c in r["causes"])
        duration = f"{r['duration_s']:.1f} s" if r["duration_s"] is not None else "-"
        lines.append(f"{_local(r['started_ts'])}  {r['run_id'][:8]}  {r['status']:<9}  "
                     f"{r['trigger']:<8} {duration:>7}{flags}  {causes}".rstrip())
    series = trends(runs)
    if series:
        lines += ["", "connect time p50 per endpoint, oldest to newest:"]
        width = max(len(n) for n in series)
        for name, values in series.items():
            present = [v for v in values if v is not None]
            if present:
                figures = (f"min {min(present) * 1000:.0f} ms  median "
                           f"{statistics.median(present) * 1000:.0f} ms  max {max(present) * 1000:.0f} ms")
            else:
                figures = "never measured"
            lines.append(f"  {_safe(name):<{width}}  {sparkline(values)}  {figures}")
    counts = cause_counts(runs)
    if counts:
        lines += ["", "causes:"]
        lines += [f"  {code:<24} {n}" for code, n in counts.items()]
    by_status: dict[str, int] = {}
    for r in runs:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    tally = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
    lines += ["", f"{len(runs)} run(s) since {since_label}: {tally}"]
    return "\n".join(lines) + "\n"


def _public(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k not in ("id", "started_ts")}


def render_json(runs: list[dict[str, Any]], since_ts: float | None) -> str:
    doc = {"since": iso(since_ts) if since_ts is not None else None,
           "runs": [_public(r) for r in runs],
           "trends": {name: {"connect_p50_s": values} for name, values in trends(runs).items()},
           "causes": cause_counts(runs)}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _cell(value: Any) -> Any:
    # Spreadsheets run cells starting with = + - @ as formulas; names come from configs.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def render_csv(runs: list[dict[str, Any]]) -> str:
    names = sorted({name for r in runs for name in r.get("endpoints", {})})
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["run_id", "started_at", "status", "trigger", "partial", "duration_s", "causes",
                     "clock_offset_s", "dns_system_query_s"]
                    + [_cell(f"connect_p50_s[{n}]") for n in names])
    for r in runs:
        writer.writerow([r["run_id"], r["started_at"], r["status"], _cell(r["trigger"]),
                         int(r["partial"]), r["duration_s"], ";".join(c["code"] for c in r["causes"]),
                         r["clock_offset_s"], r["dns_system_query_s"]]
                        + [(r["endpoints"].get(n) or {}).get("connect_s") for n in names])
    return buf.getvalue()
