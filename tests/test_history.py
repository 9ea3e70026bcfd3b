"""Run history: schema, migrations, retention, concurrency, damage, and `payprobe history`."""

from __future__ import annotations

import io
import json
import multiprocessing
import sqlite3
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from payprobe.agent import history, history_db
from payprobe.cli.main import main


def make_report(status: str = "healthy", started_ts: float | None = None, *,
                connect_s: dict[str, float] | None = None, causes: list[str] | None = None,
                trigger: str = "manual", partial: bool = False) -> dict[str, Any]:
    started_ts = time.time() if started_ts is None else started_ts
    metrics = []
    for name, value in (connect_s or {}).items():
        for stat, factor in (("min", 0.8), ("p50", 1.0), ("max", 1.5)):
            metrics.append({"name": "tcp_connect_seconds", "value": value * factor, "unit": "s",
                            "labels": {"endpoint": name, "stat": stat}})
        metrics.append({"name": "tls_handshake_seconds", "value": value * 2, "unit": "s",
                        "labels": {"endpoint": name, "stat": "p50"}})
    return {
        "schema_version": 1, "tool": {"name": "payprobe", "version": "0.1.0"},
        "run_id": str(uuid.uuid4()), "started_at": history.iso(started_ts), "duration_s": 1.5,
        "trigger": trigger, "partial": partial, "redacted": True,
        "host": {"platform": "linux", "termux": False, "os": "Linux", "python": "3.11"},
        "status": status, "lang": "en",
        "causes": [{"code": c, "severity": "fail", "confidence": "high", "title": f"title of {c}",
                    "explanation": "", "remedies": [], "findings": []} for c in causes or []],
        "checks": [
            {"name": "endpoints", "version": "1", "status": "ok", "duration_s": 1.0, "summary": "",
             "metrics": metrics, "findings": [], "evidence": [], "error": None},
            {"name": "clock", "version": "1", "status": "ok", "duration_s": 0.1, "summary": "",
             "metrics": [{"name": "clock_offset_seconds", "value": -2.5, "unit": "s",
                          "labels": {"source": "best"}}], "findings": [], "evidence": [], "error": None},
            {"name": "dns", "version": "1", "status": "ok", "duration_s": 0.1, "summary": "",
             "metrics": [{"name": "dns_query_seconds", "value": v, "unit": "s",
                          "labels": {"resolver": "system", "name": f"n{i}"}}
                         for i, v in enumerate((0.01, 0.03, 0.02))],
             "findings": [], "evidence": [], "error": None},
        ],
    }


def settings(keep_reports: int = 200, keep_unhealthy_days: float = 30.0,
             keep_days: float = 90.0) -> Any:
    return SimpleNamespace(history=SimpleNamespace(enabled=True, keep_reports=keep_reports,
                                                   keep_unhealthy_days=keep_unhealthy_days,
                                                   keep_days=keep_days))


def test_record_run_when_new_database_creates_wal_schema_and_rows() -> None:
    report = make_report(connect_s={"Alipay": 0.05, "WeChat Pay": 0.08}, causes=["dns_problem"])
    err = io.StringIO()
    assert history.record_run(settings(), report, err) is True
    assert err.getvalue() == ""
    conn = sqlite3.connect(history.db_path())
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION
    row = conn.execute("SELECT status, causes, clock_offset_s, dns_system_query_s, body"
                       " FROM runs JOIN reports ON reports.run = runs.id").fetchone()
    assert row[0] == "healthy"
    assert json.loads(row[1])[0]["code"] == "dns_problem"
    assert row[2] == -2.5
    assert row[3] == pytest.approx(0.02)  # median of the system resolver's queries
    assert history.decompress(row[4])["run_id"] == report["run_id"]
    p50 = dict(conn.execute("SELECT endpoint, connect_s FROM endpoint_p50").fetchall())
    assert p50 == {"Alipay": pytest.approx(0.05), "WeChat Pay": pytest.approx(0.08)}


def test_record_run_when_same_report_twice_keeps_one_row() -> None:
    report = make_report()
    assert history.record_run(settings(), report) is True
    assert history.record_run(settings(), report) is False
    assert len(history.query()) == 1


def test_connect_when_schema_v1_migrates_keeping_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in history.MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO runs (run_id, started_at, status) VALUES ('abc', 1.0, 'healthy')")
    conn.close()
    conn = history.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION
    assert conn.execute("SELECT run_id FROM runs").fetchall() == [("abc",)]
    assert conn.execute("SELECT count(*) FROM meta").fetchone()[0] == 0
    conn.close()


