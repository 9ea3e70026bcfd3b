"""Reading device facts that a platform may refuse to give.

On Android, psutil raises AccessDenied for much of /proc, termux-api commands
may be missing or slow, and their output may be garbage. Each such source is
recorded as "ok" or "skipped: reason"; a real bug still raises.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from payprobe import classify as fc
from payprobe.api import CheckCancelled


def unreadable_reason(exc: BaseException) -> str | None:
    """Why a source could not be read, or None when ``exc`` is a real bug."""
    name = type(exc).__name__
    if isinstance(exc, subprocess.TimeoutExpired):
        cmd = exc.cmd[0] if isinstance(exc.cmd, (list, tuple)) else exc.cmd
        return f"{cmd} timed out after {exc.timeout:.1f} s"
    if name in ("AccessDenied", "NoSuchProcess", "ZombieProcess") or isinstance(
            exc, (PermissionError, FileNotFoundError, NotImplementedError)):
        return f"{name}: {fc.scrub(str(exc))}" if str(exc) else name
    if isinstance(exc, OSError):
        return f"{name}: {exc.strerror or fc.scrub(str(exc))}"
    if isinstance(exc, (ValueError, KeyError, IndexError)):
        return f"unreadable output ({name})"
    return None


@dataclass
class SourceLog:
    """What each source gave: "ok" or "skipped: reason" (kept as evidence)."""

    state: dict[str, str] = field(default_factory=dict)

    def read(self, source: str, fn: Callable[[], Any]) -> Any:
        """``fn()``, or None with the reason recorded when the source is unreadable."""
        try:
            value = fn()
        except CheckCancelled:
            self.state[source] = "skipped: deadline reached"
            return None
        except Exception as exc:  # noqa: BLE001 - classified just below
            reason = unreadable_reason(exc)
            if reason is None:
                raise
            self.state[source] = f"skipped: {reason}"
            return None
        self.state[source] = "ok" if value is not None else "skipped: not available here"
        return value

    def ok(self, source: str) -> None:
        self.state[source] = "ok"

    def skip(self, source: str, reason: str) -> None:
        self.state[source] = f"skipped: {reason}"

    def readable(self) -> list[str]:
        return [s for s, v in self.state.items() if v == "ok"]

    def unreadable(self) -> list[str]:
        return [s for s, v in self.state.items() if v != "ok"]
