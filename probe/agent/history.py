"""Run history: one SQLite row per run, in the user data dir.

- One row per run (status, causes, key metrics), per-endpoint p50s in a child
  table for trends, and the full report as zlib-compressed JSON for the last
  ``keep_reports`` runs (runs that were not healthy keep theirs
  ``keep_unhealthy_days``). Rows older than ``keep_days`` are pruned.
- The JSON report is saved before history is touched, so a corrupt or locked
  database costs at most this run's history row: one warning, never the report.

The database itself (connection, schema, migrations, transactions) is
history_db.py; the renderings for `payprobe history` are history_view.py. Both
are re-exported here: callers use ``history.<name>``.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from payprobe.agent.history_db import (
    DB_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    HistoryError,
    connect,
    db_path,
    iso,
    migrate,
    parse_iso,
    retrying,
    write_transaction,
)
from payprobe.agent.history_view import cause_counts, render_csv, render_json, render_text, sparkline, trends
from payprobe.reports import model
from payprobe.reports.types import MetricEntry, Report

__all__ = [
    "DB_NAME", "MIGRATIONS", "SCHEMA_VERSION", "HistoryError",
    "cause_counts", "compress", "connect", "db_path", "decompress", "find_run", "get_meta", "insert",
    "iso", "key_metrics", "migrate", "parse_iso", "prune", "query", "recent_summaries", "record_run",
    "render_csv", "render_json", "render_text", "sparkline", "stats", "trends", "write_transaction",
]

# The old private name of write_transaction; tests/perf/bench_history.py uses it.
_write = write_transaction


# ------------------------------------------------------------------ extracting


def _metrics(report: Report, check: str) -> Iterator[MetricEntry]:
    for c in report.get("checks", []):
        if c.get("name") == check:
            yield from c.get("metrics", [])


def key_metrics(report: Report) -> dict[str, Any]:
    """The few numbers a history row keeps: per-endpoint p50s, clock offset, DNS time."""
    endpoints: dict[str, dict[str, float]] = {}
    columns = {"tcp_connect_seconds": "connect_s", "tls_handshake_seconds": "tls_s",
               "http_ttfb_seconds": "ttfb_s"}
    for m in _metrics(report, "endpoints"):
        labels = m.get("labels") or {}
        column = columns.get(m.get("name", ""))
        # The series without ip_family is the family apps use; the labelled ones are evidence.
        if column and labels.get("stat") == "p50" and labels.get("endpoint") and "ip_family" not in labels:
            endpoints.setdefault(str(labels["endpoint"]), {})[column] = float(m["value"])
    clock = next((float(m["value"]) for m in _metrics(report, "clock")
                  if m.get("name") == "clock_offset_seconds"
                  and (m.get("labels") or {}).get("source") == "best"), None)
    dns_times = [float(m["value"]) for m in _metrics(report, "dns")
                 if m.get("name") == "dns_query_seconds"
                 and (m.get("labels") or {}).get("resolver") == "system"]
    return {"endpoints": endpoints, "clock_offset_s": clock,
            "dns_system_query_s": statistics.median(dns_times) if dns_times else None}


def _causes(report: Report) -> list[dict[str, str]]:
    return [{"code": str(c.get("code", "")), "severity": str(c.get("severity", "")),
             "title": str(c.get("title", ""))} for c in report.get("causes", [])]


def compress(report: Report) -> bytes:
    raw = json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return zlib.compress(raw, 6)


def decompress(blob: bytes) -> dict[str, Any]:
    return json.loads(zlib.decompress(blob).decode("utf-8"))


# ------------------------------------------------------------------ writing


def insert(conn: sqlite3.Connection, report: Report) -> bool:
    """Insert one run (inside the caller's transaction). False if it was already there."""
    started = parse_iso(report["started_at"])
    km = key_metrics(report)
    cur = conn.execute(
        "INSERT INTO runs (run_id, started_at, status, trigger, partial, duration_s, causes,"
        " clock_offset_s, dns_system_query_s) VALUES (?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT (run_id) DO NOTHING",
        (report["run_id"], started, report.get("status", "unknown"), report.get("trigger", ""),
         int(bool(report.get("partial"))), report.get("duration_s"),
         json.dumps(_causes(report), ensure_ascii=False), km["clock_offset_s"],
         km["dns_system_query_s"]))
    if cur.rowcount != 1:
        return False
    row_id = cur.lastrowid
    conn.execute("INSERT INTO reports (run, body) VALUES (?, ?)", (row_id, compress(report)))
    conn.executemany(
        "INSERT INTO endpoint_p50 (run, endpoint, connect_s, tls_s, ttfb_s) VALUES (?,?,?,?,?)",
        [(row_id, name, v.get("connect_s"), v.get("tls_s"), v.get("ttfb_s"))
         for name, v in km["endpoints"].items()])
    return True


def prune(conn: sqlite3.Connection, *, keep_reports: int, keep_unhealthy_days: float,
          keep_days: float, now: float | None = None) -> None:
    """Drop full reports beyond the last keep_reports (not-healthy runs keep theirs
    keep_unhealthy_days), and rows older than keep_days (0: never by age)."""
    now = time.time() if now is None else now
    unhealthy_cutoff = now - keep_unhealthy_days * 86400
    newest_kept = conn.execute(
        "SELECT r.started_at FROM reports p JOIN runs r ON r.id = p.run ORDER BY r.started_at DESC"
        " LIMIT 1 OFFSET ?", (max(0, keep_reports - 1),)).fetchone()
    if keep_reports <= 0:
        boundary = float("inf")
    elif newest_kept is None:
        boundary = None
    else:
        boundary = newest_kept[0]
    if boundary is not None:
        conn.execute(
            "DELETE FROM reports WHERE run IN (SELECT id FROM runs WHERE started_at < ?"
            " AND NOT (status != 'healthy' AND started_at >= ?))",
            (boundary if boundary != float("inf") else now + 1e9, unhealthy_cutoff))
    if keep_days > 0:
        cutoff = now - keep_days * 86400
        # A not-healthy run's row lives at least as long as its report does.
        cutoff_unhealthy = min(cutoff, unhealthy_cutoff)
        conn.execute("DELETE FROM runs WHERE started_at < ? AND (status = 'healthy' OR started_at < ?)",
                     (cutoff, cutoff_unhealthy))


def record_run(settings: Any, report: Report, err: TextIO | None = None,
               *, path: Path | None = None) -> bool:
    """Append a finished run. Never raises for database trouble: warns on ``err``."""
    hist = settings.history

    def _do() -> bool:
        conn = connect(path)
        try:
            with write_transaction(conn):
                added = insert(conn, report)
                prune(conn, keep_reports=int(hist.keep_reports),
                      keep_unhealthy_days=float(hist.keep_unhealthy_days),
                      keep_days=float(hist.keep_days))
            try:
                # Give a few freed pages back per run instead of a long VACUUM now and then.
                conn.execute("PRAGMA incremental_vacuum(64)")
            except sqlite3.Error:
                pass
            return added
        finally:
            conn.close()

    try:
        return retrying(_do)
    except (sqlite3.Error, OSError, HistoryError, KeyError, ValueError) as exc:
        if err is not None:
            err.write(f"payprobe: warning: history not updated: {_why(exc, path)}\n")
        return False


def _why(exc: BaseException, path: Path | None) -> str:
    where = path or db_path()
    text = str(exc) or type(exc).__name__
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
        return (f"{where} is damaged ({text}); the report itself is saved as JSON. "
                f"Move the file away to start a new history")
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return f"{where} is locked by another payprobe; the report itself is saved as JSON"
    if isinstance(exc, OSError):
        return f"{where}: {exc.strerror or text}"
    return text


# ------------------------------------------------------------------ reading


def _open_existing(path: Path | None) -> sqlite3.Connection | None:
    p = Path(path) if path is not None else db_path()
    if not p.exists():
        return None
    return connect(p)


def _row_dict(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    (row_id, run_id, started, status, trigger, partial, duration, causes, clock, dns,
     has_report) = row
    return {"id": row_id, "run_id": run_id, "started_at": iso(started), "started_ts": started,
            "status": status, "trigger": trigger, "partial": bool(partial),
            "duration_s": duration, "causes": json.loads(causes or "[]"),
            "clock_offset_s": clock, "dns_system_query_s": dns, "report_kept": bool(has_report)}


_COLUMNS = ("id, run_id, started_at, status, trigger, partial, duration_s, causes,"
            " clock_offset_s, dns_system_query_s,"
            " EXISTS (SELECT 1 FROM reports WHERE reports.run = runs.id)")


def query(since_ts: float | None = None, *, path: Path | None = None,
          limit: int | None = None) -> list[dict[str, Any]]:
    """Runs since ``since_ts`` (oldest first), each with its ``endpoints`` p50s."""
    conn = _open_existing(path)
    if conn is None:
        return []
    try:
        where, params = ("WHERE started_at >= ?", [since_ts]) if since_ts is not None else ("", [])
        sql = f"SELECT {_COLUMNS} FROM runs {where} ORDER BY started_at DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        conn.execute("BEGIN")  # one snapshot for both queries
        runs = [_row_dict(r) for r in conn.execute(sql, params)]
        runs.reverse()
        by_id = {r["id"]: r for r in runs}
        for r in runs:
            r["endpoints"] = {}
        if runs:
            lowest = min(by_id)
            for run, endpoint, connect_s, tls_s, ttfb_s in conn.execute(
                    "SELECT run, endpoint, connect_s, tls_s, ttfb_s FROM endpoint_p50 WHERE run >= ?",
                    (lowest,)):
                owner = by_id.get(run)
                if owner is not None:
                    owner["endpoints"][endpoint] = {"connect_s": connect_s, "tls_s": tls_s,
                                                    "ttfb_s": ttfb_s}
        conn.execute("COMMIT")
        return runs
    finally:
        conn.close()


def recent_summaries(n: int = 10, *, path: Path | None = None) -> list[dict[str, Any]]:
    """The last ``n`` runs, newest first, without full reports (for bundles and status).

    Returns [] when there is no history or it cannot be read: callers use it as
    context, never as something to fail on.
    """
    try:
        runs = query(None, path=path, limit=max(0, int(n)))
    except (sqlite3.Error, OSError, HistoryError):
        return []
    runs.reverse()
    for r in runs:
        r.pop("id", None)
        r.pop("started_ts", None)
    return runs


def find_run(prefix: str, *, path: Path | None = None) -> tuple[dict[str, Any], Report | None]:
    """The run whose run_id starts with ``prefix``, and its stored report (None if pruned).

    Raises LookupError with one sentence when none or several match.
    """
    cleaned = prefix.strip().lower()
    if not cleaned or any(ch not in "0123456789abcdef-" for ch in cleaned):
        raise LookupError(f"{prefix!r} is not a run id (hex digits and dashes, e.g. e57a805d)")
    conn = _open_existing(path)
    if conn is None:
        raise LookupError("no history yet: run `payprobe run` first")
    try:
        # The prefix holds only hex and dashes, so LIKE has no wildcard in it.
        rows = conn.execute(f"SELECT {_COLUMNS}, (SELECT body FROM reports WHERE reports.run = runs.id)"
                            " FROM runs WHERE run_id LIKE ? ORDER BY started_at DESC LIMIT 6",
                            (cleaned + "%",)).fetchall()
    finally:
        conn.close()
    if not rows:
        raise LookupError(f"no run in the history has an id starting with {cleaned!r}")
    if len(rows) > 1:
        ids = ", ".join(r[1][:13] for r in rows[:5])
        raise LookupError(f"{cleaned!r} matches several runs ({ids}...); give more of the id")
    row = rows[0]
    summary = _row_dict(row[:-1])
    if row[-1] is None:
        return summary, None
    # Checked like any report from outside: the database is a file anyone may have edited.
    return summary, model.parse_report(zlib.decompress(row[-1]), f"the history's copy of run {summary['run_id']}")


# ------------------------------------------------------------------ meta (alert state)


def get_meta(key: str, *, path: Path | None = None) -> str | None:
    conn = _open_existing(path)
    if conn is None:
        return None
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None
    finally:
        conn.close()


def stats(path: Path | None = None) -> dict[str, Any]:
    """Size and counts, for the benchmark and `schedule status`."""
    p = Path(path) if path is not None else db_path()
    conn = _open_existing(p)
    if conn is None:
        return {"runs": 0, "reports_kept": 0, "bytes": 0}
    try:
        runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        kept = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    size = sum(f.stat().st_size for f in p.parent.glob(p.name + "*") if f.is_file())
    return {"runs": runs, "reports_kept": kept, "bytes": size}
