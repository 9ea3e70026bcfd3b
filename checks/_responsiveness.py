"""bandwidth: responsiveness under load as round trips per minute (RPM), and bufferbloat.

The arithmetic and the judgement; the probes themselves are in
``_responsiveness_probe``. The method is that of the IETF draft
"Responsiveness under Working Conditions" (draft-ietf-ippm-responsiveness-08):

- Foreign probes only: fresh connections to the payment endpoints beside the
  load. Each gives the TCP handshake time (``tcp_f``), and some also the TLS
  handshake time divided by its round trips (``tls_f``). Self probes on the
  load-generating connections (``http_l``) are not made: speedtest-cli's
  connections are HTTP/1.1 and busy, and the endpoints are what payments wait for.
- Aggregation (section "Aggregating the Measurements"): a single-sided trimmed
  mean that keeps the lowest 95 % (TMP), ``TM(tcp_f)`` and ``TM(tls_f)`` with
  equal weight (as its TCP-only case weighs what it has); RPM = 60 / RTT in seconds.
- Classes (section "Round-Trips per Minute (RPM)"): poor below 300 RPM (a
  round trip over 200 ms), fair below 1000 (60 ms), good below 6000 (10 ms),
  excellent above.

Bufferbloat is the latency the load *adds*, not the RPM alone: a low RPM can be
distance (an endpoint abroad), which no router setting fixes. The added latency
is graded as DSLReports' speed test does (https://www.dslreports.com/faq/17930):
A+ < 5 ms, A < 30, B < 60, C < 200, D < 400, F from 400 ms.

``net.bufferbloat`` (warn): the load adds ``[bandwidth].bufferbloat_ms`` or
more, 200 ms by default. 200 ms is where DSLReports' grade falls to D, and the
added delay alone then puts the round trip past the draft's "poor" line
(200 ms, 300 RPM: where a phone call starts to break up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from payprobe.api import Finding, Metric

IDLE = "idle"
LOADED_PHASES = ("download", "upload")

# The draft's TMP: the share of samples kept, lowest first (a single-sided trimmed mean).
TRIM_KEEP_PERCENT = 95
# Fewer answered probes than this in a phase are too few for a figure.
MIN_SAMPLES = 3
# (lowest RPM of the class, class): draft-ietf-ippm-responsiveness-08, "Round-Trips per Minute".
RPM_CLASSES = ((6000.0, "excellent"), (1000.0, "good"), (300.0, "fair"), (0.0, "poor"))
# (added latency below which the grade applies, in ms, grade): dslreports.com/faq/17930.
BLOAT_GRADES = ((5.0, "A+"), (30.0, "A"), (60.0, "B"), (200.0, "C"), (400.0, "D"))
WORST_GRADE = "F"
DEFAULT_THRESHOLD_MS = 200.0
THRESHOLD_SOURCE = ("DSLReports bufferbloat grades (https://www.dslreports.com/faq/17930): 200 ms or more "
                    "added under load is grade D or worse; draft-ietf-ippm-responsiveness-08, "
                    "'Round-Trips per Minute': a working round trip over 200 ms (under 300 RPM) is poor")
CONFIGURED_SOURCE = "[bandwidth].bufferbloat_ms in the config"


@dataclass(frozen=True)
class Probe:
    """One foreign probe: the TCP handshake and, on some, the TLS handshake per round trip.

    ``timed_out``: the probe waited its whole cap, so the handshake that timed
    out took at least the time recorded (a lower bound, kept as a sample).
    """

    phase: str
    target: str
    tcp_s: float | None = None
    tls_rtt_s: float | None = None
    failure: str | None = None
    timed_out: bool = False


def trimmed_mean(values: list[float], keep_percent: int = TRIM_KEEP_PERCENT) -> float | None:
    """The mean of the lowest ``keep_percent`` % of values (at least one), None for none.

    Nearest rank: of 20 samples 19 are kept, of 10 all of them.
    """
    if not values:
        return None
    ordered = sorted(values)
    keep = max(1, (len(ordered) * keep_percent + 99) // 100)
    kept = ordered[:keep]
    return sum(kept) / len(kept)


def rpm(rtt_s: float | None) -> float | None:
    """Round trips per minute: 60 divided by the round-trip time in seconds."""
    if rtt_s is None or rtt_s <= 0:
        return None
    return 60.0 / rtt_s


def rpm_class(value: float | None) -> str | None:
    if value is None:
        return None
    return next(name for lowest, name in RPM_CLASSES if value >= lowest)


def bloat_grade(added_s: float | None) -> str | None:
    if added_s is None:
        return None
    added_ms = added_s * 1000.0
    return next((grade for below, grade in BLOAT_GRADES if added_ms < below), WORST_GRADE)


@dataclass(frozen=True)
class PhaseFigures:
    """What one phase's probes add up to; ``rtt_s`` is None when too few answered."""

    phase: str
    probes: int
    answered: int
    timeouts: int
    errors: int
    tcp_s: float | None
    tls_s: float | None
    rtt_s: float | None
    loaded: bool

    @property
    def rpm(self) -> float | None:
        return rpm(self.rtt_s)

    def to_dict(self) -> dict[str, Any]:
        value = self.rpm
        return {"phase": self.phase, "probes": self.probes, "answered": self.answered,
                "timeouts": self.timeouts, "errors": self.errors, "loaded": self.loaded,
                "tcp_ms": _ms(self.tcp_s), "tls_ms": _ms(self.tls_s), "rtt_ms": _ms(self.rtt_s),
                "rpm": None if value is None else round(value), "responsiveness": rpm_class(value)}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def summarise(phase: str, probes: list[Probe], *, loaded: bool = False) -> PhaseFigures:
    """The phase's round-trip time: TM(tcp_f) and TM(tls_f), equally weighted."""
    mine = [p for p in probes if p.phase == phase]
    tcp = [p.tcp_s for p in mine if p.tcp_s is not None]
    tls = [p.tls_rtt_s for p in mine if p.tls_rtt_s is not None]
    tcp_tm, tls_tm = trimmed_mean(tcp), trimmed_mean(tls)
    parts = [v for v in (tcp_tm, tls_tm) if v is not None]
    rtt_s = sum(parts) / len(parts) if len(tcp) >= MIN_SAMPLES and parts else None
    return PhaseFigures(phase=phase, probes=len(mine), answered=len(tcp),
                        timeouts=sum(1 for p in mine if p.timed_out),
                        errors=sum(1 for p in mine if p.tcp_s is None),
                        tcp_s=tcp_tm, tls_s=tls_tm, rtt_s=rtt_s, loaded=loaded)


