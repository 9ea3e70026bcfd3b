"""What every scheduler backend has: the period check, owned files, what install did."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from payprobe.agent.schedule.durations import format_duration
from payprobe.engine.errors import PayprobeError, UsageError
from payprobe.engine.files import write_atomic

MIN_PERIOD_S = 60.0
FILE_MARKER = "Installed by `payprobe schedule install`"


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

    def install(self, every_s: float, previous: Installed | None = None) -> Installed:
        """Install (or replace) our job; ``previous`` is what the last install saved."""
        raise NotImplementedError

    def remove(self, state: Installed | None) -> list[str]:
        raise NotImplementedError

    def next_run(self, state: Installed) -> str | None:
        return None


def home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def write_owned(path: Path, text: str, mode: int = 0o644) -> None:
    """Write a file we own; refuse to overwrite one somebody else wrote."""
    if path.exists() and FILE_MARKER not in path.read_text(encoding="utf-8", errors="replace"):
        raise PayprobeError(f"{path} exists and was not written by payprobe; not overwriting it")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text, mode=mode)


def remove_owned(path: Path) -> bool:
    try:
        if FILE_MARKER not in path.read_text(encoding="utf-8", errors="replace"):
            return False
        path.unlink()
        return True
    except FileNotFoundError:
        return False


def next_from_period(every_s: float, *, aligned: bool) -> str | None:
    now = time.time()
    if aligned:
        # cron fires on wall-clock multiples of the period (local time, whole minutes)
        offset = -time.localtime(now).tm_gmtoff
        nxt = ((now - offset) // every_s + 1) * every_s + offset
    else:
        nxt = now + every_s
    return time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(nxt)) + ("" if aligned else " (about)")
