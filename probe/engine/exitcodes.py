"""The one place that maps outcomes to exit codes (DESIGN §3)."""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    HEALTHY = 0
    SUCCESS = 0          # a command other than run did what it was asked (an alias of 0)
    DEGRADED = 1
    UNHEALTHY = 2
    INTERNAL_ERROR = 3   # could not diagnose
    USAGE = 64           # bad usage or bad config
    BUSY = 75            # another watch/scheduled run holds the run lock (sysexits EX_TEMPFAIL)
    INTERRUPTED = 130

    @classmethod
    def for_status(cls, status: str) -> ExitStatus:
        return {
            "healthy": cls.HEALTHY,
            "degraded": cls.DEGRADED,
            "unhealthy": cls.UNHEALTHY,
        }.get(status, cls.INTERNAL_ERROR)
