"""Termux on Android: a termux-job-scheduler job running a small shell script."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from payprobe.agent.schedule.backend import FILE_MARKER, Backend, Installed, remove_owned, write_owned
from payprobe.agent.schedule.durations import format_duration
from payprobe.agent.schedule.job import job_argv, job_env, run_tool, stdout_text
from payprobe.engine import paths
from payprobe.engine.errors import UsageError

ANDROID_MIN_PERIOD_S = 15 * 60.0
TERMUX_JOB_ID = 7207  # fixed, so install replaces our own job and remove cancels only it


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

    def install(self, every_s: float, previous: Installed | None = None) -> Installed:
        self.check_period(every_s)
        script = self.script_path()
        write_owned(script, termux_script(), mode=0o700)
        run_tool(termux_scheduler_argv(script, every_s))
        return Installed(self.name, every_s, files=[str(script)], extra={"job_id": TERMUX_JOB_ID})

    def remove(self, state: Installed | None) -> list[str]:
        job_id = (state.extra.get("job_id") if state else None) or TERMUX_JOB_ID
        done = []
        if run_tool(["termux-job-scheduler", "--cancel", "--job-id", str(job_id)], check=False).returncode == 0:
            done.append(f"cancelled termux job {job_id}")
        if remove_owned(self.script_path()):
            done.append(f"removed {self.script_path()}")
        return done

    def next_run(self, state: Installed) -> str | None:
        proc = run_tool(["termux-job-scheduler", "--pending"], check=False)
        for line in stdout_text(proc).splitlines():
            if f"Job {state.extra.get('job_id', TERMUX_JOB_ID)}:" in line:
                return "pending with Android's job scheduler (it picks the time; about every "\
                       f"{format_duration(state.every_s)})"
        return None
