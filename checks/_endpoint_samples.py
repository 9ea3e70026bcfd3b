"""One endpoint's samples, and what they add up to.

The endpoints check measures; this module holds what it measured (the samples
of each endpoint, per address family) and the arithmetic its report is built
from: percentiles, jitter, loss, the status most samples saw and why the
endpoint is unreachable.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from payprobe.settings import Endpoint

# (metric name, Sample attribute) of each timed phase, in report order.
PHASES = (("tcp_connect_seconds", "connect_s"), ("tls_handshake_seconds", "tls_s"),
          ("http_ttfb_seconds", "ttfb_s"))


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


@dataclass
class Sample:
    connect_s: float | None = None
    tls_s: float | None = None
    ttfb_s: float | None = None
    http_status: int | None = None
    failure: str | None = None
    phase: str | None = None          # where it failed: connect | tls | http | deadline
    stalled: bool = False             # the failure is a stall (net.StallError)
    unacked: int | None = None        # at the stall: our segments the peer had not ACKed

    @property
    def ok(self) -> bool:
        return self.failure is None

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that say something: a healthy sample is its three times and
        its status, a failed one its failure and phase (readers use .get())."""
        item = {"connect_s": rounded(self.connect_s), "tls_s": rounded(self.tls_s),
                "ttfb_s": rounded(self.ttfb_s), "http_status": self.http_status,
                "failure": self.failure, "phase": self.phase,
                "stalled": self.stalled or None, "unacked": self.unacked or None}
        return {k: v for k, v in item.items() if v is not None}


# What an endpoint's samples agreed on early (payprobe.checks._sampling).
STALLED, SLOW, DOWN = "stalled", "slow", "down"


@dataclass(frozen=True)
class Adapted:
    """How sampling departed from the plan, and why (for the evidence)."""

    verdict: str                 # stalled | slow (sampling stopped) | down (the rest at once)
    after: int                   # samples taken one after another when they agreed
    why: str

    @property
    def stopped(self) -> bool:
        return self.verdict in (STALLED, SLOW)

    def to_dict(self, taken: int) -> dict[str, Any]:
        item: dict[str, Any] = {"verdict": self.verdict, "after": self.after, "taken": taken,
                                "why": self.why}
        if self.stopped:
            item["loss_ratio_over"] = "samples taken"
        else:
            item["concurrent_from"] = self.after + 1
        return item


@dataclass
class EndpointResult:
    endpoint: Endpoint
    resolve_s: float | None = None
    resolve_failure: str | None = None
    addresses: int = 0
    # The samples that stand for the endpoint (its unlabelled metrics, loss and
    # verdict): those of ``ip_family``, the family apps use.
    samples: list[Sample] = field(default_factory=list)
    planned: int = 0                    # per family
    icmp: dict[str, Any] = field(default_factory=dict)
    ip_family: str | None = None
    # Every measured family's samples ("ipv6", "ipv4"); two on a dual-stack name.
    families: dict[str, list[Sample]] = field(default_factory=dict)
    # The Happy Eyeballs connect that picked the family (dual-stack names only).
    happy: dict[str, Any] | None = None
    # Families the name has addresses in but the device has no route for (not measured).
    unrouted: list[str] = field(default_factory=list)
    # Per family: how sampling adapted once the samples agreed (payprobe.checks._sampling).
    adapted: dict[str, Adapted] = field(default_factory=dict)

    @property
    def dual_stack(self) -> bool:
        return len(self.families) > 1

    def denominator(self, family: str | None) -> int:
        """The loss ratio's denominator for a family: the samples planned, or the
        samples taken when sampling stopped early because they agreed."""
        adapted = self.adapted.get(family or "")
        if adapted is not None and adapted.stopped:
            return len(self.families.get(family or "", [])) or self.planned
        return self.planned


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def jitter(values: list[float]) -> float | None:
    """Mean absolute difference of consecutive values (RFC 3550's idea, unsmoothed)."""
    if len(values) < 2:
        return None
    return sum(abs(b - a) for a, b in zip(values, values[1:], strict=False)) / (len(values) - 1)


def stats(values: list[float]) -> dict[str, float]:
    """min, p50, p95 and max; of a single value only p50 (the other three are the same
    number, and a thousand single-sample endpoints would write each of them four times)."""
    if len(values) == 1:
        return {"p50": values[0]}
    return {"min": min(values), "p50": percentile(values, 0.5), "p95": percentile(values, 0.95),
            "max": max(values)}


def phase_values(samples: list[Sample], attr: str) -> list[float]:
    """The times of one phase (a Sample attribute) in the samples that reached it."""
    return [getattr(s, attr) for s in samples if getattr(s, attr) is not None]


def common_phase(samples: list[Sample]) -> str | None:
    phases = [s.phase for s in samples if s.phase]
    return Counter(phases).most_common(1)[0][0] if phases else None


@dataclass(frozen=True)
class SampleSummary:
    """What one endpoint's samples add up to; its metrics, findings and items read this."""

    planned: int                  # at least 1: the denominator of the loss ratio
    lost: int
    loss_ratio: float
    reachable: bool               # at least one sample went through
    p50_s: dict[str, float]       # median of each phase (Sample attribute) that has times
    http_status: int | None       # the status most samples saw
    failures: list[str]           # the failure of every failed sample
    failure: str | None           # why the endpoint is unreachable, if it is

    @property
    def worst_p50_s(self) -> float:
        return max((self.p50_s.get("connect_s", 0.0), self.p50_s.get("ttfb_s", 0.0)), default=0.0)

    @property
    def http_error(self) -> bool:
        """The service answers, but with rate limiting (429) or a server error (5xx)."""
        return self.http_status is not None and (self.http_status >= 500
                                                 or self.http_status == 429)


def summarize(res: EndpointResult) -> SampleSummary:
    return summarize_samples(res.samples, res.denominator(res.ip_family), res.resolve_failure)


def summarize_samples(samples: list[Sample], planned_count: int,
                      resolve_failure: str | None = None) -> SampleSummary:
    """What one series of samples (an endpoint's, or one family's) adds up to."""
    planned = max(1, planned_count)
    ok_samples = [s for s in samples if s.ok]
    # Samples never taken (deadline) count as lost: the planned count is the denominator
    # (unless sampling stopped early by choice: then the caller passes the samples taken).
    lost = planned - len(ok_samples) if resolve_failure is None else planned
    p50_s: dict[str, float] = {}
    for _, attr in PHASES:
        values = phase_values(samples, attr)
        if values:
            p50_s[attr] = percentile(values, 0.5)
    statuses = [s.http_status for s in samples if s.http_status is not None]
    # The status most samples saw (the first seen on a tie): one figure per endpoint.
    status = Counter(statuses).most_common(1)[0][0] if statuses else None
    failures = [s.failure for s in samples if s.failure]
    failure = resolve_failure or (Counter(failures).most_common(1)[0][0]
                                  if failures and not ok_samples else None)
    return SampleSummary(planned=planned, lost=lost, loss_ratio=lost / planned,
                         reachable=bool(ok_samples), p50_s=p50_s, http_status=status,
                         failures=failures, failure=failure)
