"""Periodic runs installed the platform's own way, and the lock all runs share.

| platform            | mechanism                                         | module          |
|---------------------|---------------------------------------------------|-----------------|
| Termux              | termux-job-scheduler (Android: period >= 15 min)  | termux_job      |
| Linux, systemd user | payprobe.service + payprobe.timer in ~/.config/systemd/user | systemd_units |
| other Linux, BSD    | one crontab line tagged with a marker comment     | cron_table      |
| macOS               | a launchd agent in ~/Library/LaunchAgents         | launchd_agent   |
| Windows             | a schtasks task                                   | windows_task    |

Every installed job runs ``payprobe schedule run`` (job.py says how it starts
payprobe without looking in its working directory): one ``payprobe run
--trigger schedule --quiet`` under the run lock (run_lock.py), so a scheduled
run never overlaps a ``payprobe watch``. What ``install`` did is written to
``schedule.json`` in the data dir, and ``remove`` undoes exactly that.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from payprobe.agent import history
from payprobe.agent.schedule.backend import FILE_MARKER, MIN_PERIOD_S, Backend, Installed
from payprobe.agent.schedule.cron_table import CRON_MARKER, CronBackend, cron_line, cron_spec
from payprobe.agent.schedule.durations import format_duration, parse_duration, parse_jitter
from payprobe.agent.schedule.job import CARRIED_ENV, job_argv, job_command, job_env
from payprobe.agent.schedule.launchd_agent import LAUNCHD_LABEL, LaunchdBackend, render_launchd_plist
from payprobe.agent.schedule.run_lock import EXIT_BUSY, BusyError, RunLock
from payprobe.agent.schedule.systemd_units import (
    UNIT_NAME,
    SystemdBackend,
    render_systemd_units,
    systemd_quote,
    systemd_user_available,
)
from payprobe.agent.schedule.termux_job import (
    ANDROID_MIN_PERIOD_S,
    TERMUX_JOB_ID,
    TermuxBackend,
    termux_scheduler_argv,
    termux_script,
)
from payprobe.agent.schedule.windows_task import SCHTASKS_NAME, SchtasksBackend, render_cmd_script
from payprobe.engine import paths
from payprobe.engine.errors import PayprobeError, UsageError
from payprobe.engine.files import write_atomic
from payprobe.host import is_termux

__all__ = [
    "ANDROID_MIN_PERIOD_S", "BACKENDS", "CARRIED_ENV", "CRON_MARKER", "EXIT_BUSY", "FILE_MARKER",
    "LAUNCHD_LABEL", "MIN_PERIOD_S", "SCHTASKS_NAME", "TERMUX_JOB_ID", "UNIT_NAME", "Backend",
    "BusyError", "CronBackend", "Installed", "LaunchdBackend", "RunLock", "SchtasksBackend",
    "SystemdBackend", "TermuxBackend", "choose_backend", "cron_line", "cron_spec", "format_duration",
    "install", "job_argv", "job_command", "job_env", "load_state", "parse_duration", "parse_jitter",
    "remove", "render_cmd_script", "render_launchd_plist", "render_systemd_units", "status",
    "systemd_quote", "systemd_user_available", "termux_scheduler_argv", "termux_script",
]

BACKENDS: dict[str, type[Backend]] = {
    b.name: b for b in (TermuxBackend, SystemdBackend, CronBackend, LaunchdBackend, SchtasksBackend)
}


def choose_backend(environ: dict[str, str] | None = None) -> Backend:
    """The platform's own way; PAYPROBE_SCHEDULER=cron|systemd|... overrides."""
    env = os.environ if environ is None else environ
    forced = env.get("PAYPROBE_SCHEDULER", "").strip().lower()
    if forced:
        if forced not in BACKENDS:
            raise UsageError(f"PAYPROBE_SCHEDULER={forced}: expected one of {', '.join(BACKENDS)}")
        return BACKENDS[forced]()
    if is_termux(dict(env)):
        return TermuxBackend()
    if sys.platform == "darwin":
        return LaunchdBackend()
    if sys.platform.startswith(("win", "cygwin")):
        return SchtasksBackend()
    if systemd_user_available(dict(env)):
        return SystemdBackend()
    if shutil.which("crontab"):
        return CronBackend()
    raise PayprobeError("no scheduler found here (no systemd user session, no crontab); "
                        "use `payprobe watch --every 15m` in a terminal instead")


# ------------------------------------------------------------------ state + actions


def _state_path() -> Path:
    return paths.data_dir() / "schedule.json"


def load_state() -> Installed | None:
    try:
        data = json.loads(_state_path().read_text(encoding="utf-8"))
        return Installed(**data)
    except (OSError, ValueError, TypeError):
        return None


def _save_state(state: Installed) -> None:
    write_atomic(_state_path(), json.dumps(state.__dict__, indent=2) + "\n")


def install(every_s: float, backend: Backend | None = None) -> tuple[Backend, Installed]:
    backend = backend or choose_backend()
    backend.check_period(every_s)
    old = load_state()
    if old is not None and old.backend != backend.name and old.backend in BACKENDS:
        BACKENDS[old.backend]().remove(old)  # moving from one mechanism to another
    state = backend.install(every_s, old)
    _save_state(state)
    return backend, state


def remove(backend: Backend | None = None) -> list[str]:
    state = load_state()
    if backend is None:
        backend = BACKENDS[state.backend]() if state and state.backend in BACKENDS else choose_backend()
    done = backend.remove(state)
    try:
        _state_path().unlink()
    except FileNotFoundError:
        pass
    return done


def status() -> dict[str, Any]:
    state = load_state()
    info: dict[str, Any] = {"installed": state is not None}
    if state is not None:
        backend = BACKENDS.get(state.backend)
        info.update(backend=state.backend, every_s=state.every_s,
                    description=backend.description if backend else state.backend)
        try:
            info["next_run"] = backend().next_run(state) if backend else None
        except PayprobeError as exc:
            info["next_run"] = None
            info["next_run_error"] = str(exc)
    recent = history.recent_summaries(50)
    info["last_scheduled"] = next((r for r in recent if r["trigger"] == "schedule"), None)
    info["last_run"] = recent[0] if recent else None
    return info
