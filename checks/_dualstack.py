"""Dual stack: which address family stands for an endpoint, and what the two say.

An endpoint whose name has both A and AAAA answers is measured over each
family on its own (payprobe.checks._endpoint_measure), beside one Happy
Eyeballs connect (payprobe.net.connect_happy) that shows which family an app
would use. From those:

- :func:`app_family`: the family whose samples stand for the endpoint (its
  unlabelled metrics, loss and verdict). An endpoint is reachable when either
  family works, as it is for an app.
- :func:`family_metrics`: the per-family series, labelled ``ip_family``.
- :func:`ipv6_findings`: ``net.ipv6_broken`` and ``net.ipv6_slow``, judged over
  every dual-stack endpoint together: they are about the network, not one service.
"""

from __future__ import annotations

from typing import Any

from payprobe import net, sources
from payprobe.api import Finding, Metric, Outcome
from payprobe.checks._endpoint_samples import (
    PHASES,
    EndpointResult,
    Sample,
    percentile,
    phase_values,
    summarize_samples,
)

# net.ipv6_slow: IPv6's median connect is more than twice IPv4's AND more than
# 100 ms slower (both: 2x of a 5 ms LAN path is nothing; 100 ms on a 2 s
# satellite path is noise).
IPV6_SLOW_RATIO = 2.0
IPV6_SLOW_MIN_EXTRA_S = 0.100
# ...and it is a warning from 200 ms slower on, evidence (info) below that. Happy
# Eyeballs waits up to 250 ms for IPv6 before it tries IPv4, so from about 200 ms
# every new connection of every app pays nearly that whole delay; below it the
# cost is a fraction of a typical page load and alone does not degrade a run.
IPV6_SLOW_WARN_EXTRA_S = 0.200


def app_family(winner: str | None, families: dict[str, list[Sample]]) -> str:
    """The family whose samples stand for the endpoint.

    The one Happy Eyeballs picked (``winner``) when it works; else a family that
    works (IPv6 first, as apps try it first); with neither working, the winner
    (it connected: the failure came later), else IPv4, the family apps are left
    waiting on once IPv6 has failed.
    """
    names = [f for f in (net.IPV6, net.IPV4) if f in families]
    if len(names) == 1:
        return names[0]
    working = [f for f in names if any(s.ok for s in families[f])]
    if winner in working:
        return str(winner)
    if working:
        return working[0]
    if winner in names:
        return str(winner)
    return net.IPV4


def family_metrics(res: EndpointResult, out: Outcome) -> None:
    """Per family of a dual-stack endpoint: each phase's median and the loss ratio.

    Only the median, labelled ``ip_family`` beside the unlabelled series: the
    full statistics stay on those, every sample is in the evidence, and the
    report's size matters on a phone.
    """
    if not res.dual_stack:
        return
    for family, samples in res.families.items():
        labels = {"endpoint": res.endpoint.name, "ip_family": family}
        for metric, attr in PHASES:
            values = phase_values(samples, attr)
            if values:
                out.metrics.append(Metric(metric, round(percentile(values, 0.5), 6), "s",
                                          {**labels, "stat": "p50"}))
        summary = summarize_samples(samples, res.denominator(family))
        out.metrics.append(Metric("loss_ratio", round(summary.loss_ratio, 4), "", labels))


def connected(samples: list[Sample]) -> bool:
    """At least one sample got a TCP connection (whatever happened after it)."""
    return any(s.connect_s is not None for s in samples)


def connect_p50_s(samples: list[Sample]) -> float | None:
    values = phase_values(samples, "connect_s")
    return percentile(values, 0.5) if values else None


def ipv6_route_interfaces() -> list[str] | None:
    """Interfaces holding an IPv6 default route; None when the table cannot be read."""
    try:
        return sources.ipv6_default_routes()
    except OSError:
        return None


def ipv6_findings(results: list[EndpointResult], out: Outcome) -> None:
    """net.ipv6_broken and net.ipv6_slow over the dual-stack endpoints, if any."""
    dual = [r for r in results if r.dual_stack]
    if not dual:
        return
    _ipv6_broken(dual, out)
    slow = _ipv6_slow(dual)
    if slow is not None:
        out.findings.append(slow)


