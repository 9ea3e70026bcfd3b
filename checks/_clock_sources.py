"""What one time source answered: an NTP server's best sample or a web server's Date.

The clock check asks the sources; this module holds their answers, the evidence
each leaves, and the rules for an answer that must not be believed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HTTP_DATE_RESOLUTION_S = 1.0
# An NTP server's own timestamps outside these years are nonsense whatever our clock says
# (the device clock may well be at 1970 after a reset; the server's must not be).
SANE_SERVER_YEARS = (2000, 2200)
_SANE_LOW_S = 946684800.0      # 2000-01-01T00:00:00Z
_SANE_HIGH_S = 7258118400.0    # 2200-01-01T00:00:00Z


def sane_server_time(unix_s: float) -> bool:
    """Whether a time a server sent (Unix seconds) lies within SANE_SERVER_YEARS."""
    return _SANE_LOW_S <= unix_s <= _SANE_HIGH_S


@dataclass
class NtpAnswer:
    offset_s: float
    delay_s: float
    stratum: int
    leap: int


@dataclass
class SourceResult:
    source: str                        # as configured
    kind: str                          # ntp | http_date
    best: NtpAnswer | None = None      # ntp: lowest-delay valid answer
    offset_s: float | None = None      # http_date: corrected offset
    rtt_s: float | None = None
    answers: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    failure: str | None = None         # classified failure of the last error, if no answer
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.best is not None or self.offset_s is not None

    @property
    def offset(self) -> float | None:
        return self.best.offset_s if self.best is not None else self.offset_s

    def evidence(self) -> dict[str, Any]:
        item: dict[str, Any] = {"what": self.kind, "source": self.source, "ok": self.ok}
        if self.best is not None:
            item.update(offset_s=round(self.best.offset_s, 6), delay_s=round(self.best.delay_s, 6),
                        stratum=self.best.stratum, leap=self.best.leap, answers=self.answers)
        if self.offset_s is not None:
            item.update(offset_s=round(self.offset_s, 3), rtt_s=round(self.rtt_s or 0.0, 4),
                        resolution_s=HTTP_DATE_RESOLUTION_S)
        if self.rejected:
            item["rejected"] = dict(self.rejected)
        if self.failure:
            item["failure"] = self.failure
        if self.detail:
            item["detail"] = self.detail
        return item


def judge_ntp(stats: Any) -> str | None:
    """Why an NTP answer must not be used, or None when it is usable."""
    if stats.leap == 3:
        return "ntp_unsynchronised"            # the server says its own clock is not set
    if stats.stratum == 0 or stats.stratum >= 16:
        return "ntp_bad_stratum"               # kiss-o'-death or unsynchronised
    if stats.mode not in (4, 5):
        return "ntp_bogus_reply"               # not a server answer
    for stamp in (stats.tx_timestamp, stats.recv_timestamp):
        system = stamp - 2208988800.0          # NTP era 0 -> Unix time
        if not sane_server_time(system):
            return "ntp_bogus_timestamp"
    if stats.recv_timestamp > stats.tx_timestamp + 1e-3:
        return "ntp_bogus_timestamp"           # sent before it received: impossible
    # The originate timestamp must echo our request (anti-spoofing, broken servers).
    if stats.orig_timestamp == 0 or not (0.0 <= stats.dest_timestamp - stats.orig_timestamp < 60.0):
        return "ntp_bogus_reply"
    if stats.delay < -1e-3:
        return "ntp_bogus_timestamp"
    return None
