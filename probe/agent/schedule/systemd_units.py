"""Linux with a systemd user session: payprobe.service + payprobe.timer."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from payprobe.agent.schedule.backend import FILE_MARKER, Backend, Installed, home, remove_owned, write_owned
from payprobe.agent.schedule.durations import format_duration
from payprobe.agent.schedule.job import job_argv, job_env, run_tool, stdout_text
from payprobe.engine.exitcodes import ExitStatus

UNIT_NAME = "payprobe"
# Exit statuses that are results, not failures of the job: the unit stays "successful".
_RESULT_STATUSES = (ExitStatus.DEGRADED, ExitStatus.UNHEALTHY, ExitStatus.BUSY)


def systemd_quote(arg: str, *, expands_variables: bool = True) -> str:
    """One word of a unit file. systemd expands % specifiers everywhere and
    $VAR / ${VAR} in command lines (ExecStart=, not Environment=); "%%" and "$$"
    are the literal characters. Whitespace splits words: quote like a C string."""
    escaped = arg.replace("%", "%%")
    if expands_variables:
        escaped = escaped.replace("$", "$$")
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


def render_service(environ: dict[str, str] | None = None) -> str:
    env_lines = "".join(f"Environment={systemd_quote(f'{k}={v}', expands_variables=False)}\n"
                        for k, v in job_env(environ).items())
    codes = " ".join(str(int(code)) for code in _RESULT_STATUSES)
    return (
        f"# {FILE_MARKER}\n"
        "[Unit]\n"
        "Description=payprobe: check the network paths mobile payments use\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"ExecStart={' '.join(systemd_quote(a) for a in job_argv())}\n"
        f"{env_lines}"
        "# 1 degraded, 2 unhealthy: results, not failures of the job; 75: another run held the lock.\n"
        f"SuccessExitStatus={codes}\n"
        "Nice=10\n"
        "IOSchedulingClass=idle\n"
    )


def render_timer(every_s: float) -> str:
    calendar = _calendar(every_s)
    # A randomised delay spreads a fleet's probes so they do not hit the same endpoints at :00.
    delay_s = int(min(every_s * 0.1, 300))
    if calendar:
        when = f"OnCalendar={calendar}\nPersistent=true\n"
    else:
        when = f"OnBootSec=2min\nOnUnitActiveSec={int(every_s)}s\n"
    return (
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


def render_systemd_units(every_s: float, environ: dict[str, str] | None = None) -> dict[str, str]:
    return {f"{UNIT_NAME}.service": render_service(environ), f"{UNIT_NAME}.timer": render_timer(every_s)}


class SystemdBackend(Backend):
    name = "systemd"
    description = "systemd user timer payprobe.timer"

    def unit_dir(self) -> Path:
        base = os.environ.get("XDG_CONFIG_HOME") or str(home() / ".config")
        return Path(base) / "systemd" / "user"

    def install(self, every_s: float, previous: Installed | None = None) -> Installed:
        self.check_period(every_s)
        folder = self.unit_dir()
        written = []
        for name, text in render_systemd_units(every_s).items():
            write_owned(folder / name, text)
            written.append(str(folder / name))
        run_tool(["systemctl", "--user", "daemon-reload"])
        run_tool(["systemctl", "--user", "enable", "--now", f"{UNIT_NAME}.timer"])
        return Installed(self.name, every_s, files=written)

    def remove(self, state: Installed | None) -> list[str]:
        done = []
        proc = run_tool(["systemctl", "--user", "disable", "--now", f"{UNIT_NAME}.timer"], check=False)
        if proc.returncode == 0:
            done.append(f"disabled {UNIT_NAME}.timer")
        folder = self.unit_dir()
        for name in (f"{UNIT_NAME}.timer", f"{UNIT_NAME}.service"):
            if remove_owned(folder / name):
                done.append(f"removed {folder / name}")
        run_tool(["systemctl", "--user", "daemon-reload"], check=False)
        return done

    def next_run(self, state: Installed) -> str | None:
        proc = run_tool(["systemctl", "--user", "show", f"{UNIT_NAME}.timer",
                         "--property=NextElapseUSecRealtime"], check=False)
        value = stdout_text(proc).strip().partition("=")[2]
        return value or None


def systemd_user_available(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if not shutil.which("systemctl"):
        return False
    runtime = env.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid() if hasattr(os, 'getuid') else 0}"
    return (Path(runtime) / "systemd" / "private").exists()
