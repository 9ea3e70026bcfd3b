"""The history database: file, connection, schema migrations, write transactions.

- WAL mode, so `payprobe history` reads while a scheduled run writes.
- A versioned schema (``PRAGMA user_version``) migrated forward step by step.
- Concurrent writers are safe: busy_timeout, BEGIN IMMEDIATE and a retry.
- Times are stored as Unix seconds (UTC) and shown as ISO 8601 with a Z.

history.py writes and reads the rows; history_view.py renders them.
"""

from __future__ import annotations

import datetime as _dt
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from payprobe.engine import files, paths

T = TypeVar("T")

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
    files.private_dir(path.parent)
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
        with write_transaction(conn):
            # Re-read under the write lock: another process may have migrated meanwhile.
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current != version:
                continue
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout
    # instead of both reading and then one failing to upgrade its lock.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def retrying(fn: Callable[[], T]) -> T:
    """``fn()``, again after a short random back-off while the database is locked or busy."""
    attempt = 0
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            attempt += 1
            if attempt >= WRITE_ATTEMPTS or ("locked" not in str(exc) and "busy" not in str(exc)):
                raise
            time.sleep(0.05 * (2 ** (attempt - 1)) + random.uniform(0, 0.05))


# ------------------------------------------------------------------ timestamps


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
