"""Windows: a schtasks task running a small .cmd script."""

from __future__ import annotations

import subprocess
from pathlib import Path

from payprobe.agent.schedule.backend import FILE_MARKER, Backend, Installed, remove_owned, write_owned
from payprobe.agent.schedule.job import job_argv, job_env, run_tool, stdout_text
from payprobe.engine import paths

SCHTASKS_NAME = "payprobe"


def _cmd_literal(text: str) -> str:
    # cmd.exe expands %NAME% in a script, even inside quotes; %% is a literal %.
    return text.replace("%", "%%")


def render_cmd_script(every_s: float, environ: dict[str, str] | None = None) -> str:
    sets = "".join(f'set "{k}={_cmd_literal(v)}"\r\n' for k, v in job_env(environ).items())
    command = _cmd_literal(subprocess.list2cmdline(job_argv(max_delay_s=min(every_s * 0.1, 300))))
    return f"@echo off\r\nrem {FILE_MARKER}\r\n{sets}{command}\r\n"


class SchtasksBackend(Backend):
    name = "schtasks"
    description = f"Windows scheduled task {SCHTASKS_NAME}"

    def script_path(self) -> Path:
        return paths.data_dir() / "scheduled-run.cmd"

    def install(self, every_s: float, previous: Installed | None = None) -> Installed:
        self.check_period(every_s)
        minutes = int(every_s // 60)
        script = self.script_path()
        write_owned(script, render_cmd_script(every_s))
        if minutes % 60 == 0:
            sched = ["/SC", "HOURLY", "/MO", str(minutes // 60)]
        else:
            sched = ["/SC", "MINUTE", "/MO", str(minutes)]
        run_tool(["schtasks", "/Create", "/TN", SCHTASKS_NAME, "/TR", f'"{script}"', *sched, "/F"])
        return Installed(self.name, every_s, files=[str(script)])

    def remove(self, state: Installed | None) -> list[str]:
        done = []
        if run_tool(["schtasks", "/Delete", "/TN", SCHTASKS_NAME, "/F"], check=False).returncode == 0:
            done.append(f"deleted task {SCHTASKS_NAME}")
        if remove_owned(self.script_path()):
            done.append(f"removed {self.script_path()}")
        return done

    def next_run(self, state: Installed) -> str | None:
        proc = run_tool(["schtasks", "/Query", "/TN", SCHTASKS_NAME, "/FO", "LIST", "/V"], check=False)
        for line in stdout_text(proc).splitlines():
            if line.strip().lower().startswith("next run time:"):
                return line.split(":", 1)[1].strip()
        return None
