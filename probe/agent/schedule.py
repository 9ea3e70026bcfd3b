"""Periodic runs installed the platform's own way, and the lock all runs share.

| platform            | mechanism                                         |
|---------------------|---------------------------------------------------|
| Termux              | termux-job-scheduler (Android: period >= 15 min)  |
| Linux, systemd user | payprobe.service + payprobe.timer in ~/.config/systemd/user |
| other Linux, BSD    | one crontab line tagged with a marker comment     |
| macOS               | a launchd agent in ~/Library/LaunchAgents         |
| Windows             | a schtasks task                                   |

Every installed job runs ``payprobe schedule run``: one ``payprobe run
--trigger schedule --quiet`` under the run lock, so a scheduled run never
overlaps a ``payprobe watch``. What ``install`` did is written to
``schedule.json`` in the data dir, and ``remove`` undoes exactly that.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from payprobe.agent import history
from payprobe.engine import paths
from payprobe.engine.errors import PayprobeError, UsageError
from payprobe.engine.exitcodes import ExitStatus
from payprobe.engine.files import write_atomic
from payprobe.host import is_termux

MIN_PERIOD_S = 60.0
ANDROID_MIN_PERIOD_S = 15 * 60.0
TERMUX_JOB_ID = 7207  # fixed, so install replaces our own job and remove cancels only it
UNIT_NAME = "payprobe"
LAUNCHD_LABEL = "io.payprobe.schedule"
SCHTASKS_NAME = "payprobe"
CRON_MARKER = "# payprobe-schedule (managed by `payprobe schedule`; remove with `payprobe schedule remove`)"
FILE_MARKER = "Installed by `payprobe schedule install`"
COMMAND_TIMEOUT_S = 20.0
# Env vars that change where payprobe reads and writes: a job must see the same ones.
CARRIED_ENV = ("PAYPROBE_DATA_DIR", "PAYPROBE_CONFIG_DIR", "LANG", "LC_ALL")
# sysexits EX_TEMPFAIL: "try again later", used when another run holds the lock.
EXIT_BUSY = int(ExitStatus.BUSY)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class BusyError(PayprobeError):
    """Another watch or scheduled run holds the run lock."""

    exit_code = EXIT_BUSY


# ------------------------------------------------------------------ durations


def parse_duration(text: str, option: str = "duration") -> float:
    """'90s', '15m', '1h', '7d', '2w', '1h30m' or bare seconds -> seconds (> 0)."""
    value = str(text).strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)([smhdw])", value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise UsageError(f"{option} {text}: expected a duration like 90s, 15m, 1h or 7d")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not seconds > 0 or seconds == float("inf"):
        raise UsageError(f"{option} {text}: expected a duration greater than zero")
    return seconds


def parse_jitter(text: str, period_s: float, option: str = "--jitter") -> float:
    """'10%' of the period, or an absolute duration; at most half the period."""
    value = str(text).strip()
    if value.endswith("%"):
        try:
            percent = float(value[:-1])
        except ValueError:
            raise UsageError(f"{option} {text}: expected a percentage like 10% or a duration like 30s") from None
        if not 0 <= percent <= 50:
            raise UsageError(f"{option} {text}: expected a percentage between 0% and 50%")
        return period_s * percent / 100
    if value in ("0", "0s"):
        return 0.0
    seconds = parse_duration(value, option)
    if seconds > period_s / 2:
        raise UsageError(f"{option} {text}: at most half of the period ({format_duration(period_s / 2)})")
    return seconds


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60}s"
    return f"{seconds}s"


# ------------------------------------------------------------------ the run lock


class RunLock:
    """An exclusive lock on ``run.lock`` in the data dir, held by a watch for its
    whole life and by a scheduled run for its run. The OS drops it when the
    process dies, so a crash never leaves a stale lock."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else paths.data_dir() / "run.lock"
        self._fh: Any = None

    def acquire(self, what: str) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open while locked
        try:
            if not _try_lock(fh):
                fh.seek(0)
                holder = fh.read().strip() or "another payprobe"
                fh.close()
                raise BusyError(f"not starting: {holder} is running and holds {self.path}; "
                                "two runs must not overlap (stop it first, or wait)")
            fh.seek(0)
            fh.truncate()
            fh.write(f"{what} (pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')})")
            fh.flush()
        except BaseException:
            if not fh.closed:
                fh.close()
            raise
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is None:
            return
        try:
            self._fh.seek(0)
            self._fh.truncate()
            _unlock(self._fh)
        except OSError:
            pass
        self._fh.close()
        self._fh = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _try_lock(fh: Any) -> bool:
    try:
        import fcntl
    except ImportError:
        return _try_lock_windows(fh)
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError:
        # A filesystem without locks (some Android mounts): better to run than never to.
        return True


