"""Other Linux and BSD: one line in the user's crontab, tagged with a marker comment.

The crontab is the user's file: install and remove change our line only and
leave every other byte as it was (CRLF, a last line without a newline, bytes
that are not UTF-8). Our line is always "...<space><CRON_MARKER>\\n"; a line
that merely mentions the marker is the user's. Where the crontab's last line
has no newline, our line goes before it, so that line stays exactly as it was.
Installing twice gives the same crontab; removing our line from a crontab that
held nothing else brings back "no crontab" if there was none before.
"""

from __future__ import annotations

import re
import shlex

from payprobe.agent.schedule.backend import Backend, Installed, next_from_period
from payprobe.agent.schedule.durations import format_duration
from payprobe.agent.schedule.job import job_argv, job_env, output_text, run_tool
from payprobe.engine.errors import PayprobeError, UsageError

CRON_MARKER = "# payprobe-schedule (managed by `payprobe schedule`; remove with `payprobe schedule remove`)"
_OUR_LINE_END = f" {CRON_MARKER}\n".encode()


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


def crontab_lines(text: bytes) -> list[bytes]:
    """Lines as cron sees them: split after each LF only (a CR is part of its line)."""
    return re.findall(rb"[^\n]*\n|[^\n]+\Z", text)


def is_our_line(line: bytes) -> bool:
    return line.endswith(_OUR_LINE_END)


def without_our_lines(text: bytes) -> bytes:
    return b"".join(line for line in crontab_lines(text) if not is_our_line(line))


def with_our_line(text: bytes, line: str) -> bytes:
    """``text`` with ``line`` as its one payprobe line, every other byte kept."""
    ours = line.encode("utf-8") + b"\n"
    if not is_our_line(ours) or len(crontab_lines(ours)) != 1:
        raise PayprobeError("internal: the payprobe crontab line must be one line ending in its marker")
    kept = without_our_lines(text)
    if not kept or kept.endswith(b"\n"):
        return kept + ours
    cut = kept.rfind(b"\n") + 1  # the last line has no newline: ours goes before it
    return kept[:cut] + ours + kept[cut:]


class CronBackend(Backend):
    name = "cron"
    description = "a line in your crontab"

    def _read(self) -> tuple[bytes, bool]:
        proc = run_tool(["crontab", "-l"], check=False)
        if proc.returncode != 0:
            message = output_text(proc)
            if "no crontab" in message.lower():
                return b"", False
            raise PayprobeError(f"`crontab -l` failed: {message.strip()}")
        return proc.stdout, True

    def _write(self, text: bytes) -> None:
        run_tool(["crontab", "-"], input_bytes=text)

    def install(self, every_s: float, previous: Installed | None = None) -> Installed:
        self.check_period(every_s)
        line = cron_line(every_s)
        current, existed = self._read()
        kept = without_our_lines(current)
        if kept or kept == current:
            had_crontab = existed
        else:
            # The crontab holds only our line: whether there was one before our first
            # install is what that install saved.
            had_crontab = bool(previous and previous.backend == self.name
                               and previous.extra.get("had_crontab"))
        self._write(with_our_line(current, line))
        return Installed(self.name, every_s, extra={"line": line, "had_crontab": had_crontab})

    def remove(self, state: Installed | None) -> list[str]:
        current, existed = self._read()
        kept = without_our_lines(current)
        if not existed or kept == current:
            return []
        if not kept and not (state is not None and state.extra.get("had_crontab")):
            run_tool(["crontab", "-r"])  # there was no crontab before install
        else:
            self._write(kept)
        return ["removed the payprobe line from your crontab"]

    def next_run(self, state: Installed) -> str | None:
        return next_from_period(state.every_s, aligned=True)
