"""Alerts: one per change of state, through fake notifiers and a loopback webhook."""

from __future__ import annotations

import http.server
import io
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from payprobe.agent import alerts

from tests.test_history import make_report


def cfg(notify: bool = True, webhook_url: str = "") -> Any:
    return SimpleNamespace(alerts=SimpleNamespace(notify=notify, webhook_url=webhook_url))


@pytest.fixture
def notifier_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake notify-send on PATH in a fake desktop session; each call appends its argv."""
    log = tmp_path / "notify.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("notify-send", "termux-notification"):
        path = bin_dir / name
        path.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\n')
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("TERMUX_VERSION", raising=False)
    monkeypatch.setattr(alerts.sys, "platform", "linux")
    return log


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_on_report_when_state_flips_alerts_once_per_change(notifier_log: Path) -> None:
    err = io.StringIO()
    sequence = [("healthy", False), ("healthy", False), ("unhealthy", True), ("degraded", False),
                ("unhealthy", False), ("healthy", True), ("healthy", False)]
    for status, expected in sequence:
        report = make_report(status, causes=["dns_problem"] if status != "healthy" else [],
                             trigger="schedule")
        assert alerts.on_report(cfg(), report, err) is expected, status
    calls = _calls(notifier_log)
    assert len(calls) == 2
    assert "payments may fail (unhealthy)" in calls[0] and "title of dns_problem" in calls[0]
    assert "--urgency=critical" in calls[0]
    assert "back to healthy" in calls[1]
    assert err.getvalue() == ""


def test_on_report_when_first_run_is_a_problem_alerts(notifier_log: Path) -> None:
    assert alerts.on_report(cfg(), make_report("degraded", trigger="watch"), io.StringIO()) is True
    assert len(_calls(notifier_log)) == 1


def test_on_report_when_manual_run_changes_state_tracks_it_without_popup(notifier_log: Path) -> None:
    assert alerts.on_report(cfg(), make_report("unhealthy", trigger="manual"), io.StringIO()) is False
    assert alerts.on_report(cfg(), make_report("unhealthy", trigger="schedule"), io.StringIO()) is False
    assert _calls(notifier_log) == []


def test_on_report_when_partial_or_unknown_keeps_state(notifier_log: Path) -> None:
    alerts.on_report(cfg(), make_report("unhealthy", trigger="watch"), io.StringIO())
    assert alerts.on_report(cfg(), make_report("healthy", partial=True, trigger="watch"), io.StringIO()) is False
    assert alerts.on_report(cfg(), make_report("unknown", trigger="watch"), io.StringIO()) is False
    assert alerts.on_report(cfg(), make_report("unhealthy", trigger="watch"), io.StringIO()) is False
    assert len(_calls(notifier_log)) == 1


def test_on_report_when_notify_off_sends_nothing_but_tracks_state(notifier_log: Path) -> None:
    assert alerts.on_report(cfg(notify=False), make_report("unhealthy"), io.StringIO()) is False
    assert alerts.on_report(cfg(), make_report("unhealthy"), io.StringIO()) is False
    assert _calls(notifier_log) == []


def test_notification_when_termux_uses_termux_notification_with_fixed_id(
        notifier_log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERMUX_VERSION", "0.118")
    alerts.on_report(cfg(), make_report("unhealthy", causes=["offline"], trigger="schedule"), io.StringIO())
    (call,) = _calls(notifier_log)
    assert call.startswith("termux-notification --id payprobe-status --title")


def test_notification_when_macos_passes_text_as_argv_not_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERMUX_VERSION", raising=False)
    monkeypatch.setattr(alerts.sys, "platform", "darwin")
    monkeypatch.setattr(alerts.shutil, "which", lambda name: f"/usr/bin/{name}")
    report = make_report("unhealthy")
    report["causes"][:] = [{"code": "x", "title": 'quote " end tell'}]
    argv = alerts.notification_argv(report, environ={})
    assert argv is not None and argv[0] == "osascript"
    assert argv[-1] == 'quote " end tell'  # data in argv, the script itself fixed
    assert all('end tell' not in a for a in argv[:-1])


def test_notification_when_report_is_chinese_says_status_and_causes_in_chinese(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERMUX_VERSION", raising=False)
    monkeypatch.setattr(alerts.sys, "platform", "linux")
    monkeypatch.setattr(alerts.shutil, "which", lambda name: f"/usr/bin/{name}")
    report = make_report("unhealthy", causes=["dns_problem", "clock_wrong"])
    report["lang"] = "zh"
    argv = alerts.notification_argv(report, environ={"DISPLAY": ":0"})
    assert argv is not None
    title, body = argv[-2:]
    assert title == "payprobe：支付可能失败（异常）" and "unhealthy" not in title
    assert body == "title of dns_problem；title of clock_wrong"
    report["status"] = "healthy"
    report["causes"] = []
    assert alerts.notification_argv(report, environ={"DISPLAY": ":0"})[-2:] == [  # type: ignore[index]
        "payprobe：网络已恢复正常", "支付相关的网络路径已恢复正常。"]


def test_notification_when_no_desktop_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERMUX_VERSION", raising=False)
    monkeypatch.setattr(alerts.sys, "platform", "linux")
    assert alerts.notification_argv(make_report("unhealthy"), environ={}) is None


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers["Content-Length"])
        type(self).received.append({"path": self.path, "type": self.headers["Content-Type"],
                                    "body": json.loads(self.rfile.read(length))})
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": [], "status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/SECRET-TOKEN", handler
    server.shutdown()
    server.server_close()


def test_webhook_when_state_changes_posts_summary_once(webhook: tuple[str, type[_Hook]]) -> None:
    url, handler = webhook
    report = make_report("unhealthy", causes=["clock_wrong"])
    assert alerts.on_report(cfg(notify=False, webhook_url=url), report, io.StringIO()) is True
    assert alerts.on_report(cfg(notify=False, webhook_url=url), make_report("unhealthy"), io.StringIO()) is False
    (hit,) = handler.received
    assert hit["path"] == "/hooks/SECRET-TOKEN" and hit["type"] == "application/json"
    body = hit["body"]
    assert body["status"] == "unhealthy" and body["run_id"] == report["run_id"]
    assert body["causes"] == [{"code": "clock_wrong", "severity": "fail", "title": "title of clock_wrong"}]
    assert "checks" not in body and "host" not in body  # the summary, not the evidence


def test_webhook_when_server_fails_warns_without_the_secret(webhook: tuple[str, type[_Hook]]) -> None:
    url, handler = webhook
    handler.status = 500
    err = io.StringIO()
    assert alerts.on_report(cfg(notify=False, webhook_url=url), make_report("degraded"), err) is False
    assert "HTTP 500" in err.getvalue() and "SECRET" not in err.getvalue()
    # a port nobody listens on: a warning, not an exception
    err = io.StringIO()
    assert alerts.post_webhook("http://127.0.0.1:9/x", {}, err, deadline_s=2) is False
    assert "alert webhook" in err.getvalue()
