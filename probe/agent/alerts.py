"""Alerts when the state changes: healthy <-> problem (degraded or unhealthy).

At most one alert per change: the last state is kept in ``alert-state.json``
in the data dir, read and updated under a file lock so two runs finishing at
once cannot both alert. Runs that say nothing about the state (partial runs,
``unknown``) leave it alone. Channels: termux-notification (Termux),
notify-send (Linux desktop), osascript (macOS), and a webhook POST of the
report summary (already-redacted report content only).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, TextIO

from payprobe.engine import paths
from payprobe.host import is_termux

STATE_FILE = "alert-state.json"
COMMAND_TIMEOUT_S = 5.0
WEBHOOK_TIMEOUT_S = 5.0
NOTIFICATION_ID = "payprobe-status"

_TEXT = {
    "en": {"problem": "payprobe: payments may fail ({status})",
           "healthy": "payprobe: network back to healthy",
           "healthy_body": "The payment paths look fine again.",
           "no_cause": "Run `payprobe run` for details."},
    "zh": {"problem": "payprobe：支付可能失败（{status}）",
           "healthy": "payprobe：网络已恢复正常",
           "healthy_body": "支付相关的网络路径已恢复正常。",
           "no_cause": "运行 `payprobe run` 查看详情。"},
}


def state_class(report: dict[str, Any]) -> str | None:
    """'healthy', 'problem', or None when the run says nothing reliable."""
    if report.get("partial"):
        return None
    status = report.get("status")
    if status == "healthy":
        return "healthy"
    if status in ("degraded", "unhealthy"):
        return "problem"
    return None


def summary(report: dict[str, Any], previous: str | None = None) -> dict[str, Any]:
    """What a webhook receives: status, causes (code, severity, title), ids. No evidence."""
    return {
        "event": "payprobe.status_changed",
        "status": report.get("status"),
        "previous_state": previous,
        "run_id": report.get("run_id"),
        "started_at": report.get("started_at"),
        "trigger": report.get("trigger"),
        "redacted": report.get("redacted", True),
        "causes": [{"code": c.get("code"), "severity": c.get("severity"), "title": c.get("title")}
                   for c in report.get("causes", [])],
        "platform": (report.get("host") or {}).get("platform"),
    }


def _state_path() -> Path:
    return paths.data_dir() / STATE_FILE


def transition(report: dict[str, Any]) -> tuple[bool, str | None]:
    """Record this run's state; (should alert, previous state). Locked read-modify-write."""
    new = state_class(report)
    if new is None:
        return False, None
    path = _state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as fh:
        _lock(fh)
        fh.seek(0)
        try:
            previous = json.loads(fh.read() or "{}").get("state")
        except ValueError:
            previous = None
        # No state yet counts as healthy: a first run that finds a problem alerts.
        changed = new != (previous or "healthy")
        if new != previous:
            fh.seek(0)
            fh.truncate()
            json.dump({"state": new, "status": report.get("status"), "run_id": report.get("run_id"),
                       "started_at": report.get("started_at")}, fh)
            fh.flush()
        return changed, previous


def _lock(fh: Any) -> None:
    try:
        import fcntl
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
    except (ImportError, OSError):  # Windows or a filesystem without locks: best effort
        pass


def on_report(settings: Any, report: dict[str, Any], err: TextIO) -> bool:
    """Called after every run. Returns True when an alert went out (on any channel)."""
    try:
        changed, previous = transition(report)
    except OSError as exc:
        err.write(f"payprobe: warning: alert state not updated: {exc.strerror or exc}\n")
        return False
    if not changed:
        return False
    cfg = settings.alerts
    sent = False
    # Someone who typed `payprobe run` is looking at the verdict: no pop-up on top of it.
    if cfg.notify and report.get("trigger") != "manual":
        sent = notify(report, err) or sent
    if cfg.webhook_url:
        sent = post_webhook(cfg.webhook_url, summary(report, previous), err) or sent
    return sent


def _texts(report: dict[str, Any]) -> tuple[str, str]:
    lang = "zh" if report.get("lang") == "zh" else "en"
    t = _TEXT[lang]
    if state_class(report) == "healthy":
        return t["healthy"], t["healthy_body"]
    titles = [str(c.get("title") or c.get("code")) for c in report.get("causes", [])]
    body = "; ".join(titles[:3]) or t["no_cause"]
    return t["problem"].format(status=report.get("status")), body


def notification_argv(report: dict[str, Any], environ: dict[str, str] | None = None) -> list[str] | None:
    """The desktop/phone notification command for this platform, or None."""
    env = os.environ if environ is None else environ
    title, body = _texts(report)
    if is_termux(dict(env)) and shutil.which("termux-notification"):
        # --id replaces our previous notification instead of stacking them.
        return ["termux-notification", "--id", NOTIFICATION_ID, "--title", title, "--content", body]
    if sys.platform == "darwin" and shutil.which("osascript"):
        # Text goes in as argv, never spliced into the script: no AppleScript injection.
        return ["osascript", "-e", "on run argv", "-e",
                "display notification (item 2 of argv) with title (item 1 of argv)",
                "-e", "end run", title, body]
    if (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")) and shutil.which("notify-send"):
        urgency = "normal" if state_class(report) == "healthy" else "critical"
        return ["notify-send", "--app-name=payprobe", f"--urgency={urgency}", title, body]
    return None


def notify(report: dict[str, Any], err: TextIO) -> bool:
    argv = notification_argv(report)
    if argv is None:
        return False
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        err.write(f"payprobe: warning: notification failed: {argv[0]}: {exc}\n")
        return False
    if proc.returncode != 0:
        err.write(f"payprobe: warning: notification failed: {argv[0]} exited {proc.returncode}\n")
        return False
    return True


def _where(url: str) -> str:
    # Webhook URLs often carry a secret in the path or query: name only scheme and host.
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


def post_webhook(url: str, payload: dict[str, Any], err: TextIO,
                 timeout_s: float = WEBHOOK_TIMEOUT_S) -> bool:
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    if urlsplit(url).scheme not in ("http", "https"):
        err.write("payprobe: warning: alert webhook not sent: [alerts] webhook_url must be http(s)\n")
        return False
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "payprobe"})
    # Direct connection, like every payprobe request: env proxies are what we diagnose.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout_s) as response:
            response.read(65536)
        return True
    except urllib.error.HTTPError as exc:
        err.write(f"payprobe: warning: alert webhook {_where(url)} answered HTTP {exc.code}\n")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        err.write(f"payprobe: warning: alert webhook {_where(url)} failed: {reason}\n")
    return False
