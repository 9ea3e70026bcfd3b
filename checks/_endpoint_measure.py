"""How the endpoints check measures one endpoint.

1. Resolve its name once, A and AAAA (the system resolver), timed on its own
   so that no connect time contains DNS. A family the device has no route for
   is dropped, as Android's resolver drops it.
2. On a dual-stack name, one Happy Eyeballs connect
   (:func:`payprobe.net.connect_happy`) shows which family an app would use.
3. ``latency.samples`` samples per address family, the two families in
   parallel, each sample on a fresh connection to the family's first address,
   the next one's connect overlapping the previous one's wait for its first
   byte, or its handshake once the server has answered one
   (payprobe.checks._endpoint_pipeline):
   TCP connect, TLS handshake (https) and one HTTP request, each phase timed
   separately. A sample that fails anywhere is lost; one with no progress for
   net.STALL_S has stalled; a slowloris server is cut off at the sample's
   budget by payprobe.net's hard deadline. Once the samples agree that the
   endpoint is stalled, slow or down, sampling adapts (payprobe.checks._sampling).
4. Beside the samples, an unprivileged ping of the address apps would use,
   one per address however many endpoints share it (payprobe.checks._endpoint_icmp).

Which family's samples stand for the endpoint is payprobe.checks._dualstack's call.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext, parallel
from payprobe.checks import _workers
from payprobe.checks._dualstack import app_family
from payprobe.checks._endpoint_icmp import Pings
from payprobe.checks._endpoint_pipeline import Pipeline, connected, waiting_for_first_byte
from payprobe.checks._endpoint_samples import Adapted, EndpointResult, Sample
from payprobe.checks._sampling import BURST_WORKERS, agreement
from payprobe.settings import Endpoint, LatencyConfig

# A sample never gets less than this (or what is left of the deadline, if less).
MIN_SAMPLE_S = 1.0
# No single sample gets more than this, however much time is left.
MAX_SAMPLE_S = 8.0
RESOLVE_CAP_S = 5.0
# A connect that takes longer than the initial TCP retransmission timeout
# (TCP_TIMEOUT_INIT, 1 s on Linux and Android) means the first SYN or its answer
# was lost. Counting that sample as lost, rather than waiting for the kernel's
# retransmission to succeed, is what makes loss_ratio reflect packet loss at
# all: TCP would otherwise hide it as a slow connect. The cap is never below
# latency.fail_ms, so a connect slower than "fail" is still measured as slow.
SYN_RTO_S = 1.0
# Time enough for a sample to see a stall: its connect (the SYN RTO) and then
# net.STALL_S without progress in the handshake or the wait for the answer.
STALL_FLOOR_S = SYN_RTO_S + net.STALL_S
# Samples stop this long before the check's deadline, so that a silent server
# times out while there is still time to report what it did.
REPORT_MARGIN_S = 0.2
# Endpoints measured at once (see payprobe.checks._workers).
MAX_WORKERS = _workers.MAX_WORKERS


def connect_timeout_s(cfg: LatencyConfig) -> float:
    """Just under the first SYN retransmission: a sample whose first SYN was lost
    is lost, not merely slow (a retransmitted SYN would otherwise win the race)."""
    return max(SYN_RTO_S - 0.05, float(cfg.fail_ms) / 1000.0)


@dataclass(frozen=True)
class Request:
    """What every sample of one endpoint sends, and where."""

    host: str
    port: int
    https: bool
    host_header: str
    target: str
    method: str

    @classmethod
    def of(cls, ep: Endpoint) -> Request:
        parts = urlsplit(ep.url)
        host = parts.hostname or ""
        https = parts.scheme == "https"
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        if ":" in host:
            host_header = f"[{host}]" + (f":{parts.port}" if parts.port else "")
        return cls(host, parts.port or (443 if https else 80), https, host_header,
                   (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                   ep.method or "HEAD")


def by_family(addresses: list[str]) -> dict[str, list[str]]:
    """The resolved addresses per family, IPv6 first, each family in resolver order."""
    families: dict[str, list[str]] = {}
    for address in net.interleave_families(addresses):
        families.setdefault(net.ip_family(address), []).append(address)
    return families


def routable(address: str) -> bool:
    """Whether the kernel has a route to ``address``; connect() on UDP sends no packet.

    Android's resolver drops the answers of a family the device has no route
    for (bionic's _have_ipv6/_have_ipv4 ask the same way), so apps never try
    that family, and neither do we. Any other doubt is settled by measuring.
    """
    family = socket.AF_INET6 if net.ip_family(address) == net.IPV6 else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_DGRAM)
    except OSError:
        return False   # no such family in this kernel
    with sock:
        try:
            sock.connect((address, 443))
        except OSError as exc:
            return fc.classify(exc) not in (fc.NETWORK_UNREACHABLE, fc.HOST_UNREACHABLE,
                                            fc.ADDRESS_UNAVAILABLE)
    return True


def usable_families(addresses: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """(the families to measure, the families dropped for want of a route).

    With no route at all every family stays: the samples then say
    ``network_unreachable``, which is how the diagnosis knows the device is offline.
    """
    families = by_family(addresses)
    unrouted = [f for f, addrs in families.items() if not routable(addrs[0])]
    if len(unrouted) == len(families):
        return families, []
    return {f: a for f, a in families.items() if f not in unrouted}, unrouted


def measure_all(ctx: CheckContext[LatencyConfig], endpoints: list[Endpoint],
                tls_ctx: Any) -> list[Any]:
    """:func:`measure` every endpoint, MAX_WORKERS at a time (payprobe.checks._workers):
    its result, the exception it raised, or None when the deadline came first."""
    pings = Pings(ctx)
    return _workers.each(lambda ep: measure(ctx, ep, tls_ctx, pings), endpoints, ctx,
                         MAX_WORKERS)


def measure(ctx: CheckContext[LatencyConfig], ep: Endpoint, tls_ctx: Any,
            pings: Pings | None = None) -> EndpointResult:
    """Resolve, pick the family (dual stack), sample every family, ping: one endpoint."""
    req = Request.of(ep)
    res = EndpointResult(ep, planned=int(ctx.config.samples))
    t0 = time.perf_counter()
    try:
        addresses = net.resolve(req.host, req.port, timeout=ctx.timeout(RESOLVE_CAP_S))
    except CheckCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - classified
        res.resolve_failure = fc.classify(exc)
        return res
    if not addresses:
        res.resolve_failure = fc.DNS_NO_ANSWER
        return res
    res.resolve_s = time.perf_counter() - t0
    res.addresses = len(addresses)
    families, res.unrouted = usable_families(addresses)
    winner = None
    if len(families) > 1:
        res.happy = _happy_connect(ctx, [a for f in families.values() for a in f], req.port)
        winner = res.happy["ip_family"]
    pings = pings if pings is not None else Pings(ctx)
    ping = pings.start(families[winner][0] if winner else next(iter(families.values()))[0])
    res.families, res.adapted = _sample_families(ctx, req, families, tls_ctx, res.planned)
    res.ip_family = app_family(winner, res.families)
    res.samples = res.families[res.ip_family]
    res.icmp = pings.result(ping)
    return res


def _happy_connect(ctx: CheckContext[LatencyConfig], addresses: list[str],
                   port: int) -> dict[str, Any]:
    """One connect as apps make it; which family won, how long it took, every attempt."""
    attempts: list[net.Attempt] = []
    cap_s = connect_timeout_s(ctx.config) + net.HAPPY_EYEBALLS_DELAY_S
    try:
        happy = net.connect_happy(addresses, port, timeout=ctx.timeout(cap_s), attempts=attempts)
    except CheckCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - classified: no family won
        return {"ip_family": None, "seconds": None, "failure": fc.classify(exc),
                "attempts": [a.to_dict() for a in attempts]}
    happy.sock.close()
    return {"ip_family": happy.ip_family, "seconds": round(happy.seconds, 6), "failure": None,
            "attempts": [a.to_dict() for a in happy.attempts]}


Series = tuple[list[Sample], Adapted | None]


def _sample_families(ctx: CheckContext[LatencyConfig], req: Request,
                     families: dict[str, list[str]], tls_ctx: Any,
                     planned: int) -> tuple[dict[str, list[Sample]], dict[str, Adapted]]:
    """Every family's samples; two families are sampled side by side, not one after the other."""
    names = list(families)
    if len(names) == 1:
        results: list[Any] = [_samples(ctx, req, families[names[0]][0], tls_ctx, planned)]
    else:
        results = parallel(lambda f: _samples(ctx, req, families[f][0], tls_ctx, planned),
                           names, ctx)
    samples: dict[str, list[Sample]] = {}
    adapted: dict[str, Adapted] = {}
    for family, result in zip(names, results, strict=True):
        if not isinstance(result, tuple):
            # Still running at the deadline, or a bug: one lost sample says so.
            failure = (fc.GENERIC_TIMEOUT if isinstance(result, CheckCancelled)
                       else fc.classify(result))
            result = ([Sample(failure=failure, phase="deadline")], None)
        samples[family] = result[0]
        if result[1] is not None:
            adapted[family] = result[1]
    return samples, adapted


def _samples(ctx: CheckContext[LatencyConfig], req: Request, address: str, tls_ctx: Any,
             planned: int) -> Series:
    """Up to ``planned`` samples, the next overlapping the previous one's wait for its
    first byte (payprobe.checks._endpoint_pipeline), sharing what is left of the deadline
    fairly, until they agree (payprobe.checks._sampling): then stop, or take the rest at once."""
    samples: list[Sample] = []
    pipe = Pipeline(lambda budget: _sample(ctx, req, address, tls_ctx, budget), planned,
                    float(ctx.config.fail_ms) / 1000.0)
    while len(samples) < planned:
        # Samples never taken (deadline) are counted as lost: the planned count is the denominator.
        sample = pipe.next(lambda left: _budget(ctx, left))
        if sample is None:
            break
        samples.append(sample)
        adapted = agreement(samples, ctx.config)
        if adapted is None:
            continue
        samples += pipe.drain()
        if not adapted.stopped:
            if len(samples) >= planned:
                break   # nothing left to take at once
            samples += _rest_at_once(ctx, req, address, tls_ctx, planned - len(samples))
        return samples, adapted
    return samples, None


def _budget(ctx: CheckContext[LatencyConfig], left_samples: int) -> float | None:
    """One sample's share of what is left of the deadline; None when nothing is left.

    What is left is shared fairly, so that one dribbling server cannot starve
    the rest of the samples. A share is raised to :data:`STALL_FLOOR_S` where
    the samples after it can still have MIN_SAMPLE_S each: a sample cut off
    before net.STALL_S cannot tell a silent server (stop sampling) from a
    slow one.
    """
    remaining = ctx.remaining() - min(REPORT_MARGIN_S, 0.1 * max(0.0, ctx.remaining()))
    if remaining <= 0.005 or ctx.cancelled.is_set():
        return None
    share = min(max(remaining / left_samples, STALL_FLOOR_S),
                remaining - (left_samples - 1) * MIN_SAMPLE_S)
    return min(MAX_SAMPLE_S, max(share, min(MIN_SAMPLE_S, remaining)))


def _rest_at_once(ctx: CheckContext[LatencyConfig], req: Request, address: str, tls_ctx: Any,
                  count: int) -> list[Sample]:
    """The rest of a "down" endpoint's samples, side by side (each on its own connection)."""
    if count <= 0:
        return []
    rounds = -(-count // BURST_WORKERS)
    budget = _budget(ctx, rounds)
    if budget is None:
        return []
    results = parallel(lambda _: _sample(ctx, req, address, tls_ctx, budget), range(count), ctx,
                       max_workers=BURST_WORKERS)
    return [r if isinstance(r, Sample) else Sample(
        failure=fc.GENERIC_TIMEOUT if isinstance(r, CheckCancelled) else fc.classify(r),
        phase="deadline") for r in results]


def _sample(ctx: CheckContext[LatencyConfig], req: Request, address: str, tls_ctx: Any,
            budget: float) -> Sample:
    s = Sample()
    connect_cap_s = connect_timeout_s(ctx.config)
    end = time.monotonic() + budget

    def left() -> float:
        # ctx.timeout() raises CheckCancelled at the check's deadline.
        return ctx.timeout(max(0.001, end - time.monotonic()))

    sock = None
    try:
        s.phase = "connect"
        sock, s.connect_s = net.connect(address, req.port, timeout=min(left(), connect_cap_s))
        connected()
        if req.https:
            s.phase = "tls"
            sock, s.tls_s = net.tls_handshake(sock, req.host, context=tls_ctx, timeout=left())
        s.phase = "http"
        waiting_for_first_byte()
        http_timeout = left()
        t_http = time.monotonic()
        resp = net.http_exchange(sock, req.host_header, req.target, method=req.method,
                                 timeout=http_timeout)
        if time.monotonic() - t_http >= http_timeout:
            # payprobe.net's hard deadline shut the socket mid-answer; http.client
            # reads that EOF as the end of a (truncated) status line or headers,
            # so a slowloris "HTTP/1.1 200 O" would otherwise pass as a 200.
            raise TimeoutError(f"no complete answer within {http_timeout:.2f} s")
        s.ttfb_s, s.http_status = resp.ttfb_s, resp.status
        s.phase = None
    except CheckCancelled:
        s.failure, s.phase = fc.GENERIC_TIMEOUT, "deadline"
    except Exception as exc:  # noqa: BLE001 - every failure is a lost sample, classified
        s.failure = fc.classify(exc)
        if isinstance(exc, net.StallError):
            s.stalled, s.unacked = True, exc.unacked
    finally:
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
    return s
