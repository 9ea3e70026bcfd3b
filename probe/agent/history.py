"""Run history: one SQLite row per run, in the user data dir.

- WAL mode, so `payprobe history` reads while a scheduled run writes.
- A versioned schema (``PRAGMA user_version``) migrated forward step by step.
- One row per run (status, causes, key metrics), per-endpoint p50s in a child
  table for trends, and the full report as zlib-compressed JSON for the last
  ``keep_reports`` runs (runs that were not healthy keep theirs
  ``keep_unhealthy_days``). Rows older than ``keep_days`` are pruned.
- Concurrent writers are safe: busy_timeout, BEGIN IMMEDIATE and a retry.
- The JSON report is saved before history is touched, so a corrupt or locked
  database costs at most this run's history row: one warning, never the report.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import random
import sqlite3
import statistics
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from payprobe.engine import paths

DB_NAME = "history.sqlite3"
BUSY_TIMEOUT_MS = 5000
WRITE_ATTEMPTS = 4

# Each entry moves the schema from version i to i+1. Append, never edit.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL UNIQUE,
            started_at REAL NOT NULL,          -- Unix seconds (UTC)
            status TEXT NOT NULL,
            trigger TEXT NOT NULL DEFAULT '',
            partial INTEGER NOT NULL DEFAULT 0,
            duration_s REAL,
            causes TEXT NOT NULL DEFAULT '[]',  -- JSON [{"code","severity","title"}]
            clock_offset_s REAL,                -- clock_offset_seconds{source="best"}
            dns_system_query_s REAL             -- median dns_query_seconds{resolver="system"}
        )""",
        "CREATE INDEX runs_started_at ON runs (started_at)",
        # Full reports live apart from the rows: deleting one frees whole pages, which
        # incremental_vacuum gives back. (NULLing a column in runs left pages 90 % empty.)
        """CREATE TABLE reports (
            run INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
            body BLOB NOT NULL                  -- zlib(compact JSON)
        )""",
        """CREATE TABLE endpoint_p50 (
            run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            endpoint TEXT NOT NULL,
            connect_s REAL,
            tls_s REAL,
            ttfb_s REAL,
            PRIMARY KEY (run, endpoint)
        ) WITHOUT ROWID""",
    ],
    [
        # Small key/value facts (e.g. the last alerted state) that must survive runs.
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


class HistoryError(Exception):
    """The history database cannot be used (corrupt, newer schema, unwritable)."""


def db_path() -> Path:
    return paths.data_dir() / DB_NAME


# ------------------------------------------------------------------ connection


def connect(path: Path | None = None, *, create: bool = True) -> sqlite3.Connection:
    """Open (and migrate) the history database. Autocommit mode: transactions are explicit."""
    path = Path(path) if path is not None else db_path()
    if not create and not path.exists():
        raise FileNotFoundError(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        if new:
            try:
                os.chmod(path, 0o600)  # reports may name endpoints and causes: the user's business
            except OSError:
                pass
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if new:
            # Must be set before the first table exists; lets pruning give pages back to a phone.
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.execute("PRAGMA journal_mode = DELETE")  # e.g. a filesystem without shared memory
        # NORMAL in WAL mode: a power cut may lose the last commit, never corrupt the file.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to SCHEMA_VERSION; each step is its own transaction."""
    while True:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(f"the history database has schema {version}, newer than this "
                               f"payprobe understands ({SCHEMA_VERSION}); upgrade payprobe")
        if version == SCHEMA_VERSION:
            return version
        with _write(conn):
            # Re-read under the write lock: another process may have migrated meanwhile.
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current != version:
                continue
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")


@contextmanager
def _write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout
    # instead of both reading and then one failing to upgrade its lock.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _retrying(fn: Any, *args: Any) -> Any:
    for attempt in range(WRITE_ATTEMPTS):
        try:
            return fn(*args)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if attempt == WRITE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (2 ** attempt) + random.uniform(0, 0.05))
    return None


# ------------------------------------------------------------------ extracting


def parse_iso(text: str) -> float:
    """'2026-11-26T01:02:03.123Z' -> Unix seconds (3.10's fromisoformat has no 'Z')."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    stamp = _dt.datetime.fromisoformat(value)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=_dt.timezone.utc)
    return stamp.timestamp()


def iso(ts: float) -> str:
    dt = _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _metrics(report: dict[str, Any], check: str) -> Iterator[dict[str, Any]]:
    for c in report.get("checks", []):
        if c.get("name") == check:
            yield from c.get("metrics", [])


def key_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """The few numbers a history row keeps: per-endpoint p50s, clock offset, DNS time."""
    endpoints: dict[str, dict[str, float]] = {}
    columns = {"tcp_connect_seconds": "connect_s", "tls_handshake_seconds": "tls_s",
               "http_ttfb_seconds": "ttfb_s"}
    for m in _metrics(report, "endpoints"):
        labels = m.get("labels") or {}
        column = columns.get(m.get("name", ""))
        if column and labels.get("stat") == "p50" and labels.get("endpoint"):
            endpoints.setdefault(str(labels["endpoint"]), {})[column] = float(m["value"])
    clock = next((float(m["value"]) for m in _metrics(report, "clock")
                  if m.get("name") == "clock_offset_seconds"
                  and (m.get("labels") or {}).get("source") == "best"), None)
    dns_times = [float(m["value"]) for m in _metrics(report, "dns")
                 if m.get("name") == "dns_query_seconds"
                 and (m.get("labels") or {}).get("resolver") == "system"]
    return {"endpoints": endpoints, "clock_offset_s": clock,
            "dns_system_query_s": statistics.median(dns_times) if dns_times else None}


def _causes(report: dict[str, Any]) -> list[dict[str, str]]:
    return [{"code": str(c.get("code", "")), "severity": str(c.get("severity", "")),
             "title": str(c.get("title", ""))} for c in report.get("causes", [])]


def compress(report: dict[str, Any]) -> bytes:
    raw = json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return zlib.compress(raw, 6)


def decompress(blob: bytes) -> dict[str, Any]:
    return json.loads(zlib.decompress(blob).decode("utf-8"))


# ------------------------------------------------------------------ writing


def insert(conn: sqlite3.Connection, report: dict[str, Any]) -> bool:
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


def record_run(settings: Any, report: dict[str, Any], err: TextIO | None = None,
               *, path: Path | None = None) -> bool:
    """Append a finished run. Never raises for database trouble: warns on ``err``."""
    hist = settings.history

    def _do() -> bool:
        conn = connect(path)
        try:
            with _write(conn):
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
        return bool(_retrying(_do))
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
                r = by_id.get(run)
                if r is not None:
                    r["endpoints"][endpoint] = {"connect_s": connect_s, "tls_s": tls_s,
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


def find_run(prefix: str, *, path: Path | None = None) -> tuple[dict[str, Any], dict[str, Any] | None]:
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
    report = decompress(row[-1]) if row[-1] is not None else None
    return summary, report


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


# ------------------------------------------------------------------ rendering

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
    import csv
    import io

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