def _try_lock_windows(fh: Any) -> bool:  # pragma: no cover - Windows only
    try:
        import msvcrt
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        return True
    except ImportError:
        return True
    except OSError:
        return False


def _unlock(fh: Any) -> None:
    try:
        import fcntl
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    except ImportError:  # pragma: no cover - Windows only
        try:
            import msvcrt
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        except (ImportError, OSError):
            pass


# ------------------------------------------------------------------ the job command


def job_argv(max_delay_s: float = 0.0) -> list[str]:
    """What every installed job executes: this Python, this payprobe, under the lock."""
    argv = [sys.executable, "-m", "payprobe", "schedule", "run"]
    if max_delay_s > 0:
        argv += ["--max-delay", f"{int(max_delay_s)}s"]
    return argv


def job_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    return {k: env[k] for k in CARRIED_ENV if env.get(k)}


def _run(argv: list[str], *, input_text: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(argv, input=input_text, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise PayprobeError(f"{argv[0]} not found; cannot manage the schedule here") from None
    except subprocess.TimeoutExpired:
        raise PayprobeError(f"{argv[0]} did not answer within {COMMAND_TIMEOUT_S:.0f} s") from None
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise PayprobeError(f"`{' '.join(argv[:3])}` failed (exit {proc.returncode})"
                            + (f": {detail[-1]}" if detail else ""))
    return proc


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


# ------------------------------------------------------------------ backends


@dataclass
class Installed:
    """What install did; saved as schedule.json so remove can undo exactly that."""

    backend: str
    every_s: float
    files: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    installed_at: float = field(default_factory=time.time)


class Backend:
    name = "?"
    description = "?"

    def check_period(self, every_s: float) -> None:
        if every_s < MIN_PERIOD_S:
            raise UsageError(f"--every {format_duration(every_s)}: scheduled runs need a period of "
                             "at least 1m (use `payprobe watch` for a quick series)")

    def install(self, every_s: float) -> Installed:
        raise NotImplementedError

    def remove(self, state: Installed | None) -> list[str]:
        raise NotImplementedError

    def next_run(self, state: Installed) -> str | None:
        return None


def _write_owned(path: Path, text: str, mode: int = 0o644) -> None:
    """Write a file we own; refuse to overwrite one somebody else wrote."""
    if path.exists() and FILE_MARKER not in path.read_text(encoding="utf-8", errors="replace"):
        raise PayprobeError(f"{path} exists and was not written by payprobe; not overwriting it")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text, mode=mode)


def _remove_owned(path: Path) -> bool:
    try:
        if FILE_MARKER not in path.read_text(encoding="utf-8", errors="replace"):
            return False
        path.unlink()
        return True
    except FileNotFoundError:
        return False


# --- systemd


def systemd_quote(arg: str) -> str:
    # systemd expands % specifiers and splits on whitespace; quote like a C string.
    escaped = arg.replace("%", "%%")
    if re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", escaped):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _calendar(every_s: float) -> str | None:
    """An OnCalendar expression when the period divides an hour or a day evenly."""
    minutes, rest = divmod(int(every_s), 60)
    if rest or minutes <= 0:
        return None
    if minutes < 60 and 60 % minutes == 0:
        return f"*-*-* *:00/{minutes}:00"
    if minutes % 60 == 0 and 24 % (minutes // 60) == 0:
        return f"*-*-* 00/{minutes // 60}:00:00"
    return None


def render_systemd_units(every_s: float, environ: dict[str, str] | None = None) -> dict[str, str]:
    argv = job_argv()
    env_lines = "".join(f"Environment={systemd_quote(f'{k}={v}')}\n" for k, v in job_env(environ).items())
    service = (
        f"# {FILE_MARKER}\n"
        "[Unit]\n"
        "Description=payprobe: check the network paths mobile payments use\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"ExecStart={' '.join(systemd_quote(a) for a in argv)}\n"
        f"{env_lines}"
        "# 1 degraded, 2 unhealthy: results, not failures of the job; 75: another run held the lock.\n"
        "SuccessExitStatus=1 2 75\n"
        "Nice=10\n"
        "IOSchedulingClass=idle\n"
    )
    calendar = _calendar(every_s)
    # A randomised delay spreads a fleet's probes so they do not hit the same endpoints at :00.
    delay_s = int(min(every_s * 0.1, 300))
    if calendar:
        when = f"OnCalendar={calendar}\nPersistent=true\n"
    else:
        when = f"OnBootSec=2min\nOnUnitActiveSec={int(every_s)}s\n"
    timer = (
        f"# {FILE_MARKER}\n"
        "[Unit]\n"
        f"Description=payprobe every {format_duration(every_s)}\n"
        "\n"
        "[Timer]\n"
        f"{when}"
        f"RandomizedDelaySec={delay_s}s\n"
        "AccuracySec=30s\n"
        f"Unit={UNIT_NAME}.service\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    return {f"{UNIT_NAME}.service": service, f"{UNIT_NAME}.timer": timer}


class SystemdBackend(Backend):
    name = "systemd"
    description = "systemd user timer payprobe.timer"

    def unit_dir(self) -> Path:
        base = os.environ.get("XDG_CONFIG_HOME") or str(_home() / ".config")
        return Path(base) / "systemd" / "user"

    def install(self, every_s: float) -> Installed:
        self.check_period(every_s)
        folder = self.unit_dir()
        written = []
        for name, text in render_systemd_units(every_s).items():
            _write_owned(folder / name, text)
            written.append(str(folder / name))
        _run(["systemctl", "--user", "daemon-reload"])
        _run(["systemctl", "--user", "enable", "--now", f"{UNIT_NAME}.timer"])
        return Installed(self.name, every_s, files=written)

    def remove(self, state: Installed | None) -> list[str]:
        done = []
        proc = _run(["systemctl", "--user", "disable", "--now", f"{UNIT_NAME}.timer"], check=False)
        if proc.returncode == 0:
            done.append(f"disabled {UNIT_NAME}.timer")
        folder = self.unit_dir()
        for name in (f"{UNIT_NAME}.timer", f"{UNIT_NAME}.service"):
            if _remove_owned(folder / name):
                done.append(f"removed {folder / name}")
        _run(["systemctl", "--user", "daemon-reload"], check=False)
        return done

    def next_run(self, state: Installed) -> str | None:
        proc = _run(["systemctl", "--user", "show", f"{UNIT_NAME}.timer",
                     "--property=NextElapseUSecRealtime"], check=False)
        value = proc.stdout.strip().partition("=")[2]
        return value or None


def systemd_user_available(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if not shutil.which("systemctl"):
        return False
    runtime = env.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid() if hasattr(os, 'getuid') else 0}"
    return (Path(runtime) / "systemd" / "private").exists()


# --- cron


def cron_spec(every_s: float) -> str:
    minutes, rest = divmod(int(every_s), 60)
    if not rest and 0 < minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *" if minutes > 1 else "* * * * *"
    if not rest and minutes % 60 == 0 and 24 % (minutes // 60) == 0:
        hours = minutes // 60
        return f"0 */{hours} * * *" if hours > 1 else "0 * * * *"
    raise UsageError(f"--every {format_duration(every_s)}: cron runs jobs only at periods that "
                     "divide an hour or a day (1m, 5m, 10m, 15m, 20m, 30m, 1h, 2h, 3h, 4h, 6h, 12h, 24h)")


def cron_line(every_s: float, environ: dict[str, str] | None = None) -> str:
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in job_env(environ).items())
    # cron has no randomised delay: the job sleeps up to 10 % of the period itself.
    command = " ".join(shlex.quote(a) for a in job_argv(max_delay_s=min(every_s * 0.1, 300)))
    # In a crontab, % ends the command; escape it.
    text = f"{env + ' ' if env else ''}{command} >/dev/null 2>&1".replace("%", "\\%")
    return f"{cron_spec(every_s)} {text} {CRON_MARKER}"


class CronBackend(Backend):
    name = "cron"
    description = "a line in your crontab"

    def _read(self) -> tuple[str, bool]:
        proc = _run(["crontab", "-l"], check=False)
        if proc.returncode != 0:
            if "no crontab" in (proc.stderr + proc.stdout).lower():
                return "", False
            raise PayprobeError(f"`crontab -l` failed: {(proc.stderr or proc.stdout).strip()}")
        return proc.stdout, True

    def _write(self, text: str) -> None:
        _run(["crontab", "-"], input_text=text)

    @staticmethod
    def _without_ours(text: str) -> str:
        return "".join(line for line in text.splitlines(keepends=True) if CRON_MARKER not in line)

    def install(self, every_s: float) -> Installed:
        self.check_period(every_s)
        line = cron_line(every_s)
        current, existed = self._read()
        kept = self._without_ours(current)
        separator = "" if not kept or kept.endswith("\n") else "\n"
        self._write(kept + separator + line + "\n")
        return Installed(self.name, every_s, extra={"line": line, "had_crontab": existed,
                                                    "added_newline": bool(separator)})

    def remove(self, state: Installed | None) -> list[str]:
        current, existed = self._read()
        if not existed or CRON_MARKER not in current:
            return []
        kept = self._without_ours(current)
        if state is not None and state.extra.get("added_newline") and kept.endswith("\n"):
            kept = kept[:-1]  # install added this newline after a last line that had none
        if not kept and state is not None and not state.extra.get("had_crontab", True):
            _run(["crontab", "-r"], check=False)  # there was no crontab before install
        else:
            self._write(kept)
        return ["removed the payprobe line from your crontab"]

    def next_run(self, state: Installed) -> str | None:
        return _next_from_period(state.every_s, aligned=True)


def _next_from_period(every_s: float, *, aligned: bool) -> str | None:
    now = time.time()
    if aligned:
        # cron fires on wall-clock multiples of the period (local time, whole minutes)
        offset = -time.localtime(now).tm_gmtoff
        nxt = ((now - offset) // every_s + 1) * every_s + offset
    else:
        nxt = now + every_s
    return time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(nxt)) + ("" if aligned else " (about)")


# --- termux


def termux_script(environ: dict[str, str] | None = None) -> str:
    prefix = (os.environ if environ is None else environ).get("PREFIX", "/data/data/com.termux/files/usr")
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in job_env(environ).items())
    command = " ".join(shlex.quote(a) for a in job_argv())
    return (f"#!{prefix}/bin/sh\n# {FILE_MARKER}\n{exports}"
            f"exec {command} >/dev/null 2>&1\n")


def termux_scheduler_argv(script: Path, every_s: float) -> list[str]:
    return ["termux-job-scheduler", "--job-id", str(TERMUX_JOB_ID), "--script", str(script),
            "--period-ms", str(int(every_s * 1000)), "--network", "any",
            "--battery-not-low", "true", "--persisted", "true"]


class TermuxBackend(Backend):
    name = "termux"
    description = f"termux-job-scheduler job {TERMUX_JOB_ID}"

    def script_path(self) -> Path:
        return paths.data_dir() / "scheduled-run.sh"

    def check_period(self, every_s: float) -> None:
        if every_s < ANDROID_MIN_PERIOD_S:
            raise UsageError(f"--every {format_duration(every_s)}: Android runs periodic jobs at most "
                             "every 15 minutes; use --every 15m or more (or `payprobe watch`)")

    def install(self, every_s: float) -> Installed:
        self.check_period(every_s)
        script = self.script_path()
        _write_owned(script, termux_script(), mode=0o700)
        _run(termux_scheduler_argv(script, every_s))
        return Installed(self.name, every_s, files=[str(script)], extra={"job_id": TERMUX_JOB_ID})

    def remove(self, state: Installed | None) -> list[str]:
        job_id = (state.extra.get("job_id") if state else None) or TERMUX_JOB_ID
        done = []
        if _run(["termux-job-scheduler", "--cancel", "--job-id", str(job_id)], check=False).returncode == 0:
            done.append(f"cancelled termux job {job_id}")
        if _remove_owned(self.script_path()):
            done.append(f"removed {self.script_path()}")
        return done

    def next_run(self, state: Installed) -> str | None:
        proc = _run(["termux-job-scheduler", "--pending"], check=False)
        for line in proc.stdout.splitlines():
            if f"Job {state.extra.get('job_id', TERMUX_JOB_ID)}:" in line:
                return "pending with Android's job scheduler (it picks the time; about every "\
                       f"{format_duration(state.every_s)})"
        return None


# --- launchd


def render_launchd_plist(every_s: float, log_dir: Path, environ: dict[str, str] | None = None) -> bytes:
    import plistlib
    doc: dict[str, Any] = {
        "Label": LAUNCHD_LABEL,
        "Comment": FILE_MARKER,
        "ProgramArguments": job_argv(max_delay_s=min(every_s * 0.1, 300)),
        "StartInterval": int(every_s),
        "RunAtLoad": False,
        "ProcessType": "Background",
        "LowPriorityIO": True,
        "Nice": 10,
        "StandardOutPath": str(log_dir / "schedule.log"),
        "StandardErrorPath": str(log_dir / "schedule.log"),
    }
    env = job_env(environ)
    if env:
        doc["EnvironmentVariables"] = env
    return plistlib.dumps(doc)


class LaunchdBackend(Backend):
    name = "launchd"
    description = f"launchd agent {LAUNCHD_LABEL}"

    def plist_path(self) -> Path:
        return _home() / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"

    def install(self, every_s: float) -> Installed:
        self.check_period(every_s)
        path = self.plist_path()
        _write_owned(path, render_launchd_plist(every_s, paths.data_dir()).decode("utf-8"))
        domain = f"gui/{os.getuid()}"
        _run(["launchctl", "bootout", domain, str(path)], check=False)  # an older copy of ours
        _run(["launchctl", "bootstrap", domain, str(path)])
        return Installed(self.name, every_s, files=[str(path)])

    def remove(self, state: Installed | None) -> list[str]:
        path = self.plist_path()
        done = []
        if _run(["launchctl", "bootout", f"gui/{os.getuid()}", str(path)], check=False).returncode == 0:
            done.append(f"unloaded {LAUNCHD_LABEL}")
        if _remove_owned(path):
            done.append(f"removed {path}")
        return done

    def next_run(self, state: Installed) -> str | None:
        return _next_from_period(state.every_s, aligned=False)


# --- schtasks


class SchtasksBackend(Backend):
    name = "schtasks"
    description = f"Windows scheduled task {SCHTASKS_NAME}"

    def script_path(self) -> Path:
        return paths.data_dir() / "scheduled-run.cmd"

    def install(self, every_s: float) -> Installed:
        self.check_period(every_s)
        minutes = int(every_s // 60)
        script = self.script_path()
        sets = "".join(f'set "{k}={v}"\r\n' for k, v in job_env().items())
        command = subprocess.list2cmdline(job_argv(max_delay_s=min(every_s * 0.1, 300)))
        _write_owned(script, f"@echo off\r\nrem {FILE_MARKER}\r\n{sets}{command}\r\n")
        if minutes % 60 == 0:
            sched = ["/SC", "HOURLY", "/MO", str(minutes // 60)]
        else:
            sched = ["/SC", "MINUTE", "/MO", str(minutes)]
        _run(["schtasks", "/Create", "/TN", SCHTASKS_NAME, "/TR", f'"{script}"', *sched, "/F"])
        return Installed(self.name, every_s, files=[str(script)])

    def remove(self, state: Installed | None) -> list[str]:
        done = []
        if _run(["schtasks", "/Delete", "/TN", SCHTASKS_NAME, "/F"], check=False).returncode == 0:
            done.append(f"deleted task {SCHTASKS_NAME}")
        if _remove_owned(self.script_path()):
            done.append(f"removed {self.script_path()}")
        return done

    def next_run(self, state: Installed) -> str | None:
        proc = _run(["schtasks", "/Query", "/TN", SCHTASKS_NAME, "/FO", "LIST", "/V"], check=False)
        for line in proc.stdout.splitlines():
            if line.strip().lower().startswith("next run time:"):
                return line.split(":", 1)[1].strip()
        return None


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
    state = backend.install(every_s)
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
