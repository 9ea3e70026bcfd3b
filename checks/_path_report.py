"""Turning traced routes into the check's evidence, findings and metrics.

Addresses are reported raw, each with its kind (private, cgnat, public...):
the report's redactor decides what a redacted report shows.
"""

from __future__ import annotations

import statistics
from typing import Any

from payprobe.api import Finding, Metric
from payprobe.checks._path_discover import Route
from payprobe.checks._path_judge import HopStats, Judgement, Onset, address_kind

SEGMENT_WORDS = {"local": "the local network (Wi-Fi router)", "isp": "the ISP",
                 "provider_edge": "the payment provider's edge"}


def _pct(ratio: float) -> float:
    return round(ratio * 100.0, 1)


def _rtt_ms(hop: HopStats) -> dict[str, float] | None:
    if not hop.rtts_s:
        return None
    values = sorted(hop.rtts_s)
    return {"min": round(values[0] * 1000, 3), "p50": round(statistics.median(values) * 1000, 3),
            "max": round(values[-1] * 1000, 3)}


def hop_evidence(hop: HopStats, judgement: Judgement) -> dict[str, Any]:
    note = ""
    if hop.hop in judgement.rate_limited:
        note = "rate_limited"
    elif hop.hop in judgement.transient:
        note = "loss_not_persistent"
    elif judgement.onset is not None and hop.hop >= judgement.onset.hop and hop.lost:
        note = "persistent_loss"
    return {"hop": hop.hop, "address": hop.address, "address_kind": address_kind(hop.address),
            "destination": hop.destination, "sent": hop.sent, "answered": hop.answered,
            # Per probe in send order, 1 answered, 0 lost: a rate limiter's bursts show here.
            "pattern": "".join("1" if ok else "0" for ok in hop.outcomes),
            "loss_pct": _pct(hop.loss_ratio) if hop.sent else None, "rtt_ms": _rtt_ms(hop),
            "responders": [r for r in hop.responders if r != hop.address], "note": note}


def route_evidence(route: Route, hops: list[HopStats], judgement: Judgement,
                   method: str) -> dict[str, Any]:
    target = route.target
    onset = judgement.onset
    return {
        "what": "path", "endpoints": list(target.endpoints), "ip_family": target.family,
        "destination": target.destination, "destination_kind": address_kind(target.destination),
        "method": method, "port": target.port, "reached": judgement.reached,
        "destination_hop": route.reached_ttl, "ended_at_hop": route.end_ttl,
        "local_error": route.local_error,
        "hops": [hop_evidence(h, judgement) for h in hops],
        "loss_onset": None if onset is None else {
            "hop": onset.hop, "address": onset.address, "address_kind": address_kind(onset.address),
            "loss_pct": _pct(onset.loss_ratio), "path_loss_pct": _pct(onset.path_loss_ratio),
            "segment": onset.segment},
        "transient_loss_hops": list(judgement.transient),
        "rate_limited_hops": list(judgement.rate_limited),
    }


def loss_findings(route: Route, onset: Onset) -> list[Finding]:
    family = route.target.family
    where = SEGMENT_WORDS.get(onset.segment, onset.segment)
    findings = []
    for endpoint in route.target.endpoints:
        message = (f"packets to {endpoint} ({family}) start to be lost at hop {onset.hop} "
                   f"({onset.address or 'no address'}, {where}): {_pct(onset.loss_ratio):g}% lost "
                   f"there, {_pct(onset.path_loss_ratio):g}% at the destination")
        findings.append(Finding("path.loss_at_hop", "warn", message, target=endpoint, data={
            "hop": onset.hop, "address": onset.address, "address_kind": address_kind(onset.address),
            "loss_pct": _pct(onset.loss_ratio), "path_loss_pct": _pct(onset.path_loss_ratio),
            "segment": onset.segment, "endpoint": endpoint, "ip_family": family}))
    return findings


def route_metrics(route: Route, hops: list[HopStats]) -> list[Metric]:
    metrics: list[Metric] = []
    for endpoint in route.target.endpoints:
        base = {"endpoint": endpoint, "ip_family": route.target.family}
        metrics.append(Metric("path_hops", float(len(hops)), "", base))
        for hop in hops:
            if not hop.sent:
                continue
            labels = {**base, "hop": str(hop.hop)}
            metrics.append(Metric("path_hop_loss_ratio", round(hop.loss_ratio, 4), "ratio", labels))
            if hop.rtts_s:
                metrics.append(Metric("path_hop_rtt_seconds", round(statistics.median(hop.rtts_s), 6),
                                      "s", labels))
    return metrics
