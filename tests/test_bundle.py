"""Support bundle: contents, re-redaction, history, and the upload."""

from __future__ import annotations

import http.server
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from payprobe.agent import after_run, saved, ticket, upload
from payprobe.engine.errors import UsageError
from payprobe.reports import bundle
from payprobe.reports.model import dumps, report_filename

from tests.test_redact import SECRETS, planted, report_with_secrets  # noqa: F401 - fixture

TOKEN = "tok-0123456789-secret"


def save(report: dict[str, Any]) -> Path:
    from payprobe.engine import paths
    folder = paths.reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / report_filename(report)
    path.write_text(dumps(report), encoding="utf-8")
    return path


def read_zip(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {Path(n).name: zf.read(n).decode("utf-8") for n in zf.namelist()}


def test_bundle_command_writes_zip_with_all_parts_and_no_secrets(planted: None, tmp_path: Path) -> None:  # noqa: F811
    from payprobe.cli.main import main
    report = report_with_secrets()
    report["redacted"] = False         # the user ran --no-redact: the bundle must still be clean
    save(report)
    out, err = io.StringIO(), io.StringIO()
    target = tmp_path / "ticket.zip"
    assert main(["bundle", "--output", str(target)], stdout=out, stderr=err) == 0, err.getvalue()
    assert out.getvalue().strip() == str(target)
    files = read_zip(target)
    assert set(files) == {"report.json", "report.html", "report.md", "summary.txt"}
    for name, text in files.items():
        leaks = [s for s in SECRETS if s.lower() in text.lower()]
        assert leaks == [], f"{name} leaks {leaks}"
    assert json.loads(files["report.json"])["redacted"] is True
    code = bundle.ticket_code(report)
    assert code == "3f9a2c1d-unhealthy-clock_wrong"
    assert code in files["summary.txt"] and code in err.getvalue()


def test_bundle_picks_the_newest_report(tmp_path: Path) -> None:
    import os

    from tests.test_render import sample_report
    old, new = sample_report(), sample_report()
    new["run_id"] = "aaaaaaaa-0000-4000-8000-000000000002"
    new["started_at"] = "2026-11-27T01:02:03.123Z"
    p_old, p_new = save(old), save(new)
    os.utime(p_old, (1_000_000, 1_000_000))
    os.utime(p_new, (2_000_000, 2_000_000))
    assert saved.latest_report_path() == p_new


def test_bundle_without_reports_is_a_usage_error() -> None:
    from payprobe.cli.main import main
    err = io.StringIO()
    assert main(["bundle"], stdout=io.StringIO(), stderr=err) == 64
    assert "payprobe run" in err.getvalue()


def test_bundle_includes_last_n_history_summaries(monkeypatch: pytest.MonkeyPatch, planted: None) -> None:  # noqa: F811
    calls: list[int] = []

    def recent_summaries(n: int) -> list[dict[str, Any]]:
        calls.append(n)
        return [{"run_id": "x", "status": "degraded", "note": "seen from 192.168.31.77"}][:n]

    monkeypatch.setattr(ticket.history, "recent_summaries", recent_summaries)
    from tests.test_render import sample_report
    path, _ = ticket.write_bundle(sample_report(), last=3)
    files = read_zip(path)
    assert calls == [3]
    assert "history.json" in files and "degraded" in files["history.json"]
    assert "192.168.31.77" not in files["history.json"]


def test_bundle_when_history_unreadable_has_no_history_file() -> None:
    from payprobe.agent import history
    history.db_path().parent.mkdir(parents=True, exist_ok=True)
    history.db_path().write_bytes(b"this is not an SQLite database" * 100)
    from tests.test_render import sample_report
    path, _ = ticket.write_bundle(sample_report())
    assert "history.json" not in read_zip(path)


# ------------------------------------------------------------------ upload


class _Server:
    def __init__(self, fail_first: int) -> None:
        self.fail_first = fail_first
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                code = 503 if len(outer.requests) <= outer.fail_first else 201
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/upload"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def flaky_server() -> Iterator[_Server]:
    server = _Server(fail_first=2)
    yield server
    server.close()


def test_upload_retries_with_backoff_then_succeeds(flaky_server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYPROBE_UPLOAD_TOKEN", TOKEN)
    sleeps: list[float] = []
    status = upload.upload_bundle(b"PK-zip-bytes", flaky_server.url, code="abc", sleep=sleeps.append,
                                  backoff_s=0.5, deadline_s=10)
    assert status == 201
    assert len(flaky_server.requests) == 3
    assert sleeps == [0.5, 1.0]
    last = flaky_server.requests[-1]
    assert last["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert last["headers"]["Content-Type"] == "application/zip"
    assert last["body"] == b"PK-zip-bytes"


def test_upload_gives_up_after_the_last_attempt_without_printing_the_token(
        monkeypatch: pytest.MonkeyPatch) -> None:
    server = _Server(fail_first=99)
    try:
        monkeypatch.setenv("PAYPROBE_UPLOAD_TOKEN", TOKEN)
        with pytest.raises(upload.UploadError) as info:
            upload.upload_bundle(b"x", server.url, attempts=3, sleep=lambda s: None, deadline_s=10)
        assert len(server.requests) == 3
        assert TOKEN not in str(info.value) and "503" in str(info.value)
    finally:
        server.close()


def test_upload_token_from_config_when_env_is_empty(flaky_server: _Server,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from payprobe.engine import config
    monkeypatch.delenv("PAYPROBE_UPLOAD_TOKEN", raising=False)
    settings = config.load(None, overrides={"upload": {"token": "from-config"}})
    upload.upload_bundle(b"x", flaky_server.url, settings=settings, sleep=lambda s: None, deadline_s=10)
    assert flaky_server.requests[-1]["headers"]["Authorization"] == "Bearer from-config"


@pytest.mark.parametrize("url", ["http://203.0.113.5/upload", "http://example.invalid/u", "ftp://127.0.0.1/x",
                                 "http://127.0.0.1.example.invalid/x", "not a url"])
def test_upload_refuses_plain_http_to_non_loopback_without_connecting(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    import requests

    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(requests.Session, "request", no_network)
    with pytest.raises(UsageError):
        upload.upload_bundle(b"x", url, sleep=lambda s: None)


def test_https_and_loopback_urls_are_allowed() -> None:
    for url in ("https://support.example/upload", "http://127.0.0.1:8080/x", "http://[::1]:80/x",
                "http://localhost/x"):
        upload.check_upload_url(url)


def test_run_ticket_writes_bundle_uploads_and_never_prints_the_token(
        flaky_server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    from payprobe.engine import config

    from tests.test_render import sample_report
    monkeypatch.setenv("PAYPROBE_UPLOAD_TOKEN", TOKEN)
    monkeypatch.setattr(upload.time, "sleep", lambda s: None)
    err = io.StringIO()
    after_run.after_run(after_run.AfterRun(ticket=True, upload=flaky_server.url), config.load(None),
                        sample_report(), err)
    text = err.getvalue()
    assert ".zip" in text and "3f9a2c1d-unhealthy-clock_wrong" in text and "201" in text
    assert TOKEN not in text
    written = Path(text.split("written to ", 1)[1].splitlines()[0])
    assert written.is_file() and flaky_server.requests[-1]["body"] == written.read_bytes()


# ------------------------------------------------- a bare --upload: the config's [upload] url


def _upload_config(tmp_path: Path, url: str | None) -> str:
    path = tmp_path / "config.toml"
    path.write_text("[upload]\n" + (f'url = "{url}"\n' if url is not None else ""), encoding="utf-8")
    return str(path)


def _bundle_cli(*args: str) -> tuple[int, str, str]:
    from payprobe.cli.main import main
    out, err = io.StringIO(), io.StringIO()
    code = main(["bundle", *args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_bare_upload_posts_to_the_config_url_without_printing_the_token(
        flaky_server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_render import sample_report
    monkeypatch.setenv("PAYPROBE_UPLOAD_TOKEN", TOKEN)
    monkeypatch.setattr(upload.time, "sleep", lambda s: None)
    report = save(sample_report())
    target = tmp_path / "t.zip"
    code, out, err = _bundle_cli("--report", str(report), "-o", str(target), "--upload",
                                 "--config", _upload_config(tmp_path, flaky_server.url))
    assert code == 0, err
    assert flaky_server.requests and flaky_server.requests[-1]["path"] == "/upload"
    assert flaky_server.requests[-1]["body"] == target.read_bytes()
    assert flaky_server.requests[-1]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert "201" in err and TOKEN not in out + err


def test_a_url_on_the_command_line_wins_over_the_config(
        flaky_server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_render import sample_report
    monkeypatch.setattr(upload.time, "sleep", lambda s: None)
    report = save(sample_report())
    elsewhere = _Server(fail_first=0)
    try:
        code, _, err = _bundle_cli("--report", str(report), "-o", str(tmp_path / "t.zip"),
                                   "--config", _upload_config(tmp_path, elsewhere.url),
                                   "--upload", flaky_server.url)
        assert code == 0, err
        assert flaky_server.requests and not elsewhere.requests
    finally:
        elsewhere.close()


@pytest.mark.parametrize("command", [["bundle"], ["run", "--ticket", "--only", "device", "--quiet"]])
def test_bare_upload_without_a_config_url_is_refused_before_any_work(
        command: list[str], tmp_path: Path) -> None:
    from payprobe.cli.main import main
    from payprobe.engine import paths

    from tests.test_render import sample_report
    if command[0] == "bundle":
        save(sample_report())
    before = sorted(paths.reports_dir().glob("*")) if paths.reports_dir().is_dir() else []
    err = io.StringIO()
    code = main([*command, "-o" if command[0] == "bundle" else "--output", str(tmp_path / "out"),
                 "--upload", "--config", _upload_config(tmp_path, None)],
                stdout=io.StringIO(), stderr=err)
    assert code == 64
    assert "[upload]" in err.getvalue() and "url" in err.getvalue()
    assert not (tmp_path / "out").exists()
    after = sorted(paths.reports_dir().glob("*")) if paths.reports_dir().is_dir() else []
    assert after == before, "nothing may be run, written or bundled"


@pytest.mark.parametrize("command", [["bundle"], ["run", "--ticket", "--only", "device", "--quiet"]])
def test_a_config_url_the_policy_refuses_stops_before_any_connection(
        command: list[str], tmp_path: Path) -> None:
    from payprobe.cli.main import main
    err = io.StringIO()
    code = main([*command, "--upload", "--config", _upload_config(tmp_path, "http://203.0.113.5/upload")],
                stdout=io.StringIO(), stderr=err)
    assert code == 64
    assert "203.0.113.5" in err.getvalue() and "must be an https:// URL" in err.getvalue()
    assert "Traceback" not in err.getvalue()