def test_record_run_when_schema_is_newer_warns_and_keeps_file(tmp_path: Path) -> None:
    path = history.db_path()
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {history.SCHEMA_VERSION + 5}")
    conn.close()
    err = io.StringIO()
    assert history.record_run(settings(), make_report(), err) is False
    assert "history not updated" in err.getvalue() and "newer" in err.getvalue()


def test_prune_when_over_keep_reports_drops_old_healthy_reports_only() -> None:
    now = time.time()
    conn = history.connect()
    with history._write(conn):
        for i in range(10):
            status = "unhealthy" if i in (0, 1) else "healthy"
            history.insert(conn, make_report(status, now - 86400 * (40 if i == 0 else 10) + i))
        history.prune(conn, keep_reports=3, keep_unhealthy_days=30, keep_days=90, now=now)
    kept = conn.execute("SELECT status, EXISTS (SELECT 1 FROM reports WHERE run = runs.id)"
                        " FROM runs ORDER BY started_at").fetchall()
    conn.close()
    # the 40-day-old unhealthy run lost its report; the 10-day-old one keeps it; last 3 keep theirs
    assert [k for _, k in kept] == [0, 1, 0, 0, 0, 0, 0, 1, 1, 1]
    assert kept[1][0] == "unhealthy"


def test_prune_when_older_than_keep_days_deletes_rows_and_children() -> None:
    now = time.time()
    conn = history.connect()
    with history._write(conn):
        history.insert(conn, make_report("healthy", now - 100 * 86400, connect_s={"A": 0.1}))
        history.insert(conn, make_report("unhealthy", now - 100 * 86400, connect_s={"A": 0.1}))
        history.insert(conn, make_report("healthy", now - 1 * 86400, connect_s={"A": 0.1}))
        history.prune(conn, keep_reports=10, keep_unhealthy_days=120, keep_days=90, now=now)
    statuses = [r[0] for r in conn.execute("SELECT status FROM runs ORDER BY started_at")]
    children = conn.execute("SELECT count(*) FROM endpoint_p50").fetchone()[0]
    assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 2
    conn.close()
    assert statuses == ["unhealthy", "healthy"]  # the unhealthy one lives keep_unhealthy_days
    assert children == 2


def _writer(n: int) -> None:
    for _ in range(n):
        assert history.record_run(settings(), make_report(connect_s={"A": 0.1}), None)


def test_record_run_when_processes_write_at_once_keeps_every_row() -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(15,)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert len(history.query()) == 60


def test_record_run_when_database_corrupt_warns_history_not_updated() -> None:
    path = history.db_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not sqlite at all" * 200)
    err = io.StringIO()
    assert history.record_run(settings(), make_report(), err) is False
    assert "history not updated" in err.getvalue()
    assert path.read_bytes().startswith(b"this is not sqlite")  # evidence left for the user


def test_run_when_history_corrupt_exits_normally_with_json_report() -> None:
    path = history.db_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage" * 1000)
    out, err = io.StringIO(), io.StringIO()
    code = main(["run", "--only", "device", "--quiet", "--format", "json"], stdout=out, stderr=err)
    assert code in (0, 1, 2)
    assert "history not updated" in err.getvalue()
    reports = list((path.parent / "reports").glob("report-*.json"))
    assert len(reports) == 1
    assert json.loads(reports[0].read_text())["run_id"] == json.loads(out.getvalue())["run_id"]


