"""macOS: a launchd agent in ~/Library/LaunchAgents."""

from __future__ import annotations

import os
import plistlib
from pathlib import Path
from typing import Any

from payprobe.agent.schedule.backend import (
    FILE_MARKER,
    Backend,
    Installed,
    home,
    next_from_period,
    remove_owned,
    write_owned,
)
from payprobe.agent.schedule.job import job_argv, job_env, run_tool
from payprobe.engine import paths

LAUNCHD_LABEL = "io.payprobe.schedule"


def render_launchd_plist(every_s: float, log_dir: Path, environ: dict[str, str] | None = None) -> bytes:
    doc: dict[str, Any] = {
        "Label": LAUNCHD_LABEL,
        "Comment": FILE_MARKER,
        # An argv, not a shell line: launchd runs it as is, with no quoting to get wrong.
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
        return home() / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"

    def install(self, every_s: float, previous: Installed | None = None) -> Installed:
        self.check_period(every_s)
        path = self.plist_path()
        write_owned(path, render_launchd_plist(every_s, paths.data_dir()).decode("utf-8"))
        domain = f"gui/{os.getuid()}"
        run_tool(["launchctl", "bootout", domain, str(path)], check=False)  # an older copy of ours
        run_tool(["launchctl", "bootstrap", domain, str(path)])
        return Installed(self.name, every_s, files=[str(path)])

    def remove(self, state: Installed | None) -> list[str]:
        path = self.plist_path()
        done = []
        if run_tool(["launchctl", "bootout", f"gui/{os.getuid()}", str(path)], check=False).returncode == 0:
            done.append(f"unloaded {LAUNCHD_LABEL}")
        if remove_owned(path):
            done.append(f"removed {path}")
        return done

    def next_run(self, state: Installed) -> str | None:
        return next_from_period(state.every_s, aligned=False)
