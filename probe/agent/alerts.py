"""Alerts when the state changes: healthy <-> problem (degraded or unhealthy).

At most one alert per change and channel: the last state is kept in
``alert-state.json`` in the data dir (0600, written atomically, never through a
symlink), read and updated under a lock file so two runs finishing at once
cannot both alert. The state is saved after sending, with the channels whose
alert failed, so the next run that sees the same state tries those again.
Runs that say nothing about the state (partial runs, ``unknown``) leave it
alone. Channels: termux-notification (Termux), notify-send (Linux desktop),
osascript (macOS), and a webhook POST of the report summary (already-redacted
report content only) through :mod:`payprobe.agent.http`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from payprobe.engine import paths
from payprobe.engine.errors import UsageError
from payprobe.engine.files import private_dir, write_atomic
from payprobe.host import is_termux
from payprobe.reports import catalog
from payprobe.reports.types import Report

STATE_FILE = "alert-state.json"
LOCK_FILE = "alert-state.lock"
COMMAND_TIMEOUT_S = 5.0
WEBHOOK_DEADLINE_S = 10.0
NOTIFICATION_ID = "payprobe-status"
_STATE_MAX_BYTES = 64 * 1024
SENT, FAILED, UNAVAILABLE = "sent", "failed", "unavailable"

def state_class(report: Report) -> str | None:
    """'healthy', 'problem', or None when the run says nothing reliable."""
    if report.get("partial"):
        return None
    status = report.get("status")
    if status == "healthy":
        return "healthy"
    if status in ("degraded", "unhealthy"):
        return "problem"
    return None


def summary(report: Report, previous: str | None = None) -> dict[str, Any]:
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


class StateRefused(OSError):
    """The alert state cannot be used safely (a symlink where the file should be)."""


@contextlib.contextmanager
def _state_lock() -> Iterator[None]:
    """Held while reading, alerting and saving: one run alerts for a change, not two."""
    folder = private_dir(paths.data_dir())
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(folder / LOCK_FILE, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StateRefused(f"{folder / LOCK_FILE} is a symbolic link") from None
        raise
    try:
        _lock(fd)
        yield
    finally:
        os.close(fd)


def _lock(fd: int) -> None:
    try:
        import fcntl
        fcntl.flock(fd, fcntl.LOCK_EX)
    except (ImportError, OSError):  # Windows or a filesystem without locks: best effort
        pass


def read_state() -> dict[str, Any]:
    """The saved state, {} when there is none or it is unreadable; StateRefused for a symlink."""
    path = _state_path()
    # O_NONBLOCK: a FIFO put there must not hang the run; it is refused below.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StateRefused(f"{path} is a symbolic link; remove it") from None
        raise
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StateRefused(f"{path} is not a regular file; remove it")
        raw = fh.read(_STATE_MAX_BYTES)
    try:
        state = json.loads(raw.decode("utf-8") or "{}")
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def _save_state(report: Report, new: str, alerted_from: str | None, pending: list[str]) -> None:
    path = _state_path()
    if path.is_symlink():  # write_atomic would replace it; the user put it there: refuse
        raise StateRefused(f"{path} is a symbolic link; remove it")
    write_atomic(path, json.dumps({"state": new, "status": report.get("status"),
                                   "run_id": report.get("run_id"), "started_at": report.get("started_at"),
                                   "alerted_from": alerted_from, "pending": pending}), mode=0o600)


def on_report(settings: Any, report: Report, err: TextIO) -> bool:
    """Called after every run. Returns True when an alert went out (on any channel)."""
    new = state_class(report)
    if new is None:
        return False
    try:
        with _state_lock():
            saved = read_state()
            previous = saved.get("state") if isinstance(saved.get("state"), str) else None
            due, alerted_from = _due(settings, report, new, saved)
            outcomes = {channel: _send(channel, settings, report, alerted_from, err) for channel in due}
            pending = sorted(c for c, outcome in outcomes.items() if outcome == FAILED)
            if new != previous or pending != saved.get("pending", []):
                _save_state(report, new, alerted_from, pending)
    except OSError as exc:
        err.write(f"payprobe: warning: alert state not updated: {exc.strerror or exc}\n")
        return False
    return SENT in outcomes.values()


def _due(settings: Any, report: Report, new: str,
         saved: dict[str, Any]) -> tuple[list[str], str | None]:
    """The channels to alert on now, and the state the alert reports a change from."""
    previous = saved.get("state")
    if new != (previous or "healthy"):  # no state yet counts as healthy: a first problem alerts
        due, alerted_from = ["notify", "webhook"], previous
    elif new == previous:  # same state: only the alerts that failed last time, again
        pending = saved.get("pending")
        due = [c for c in pending if c in ("notify", "webhook")] if isinstance(pending, list) else []
        alerted_from = saved.get("alerted_from")
    else:
        due, alerted_from = [], None
    cfg = settings.alerts
    # Someone who typed `payprobe run` is looking at the verdict: no pop-up on top of it.
    wanted = {"notify": bool(cfg.notify) and report.get("trigger") != "manual",
              "webhook": bool(cfg.webhook_url)}
    return [c for c in due if wanted[c]], alerted_from if isinstance(alerted_from, str) else None


def _send(channel: str, settings: Any, report: Report, alerted_from: str | None,
          err: TextIO) -> str:
    if channel == "notify":
        return notify_outcome(report, err)
    url = settings.alerts.webhook_url
    sent = post_webhook(url, summary(report, alerted_from), err,
                        ca_file=getattr(settings, "ca_file", "") or "")
    return SENT if sent else FAILED


def _texts(report: Report) -> tuple[str, str]:
    """Title and body in the report's language, from the message catalog (the status too:
    a Chinese notification says 异常, not "unhealthy")."""
    lang = catalog.norm_lang(report.get("lang"))
    if state_class(report) == "healthy":
        return catalog.ui("notify.healthy", lang), catalog.ui("notify.healthy_body", lang)
    titles = [str(c.get("title") or c.get("code")) for c in report.get("causes", [])]
    body = catalog.text("detail", "list_sep_outer", lang).join(titles[:3]) or catalog.ui("notify.no_cause", lang)
    status = str(report.get("status"))
    word = catalog.ui(f"status.{status}", lang)
    # The report's headline says UNHEALTHY; inside a sentence it is a plain word.
    return catalog.ui("notify.problem", lang, status=status if word == f"status.{status}" else word.lower()), body


def notification_argv(report: Report, environ: dict[str, str] | None = None) -> list[str] | None:
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


def notify(report: Report, err: TextIO) -> bool:
    return notify_outcome(report, err) == SENT


def notify_outcome(report: Report, err: TextIO) -> str:
    """SENT, FAILED (worth another try), or UNAVAILABLE (no notifier here: not a failure)."""
    argv = notification_argv(report)
    if argv is None:
        return UNAVAILABLE
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        err.write(f"payprobe: warning: notification failed: {argv[0]}: {exc}\n")
        return FAILED
    if proc.returncode != 0:
        err.write(f"payprobe: warning: notification failed: {argv[0]} exited {proc.returncode}\n")
        return FAILED
    return SENT


def post_webhook(url: str, payload: dict[str, Any], err: TextIO, *,
                 deadline_s: float = WEBHOOK_DEADLINE_S, ca_file: str = "") -> bool:
    """POST the summary; True on a 2xx answer. Every failure is one warning that
    names the webhook by scheme and host only."""
    from payprobe.agent import http  # lazy: only when a webhook is due

    # The webhook's path is its secret (Slack, WeCom, DingTalk...): https, and never shown.
    purpose = http.Purpose("[alerts] webhook_url", carries_secret=True, secret_path=True)
    try:
        target = http.check_url(url, purpose)
    except UsageError as exc:
        err.write(f"payprobe: warning: alert webhook not sent: {exc}\n")
        return False
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    try:
        reply = http.post(target, data, {"Content-Type": "application/json"},
                          http.Policy(deadline_s=deadline_s, ca_file=ca_file))
    except http.SendError as exc:
        err.write(f"payprobe: warning: alert webhook {exc}\n")
        return False
    if reply.ok:
        return True
    note = " (redirects are not followed)" if 300 <= reply.status < 400 else ""
    err.write(f"payprobe: warning: alert webhook {target.display} answered HTTP {reply.status}{note}\n")
    return False