def test_run_when_history_locked_warns_and_keeps_report(monkeypatch: pytest.MonkeyPatch) -> None:
    history.record_run(settings(), make_report())
    monkeypatch.setattr(history_db, "BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(history_db, "WRITE_ATTEMPTS", 1)
    holder = sqlite3.connect(history.db_path(), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        err = io.StringIO()
        code = main(["run", "--only", "device", "--quiet"], stdout=io.StringIO(), stderr=err)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code in (0, 1, 2)
    assert "history not updated" in err.getvalue() and "locked" in err.getvalue()
    assert len(list((history.db_path().parent / "reports").glob("report-*.json"))) == 1
    assert len(history.query()) == 1


def test_run_when_history_enabled_records_the_run() -> None:
    out = io.StringIO()
    code = main(["run", "--only", "device", "--quiet", "--format", "json"], stdout=out,
                stderr=io.StringIO())
    assert code in (0, 1, 2)
    summaries = history.recent_summaries(5)
    assert [s["run_id"] for s in summaries] == [json.loads(out.getvalue())["run_id"]]


def test_sparkline_when_values_rise_uses_low_to_high_blocks() -> None:
    assert history.sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert history.sparkline([0.1, None, 0.1]) == "▁ ▁"
    assert len(history.sparkline([float(i) for i in range(500)], width=40)) == 40


def test_recent_summaries_when_no_history_is_empty() -> None:
    assert history.recent_summaries(5) == []
    assert not history.db_path().exists()


def _fill() -> list[dict[str, Any]]:
    now = time.time()
    reports = [
        make_report("healthy", now - 3 * 86400, connect_s={"Alipay": 0.04}),
        make_report("unhealthy", now - 3600 * 5, connect_s={"Alipay": 0.40}, causes=["dns_problem"]),
        make_report("degraded", now - 3600 * 2, connect_s={"Alipay": 0.20, "=evil": 0.1},
                    causes=["dns_problem", "clock_wrong"]),
        make_report("healthy", now - 60, connect_s={"Alipay": 0.05}),
    ]
    for r in reports:
        assert history.record_run(settings(), r)
    return reports


def test_history_text_when_runs_shows_lines_sparkline_and_cause_counts() -> None:
    reports = _fill()
    out = io.StringIO()
    assert main(["history"], stdout=out, stderr=io.StringIO()) == 0
    text = out.getvalue()
    assert reports[0]["run_id"][:8] not in text  # older than the default 24h
    for r in reports[1:]:
        assert r["run_id"][:8] in text
    alipay = next(line for line in text.splitlines() if line.strip().startswith("Alipay"))
    # 0.40, 0.20, 0.05 within 24h: highest block, a middle one, the lowest
    assert alipay.split()[1] == "█▄▁"
    assert "dns_problem" in text and "clock_wrong" in text
    counts = [line.split() for line in text.splitlines() if line.startswith("  dns_problem")]
    assert counts == [["dns_problem", "2"]]


def test_history_json_when_since_7d_lists_all_with_trends() -> None:
    reports = _fill()
    out = io.StringIO()
    assert main(["history", "--since", "7d", "--format", "json"], stdout=out, stderr=io.StringIO()) == 0
    doc = json.loads(out.getvalue())
    assert [r["run_id"] for r in doc["runs"]] == [r["run_id"] for r in reports]
    assert doc["trends"]["Alipay"]["connect_p50_s"] == pytest.approx([0.04, 0.40, 0.20, 0.05])
    assert doc["causes"] == {"dns_problem": 2, "clock_wrong": 1}


def test_history_csv_when_endpoints_has_one_column_each_and_guards_formulas() -> None:
    import csv
    _fill()
    out = io.StringIO()
    assert main(["history", "--since", "all", "--format", "csv"], stdout=out, stderr=io.StringIO()) == 0
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][:3] == ["run_id", "started_at", "status"]
    assert "connect_p50_s[Alipay]" in rows[0]
    assert "'connect_p50_s[=evil]" not in rows[0] and not any(h.startswith("=") for h in rows[0])
    assert len(rows) == 5
    assert rows[3][6] == "dns_problem;clock_wrong"


def test_history_when_since_is_bad_exits_64() -> None:
    err = io.StringIO()
    assert main(["history", "--since", "5x"], stdout=io.StringIO(), stderr=err) == 64
    assert "--since 5x" in err.getvalue()


def test_history_show_when_prefix_matches_renders_the_report() -> None:
    reports = _fill()
    out = io.StringIO()
    assert main(["history", "show", reports[1]["run_id"][:8]], stdout=out, stderr=io.StringIO()) == 0
    assert "UNHEALTHY" in out.getvalue()
    out = io.StringIO()
    assert main(["history", "show", reports[1]["run_id"], "--format", "json"], stdout=out,
                stderr=io.StringIO()) == 0
    assert json.loads(out.getvalue())["run_id"] == reports[1]["run_id"]


def test_history_show_when_unknown_or_ambiguous_exits_64() -> None:
    _fill()
    err = io.StringIO()
    assert main(["history", "show", "ffffffffffff"], stdout=io.StringIO(), stderr=err) == 64
    assert "no run" in err.getvalue()
    err = io.StringIO()
    assert main(["history", "show", "zz"], stdout=io.StringIO(), stderr=err) == 64
    conn = history.connect()
    with history._write(conn):
        for suffix in ("1", "2"):
            r = make_report()
            r["run_id"] = "abcdef00-0000-4000-8000-00000000000" + suffix
            history.insert(conn, r)
    conn.close()
    err = io.StringIO()
    assert main(["history", "show", "abcdef"], stdout=io.StringIO(), stderr=err) == 64
    assert "several" in err.getvalue()


def test_history_show_when_report_pruned_falls_back_to_summary() -> None:
    r = make_report("unhealthy", causes=["offline"])
    history.record_run(settings(keep_reports=0, keep_unhealthy_days=0), r)
    out = io.StringIO()
    assert main(["history", "show", r["run_id"][:8]], stdout=out, stderr=io.StringIO()) == 0
    assert "no longer kept" in out.getvalue() and "offline" in out.getvalue()