def _ipv6_broken(dual: list[EndpointResult], out: Outcome) -> None:
    """IPv6 connects fail where IPv4 works, on a device with an IPv6 route.

    Claimed only when no dual-stack endpoint got an IPv6 connection at all: one
    service's IPv6 failing while another's works is that service, not the
    network. When it cannot be claimed, an evidence item says why.
    """
    failures = {r.endpoint.name: summarize_samples(r.families[net.IPV6],
                                                   r.denominator(net.IPV6)).failure
                for r in dual if not connected(r.families[net.IPV6])
                and any(s.ok for s in r.families[net.IPV4])}
    if not failures:
        return
    ipv6_works = [r.endpoint.name for r in dual if connected(r.families[net.IPV6])]
    routes = None if ipv6_works else ipv6_route_interfaces()
    if routes is None and not ipv6_works and all(net.IPV6 not in r.unrouted for r in dual):
        # Android hides /proc/net/ipv6_route; the kernel still said, by choosing a
        # source address for each IPv6 address (a UDP connect, no packet sent),
        # that it has a route: the same test Android's resolver uses.
        routes = ["(route found by a connect test; the route table is unreadable)"]
    reason = ("IPv6 connects work to other endpoints" if ipv6_works
              else "the IPv6 route table cannot be read here" if routes is None
              else "this device has no IPv6 default route, so apps do not use IPv6" if not routes
              else "")
    if reason:
        out.evidence.append({"what": "ipv6_failed", "endpoints": sorted(failures),
                             "failures": failures, "claimed": False, "reason": reason})
        return
    codes = sorted({str(code) for code in failures.values() if code})
    out.findings.append(Finding(
        "net.ipv6_broken", "warn",
        f"IPv6 is broken on this network: {len(failures)} endpoint(s) have IPv6 addresses and this "
        f"device has an IPv6 route, but every IPv6 connection failed ({', '.join(codes) or '?'}) "
        "while IPv4 works. Apps fall back to IPv4 after a delay, so they feel slow.",
        target="", data={"endpoints": sorted(failures), "failures": failures,
                         "ipv6_route_interfaces": list(routes or [])}))


def _ipv6_slow(dual: list[EndpointResult]) -> Finding | None:
    """IPv6 works, but its median connect is much slower than IPv4's on most endpoints."""
    medians: list[tuple[str, float, float]] = []
    for r in dual:
        v6, v4 = connect_p50_s(r.families[net.IPV6]), connect_p50_s(r.families[net.IPV4])
        if v6 is not None and v4 is not None:
            medians.append((r.endpoint.name, v6, v4))
    slow = [(name, v6, v4) for name, v6, v4 in medians
            if v6 > IPV6_SLOW_RATIO * v4 and v6 - v4 > IPV6_SLOW_MIN_EXTRA_S]
    # Most of them, not one: a single far-away IPv6 server is that service.
    if not slow or len(slow) * 2 <= len(medians):
        return None
    extra_s = percentile([v6 - v4 for _, v6, v4 in slow], 0.5)
    severity = "warn" if extra_s > IPV6_SLOW_WARN_EXTRA_S else "info"
    data: dict[str, Any] = {
        "endpoints": [name for name, _, _ in slow],
        "ipv6_connect_p50_ms": {name: round(v6 * 1000.0, 1) for name, v6, _ in slow},
        "ipv4_connect_p50_ms": {name: round(v4 * 1000.0, 1) for name, _, v4 in slow},
        "extra_ms": round(extra_s * 1000.0, 1), "ratio_threshold": IPV6_SLOW_RATIO,
        "min_extra_ms": IPV6_SLOW_MIN_EXTRA_S * 1000.0,
        "warn_extra_ms": IPV6_SLOW_WARN_EXTRA_S * 1000.0,
    }
    return Finding("net.ipv6_slow", severity,
                   f"IPv6 is much slower than IPv4 here: connecting over IPv6 takes "
                   f"{extra_s * 1000:.0f} ms longer (median) on {len(slow)} of {len(medians)} "
                   "endpoint(s); apps that try IPv6 first wait for it", target="", data=data)
