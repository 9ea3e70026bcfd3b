"""path (opt-in): where between this device and each payment endpoint packets are lost.

A traceroute without root, as iputils' tracepath does it on Linux and Android:
probes with increasing TTL, the routers' ICMP "time exceeded" read from the
socket's error queue (IP_RECVERR / IPV6_RECVERR). Then N paced probes per hop,
and a judgement of where loss starts *and persists to the destination*, so a
router that merely rate-limits its answers is not blamed (mtr's classic
misreading). The first lossy hop is classified as the local network (hop 1),
the ISP, or the provider's edge: finding ``path.loss_at_hop``.

Steps: 1. the endpoints' addresses (IPv4 and IPv6); 2. discovery, one probe per
TTL; 3. the paced rounds; 4. the judgement per path.

It costs seconds (routers answer about one probe per second once their burst
is spent), far over the 0.6 s a healthy run may take, so it is opt-in, like
the bandwidth test.

======================  ==================================================
``path``                the check: targets, steps, outcome
``_trace``              one probe: sockets, the error queue, sock_extended_err
``_path_pool``          probes in flight, polled together
``_path_discover``      discovery: who answers at each hop
``_path_rounds``        the paced rounds, routers' ICMP budgets
``_path_judge``         where loss starts and persists; segments
``_path_report``        evidence, findings, metrics
``_path_config``        the options
======================  ==================================================
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import time
from typing import Any, ClassVar
from urllib.parse import urlsplit

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext, Outcome, parallel
from payprobe.checks._path_config import PathOptions, read_options
from payprobe.checks._path_discover import Route, Target, discover
from payprobe.checks._path_judge import judge
from payprobe.checks._path_pool import ProbePool
from payprobe.checks._path_report import loss_findings, route_evidence, route_metrics
from payprobe.checks._path_rounds import build_nodes, hop_table, run_rounds

RESOLVE_CAP_S = 3.0
_FAMILIES = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}


def _supported() -> bool:
    # IP_RECVERR is Linux's (Android included: sys.platform is "android" from Python 3.13).
    return sys.platform.startswith("linux") or sys.platform == "android"


def _ping_sockets_refused(families: tuple[str, ...]) -> str | None:
    for family in families:
        proto = socket.IPPROTO_ICMP if family == "ipv4" else socket.IPPROTO_ICMPV6
        try:
            socket.socket(_FAMILIES[family], socket.SOCK_DGRAM, proto).close()
        except OSError as exc:
            return (f"ICMP ping sockets are not allowed here ({exc.strerror or exc}; "
                    "net.ipv4.ping_group_range): use path.method = \"tcp\"")
    return None


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url if "//" in url else f"//{url}")
    return parts.hostname or "", parts.port or default_port


def _addresses(ctx: CheckContext[Any], host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        return net.resolve(host, port, timeout=ctx.timeout(RESOLVE_CAP_S))


def targets_for(ctx: CheckContext[Any], opts: PathOptions) -> tuple[list[Target], list[dict[str, Any]]]:
    """One target per (family, address), naming every endpoint that resolves to it."""
    wanted = [(ep.name, *_host_port(ep.url, opts.port)) for ep in ctx.settings.endpoints]
    answers = parallel(lambda item: _addresses(ctx, item[1], item[2]), wanted, ctx)
    merged: dict[tuple[str, str, int], list[str]] = {}
    problems: list[dict[str, Any]] = []
    for (name, host, port), found in zip(wanted, answers, strict=True):
        if isinstance(found, CheckCancelled):
            raise found
        if isinstance(found, BaseException) or not host:
            problems.append({"what": "path_unresolved", "endpoint": name,
                             "failure": fc.classify(found) if isinstance(found, BaseException)
                             else fc.UNKNOWN_FAILURE})
            continue
        for family in opts.families:
            pick = next((a for a in found if (":" in a) == (family == "ipv6")), None)
            if pick is not None:
                merged.setdefault((family, str(ipaddress.ip_address(pick)), port), []).append(name)
    targets = [Target(f, a, p, tuple(names)) for (f, a, p), names in merged.items()]
    return targets, problems


class PathCheck:
    name: ClassVar[str] = "path"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ("where on the way to each payment endpoint packets are lost: "
                                  "Wi-Fi, ISP or provider (traceroute, opt-in: takes seconds)")
    timeout_s: ClassVar[float] = 15.0
    needs_network: ClassVar[bool] = True
    # Not run by default (see the module doc); the registry's OPT_IN set is what enforces it.
    opt_in: ClassVar[bool] = True

    def run(self, ctx: CheckContext[Any]) -> Outcome:
        if not _supported():
            return Outcome.skipped(f"path tracing needs Linux or Android (IP_RECVERR), not {sys.platform}")
        try:
            opts = read_options(ctx.config)
        except ValueError as exc:
            return Outcome(status="error", summary=str(exc), error=fc.UNKNOWN_FAILURE)
        if opts.method == "icmp":
            refused = _ping_sockets_refused(opts.families)
            if refused:
                return Outcome.skipped(refused)
        if not ctx.settings.endpoints:
            return Outcome.skipped("no [[endpoints]] are configured: nothing to trace")
        targets, problems = targets_for(ctx, opts)
        if not targets:
            return Outcome.skipped("no endpoint address could be resolved: nothing to trace",
                                   evidence=problems)
        return self._trace(ctx, opts, targets, problems)

    def _trace(self, ctx: CheckContext[Any], opts: PathOptions, targets: list[Target],
               problems: list[dict[str, Any]]) -> Outcome:
        """2. discovery, 3. the paced rounds, 4. the judgement of each path."""
        t0 = time.perf_counter()
        pool = ProbePool(opts.method)
        try:
            routes = discover(pool, ctx, targets, opts)
            discovery_s = time.perf_counter() - t0
            nodes, tables = build_nodes(routes, opts)
            window_s = run_rounds(pool, ctx, routes, nodes, opts)
        finally:
            pool.close()
        if window_s <= 0:
            return Outcome.skipped("no time was left for the paced probes that measure loss per hop "
                                   f"(discovery took {discovery_s:.1f} s of the deadline)",
                                   evidence=list(problems))
        out = Outcome(evidence=list(problems))
        onsets = []
        for route, table in zip(routes, tables, strict=True):
            hops = hop_table(route, table)
            judgement = judge(hops, opts.min_loss_ratio)
            out.evidence.append(route_evidence(route, hops, judgement, opts.method))
            out.metrics += route_metrics(route, hops)
            if judgement.onset is not None:
                out.findings += loss_findings(route, judgement.onset)
                onsets.append((route, judgement.onset))
        out.evidence.append({"what": "path_timing", "targets": len(targets), "probes": opts.probes,
                             "discovery_s": round(discovery_s, 3), "window_s": round(window_s, 3),
                             "total_s": round(time.perf_counter() - t0, 3)})
        out.summary = _summary(routes, onsets)
        return out


def _summary(routes: list[Route], onsets: list[tuple[Route, Any]]) -> str:
    reached = sum(1 for r in routes if r.reached_ttl is not None)
    head = f"traced {len(routes)} path(s), {reached} reached the endpoint"
    if not onsets:
        return head + "; no loss that persists to an endpoint"
    route, onset = onsets[0]
    more = f" (and {len(onsets) - 1} more path(s))" if len(onsets) > 1 else ""
    return (f"{head}; loss starts at hop {onset.hop} ({onset.segment}) on the way to "
            f"{route.target.endpoints[0]}{more}")