@dataclass
class Judgement:
    """The check's share of the outcome: metrics, the finding (if any), evidence, a phrase."""

    metrics: list[Metric]
    findings: list[Finding]
    evidence: dict[str, Any]
    summary: str = ""


def _metrics(idle: PhaseFigures, loaded: list[PhaseFigures]) -> list[Metric]:
    out: list[Metric] = []
    if idle.rtt_s is not None:
        out.append(Metric("idle_latency_seconds", round(idle.rtt_s, 6), "s"))
        out.append(Metric("responsiveness_rpm", round(rpm(idle.rtt_s) or 0.0, 1), "rpm", {"phase": IDLE}))
    for fig in loaded:
        if fig.rtt_s is None:
            continue
        labels = {"phase": fig.phase}
        out.append(Metric("loaded_latency_seconds", round(fig.rtt_s, 6), "s", labels))
        out.append(Metric("responsiveness_rpm", round(rpm(fig.rtt_s) or 0.0, 1), "rpm", labels))
        if idle.rtt_s is not None:
            out.append(Metric("latency_increase_seconds", round(fig.rtt_s - idle.rtt_s, 6), "s", labels))
    return out


def judge(idle: PhaseFigures, loaded: list[PhaseFigures], *, threshold_ms: float,
          evidence: dict[str, Any]) -> Judgement:
    """Metrics for every phase with a figure; ``net.bufferbloat`` for the worst loaded phase
    when the load adds ``threshold_ms`` or more to the idle round trip."""
    source = THRESHOLD_SOURCE if threshold_ms == DEFAULT_THRESHOLD_MS else CONFIGURED_SOURCE
    evidence = {**evidence, "phases": [f.to_dict() for f in (idle, *loaded)],
                "threshold_ms": threshold_ms, "source": source}
    judged = Judgement(_metrics(idle, loaded), [], evidence)
    measured = [f for f in loaded if f.loaded and f.rtt_s is not None]
    if idle.rtt_s is None or not measured:
        evidence["measured"] = False
        evidence["reason"] = ("too few probes answered before the load" if idle.rtt_s is None
                              else "too few probes answered while the link was loaded")
        return judged
    worst = max(measured, key=lambda f: f.rtt_s or 0.0)
    added_s = (worst.rtt_s or 0.0) - idle.rtt_s
    grade = bloat_grade(max(0.0, added_s))
    loaded_rpm = worst.rpm
    evidence.update(measured=True, increase_ms=_ms(added_s), grade=grade, worst_phase=worst.phase)
    judged.summary = (f"responsiveness {round(idle.rpm or 0)} RPM idle, {round(loaded_rpm or 0)} RPM "
                      f"during the {worst.phase} (+{max(0.0, added_s) * 1000:.0f} ms, grade {grade})")
    if added_s * 1000.0 >= threshold_ms:
        judged.findings.append(_finding(idle, worst, added_s, grade, threshold_ms, source))
    return judged


def _finding(idle: PhaseFigures, worst: PhaseFigures, added_s: float, grade: str | None,
             threshold_ms: float, source: str) -> Finding:
    loaded_rpm, idle_rpm = worst.rpm, idle.rpm
    message = (f"latency grows by {added_s * 1000:.0f} ms while the link is busy ({worst.phase}): "
               f"{_ms(idle.rtt_s)} ms idle, {_ms(worst.rtt_s)} ms loaded, "
               f"{round(loaded_rpm or 0)} RPM ({rpm_class(loaded_rpm)}), bufferbloat grade {grade}")
    return Finding("net.bufferbloat", "warn", message, target=worst.phase, data={
        "idle_rtt_ms": _ms(idle.rtt_s), "loaded_rtt_ms": _ms(worst.rtt_s),
        "increase_ms": _ms(added_s), "rpm": None if loaded_rpm is None else round(loaded_rpm),
        "idle_rpm": None if idle_rpm is None else round(idle_rpm),
        "responsiveness": rpm_class(loaded_rpm), "grade": grade, "phase": worst.phase,
        "threshold_ms": threshold_ms, "source": source,
        "samples": {"idle": idle.answered, worst.phase: worst.answered}})
