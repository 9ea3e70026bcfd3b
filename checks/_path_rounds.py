"""The paced rounds: N probes to every hop, spread over a window, within routers' ICMP budgets.

After discovery each hop is a *node*: (family, TTL, the router that answered).
Paths to different destinations share their first hops (the Wi-Fi router, the
ISP's access routers); a shared node is probed once per round for all of them,
not once per destination, so that router's ICMP budget is not spent N times
over. A hop that stayed silent in discovery joins the node its neighbours
found at that TTL after the same router, when there is one: it was most likely
that router, out of tokens.

Each router is given a client-side token bucket (``router_burst`` tokens,
``router_per_s`` per second; Linux answers 6 at once, then 1 per second) and is
never sent a probe the bucket has no token for. A node's probes are spread
evenly over the window; a node that could not get all of them sent in time has
fewer probes, never more loss. The destination's answers (SYN-ACK, echo reply)
are not ICMP errors, so it needs no bucket and gets twice the probes: it is
what decides whether the path loses packets at all.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, cast

from payprobe.api import CheckContext
from payprobe.checks._path_config import PathOptions
from payprobe.checks._path_discover import Route
from payprobe.checks._path_judge import HopStats
from payprobe.checks._path_pool import ProbePool
from payprobe.checks._trace import LOCAL_ERROR, REACHED, Answer

# Probing stops this long before the check's deadline, so the outcome can still be built.
RESERVE_S = 0.3
# Never spin: the shortest wait between two looks at the schedule.
MIN_WAIT_S = 0.005


@dataclass
class Node:
    ttl: int
    route_index: int          # the route whose destination the probes are sent to
    responder: str | None
    destination: bool
    want: int
    bucket: Hashable | None
    results: list[bool | None] = field(default_factory=list)   # None: could not be sent
    rtts_s: list[float] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)
    reached: int = 0          # answers from the destination itself
    next_at: float = 0.0

    def stats(self) -> HopStats:
        address = self.responder or (self.seen.most_common(1)[0][0] if self.seen else None)
        return HopStats(self.ttl, address, [r for r in self.results if r is not None],
                        list(self.rtts_s), sorted(self.seen), self.destination)


class Buckets:
    """Client-side models of routers' ICMP rate limiters."""

    def __init__(self, burst: int, per_s: float, now: float) -> None:
        self.burst, self.per_s, self.start = float(burst), per_s, now
        self._tokens: dict[Hashable, tuple[float, float]] = {}

    def spend(self, key: Hashable, count: int, now: float) -> None:
        tokens, _ = self._tokens.get(key, (self.burst, now))
        self._tokens[key] = (tokens - count, now)

    def take(self, key: Hashable | None, now: float) -> bool:
        if key is None:
            return True
        tokens, then = self._tokens.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.per_s)
        if tokens < 1.0:
            self._tokens[key] = (tokens, now)
            return False
        self._tokens[key] = (tokens - 1.0, now)
        return True


def build_nodes(routes: list[Route], opts: PathOptions) -> tuple[list[Node], list[dict[int, Node]]]:
    """The nodes to probe, and for each route its TTL -> node table."""
    after = _responders_after(routes)
    nodes: dict[Hashable, Node] = {}
    tables: list[dict[int, Node]] = []
    for index, route in enumerate(routes):
        table: dict[int, Node] = {}
        previous: str | None = None
        for ttl in range(1, route.last_ttl + 1) if route.local_error is None else ():
            key, node = _node_for(route, index, ttl, after.get((route.target.family, ttl, previous)), opts)
            table[ttl] = nodes.setdefault(key, node)
            previous = node.responder
        tables.append(table)
    return list(nodes.values()), tables


def _responder(route: Route, ttl: int) -> str | None:
    answer = route.answers.get(ttl)
    return answer.responder if answer is not None and answer.kind != REACHED else None


def _responders_after(routes: list[Route]) -> dict[tuple[str, int, str | None], str]:
    """(family, TTL, router at TTL-1) -> the router that answered at TTL."""
    found: dict[tuple[str, int, str | None], str] = {}
    for route in routes:
        for ttl in route.answers:
            here = _responder(route, ttl)
            if here is not None:
                found.setdefault((route.target.family, ttl, _responder(route, ttl - 1)), here)
    return found


def _node_for(route: Route, index: int, ttl: int, predicted: str | None,
              opts: PathOptions) -> tuple[Hashable, Node]:
    """The node of one hop; a hop silent in discovery takes the router its neighbours found there."""
    family, dest = route.target.family, route.target.destination
    if ttl == route.reached_ttl:
        # The destination's own answer is an ICMP error (rate-limited) only with udp.
        bucket = (family, dest) if opts.method == "udp" else None
        want = opts.probes if opts.method == "udp" else 2 * opts.probes
        return ("dest", family, dest), Node(ttl, index, dest, True, want, bucket)
    responder = _responder(route, ttl) or predicted
    if responder is None:
        return ("silent", index, ttl), Node(ttl, index, None, False, opts.probes, None)
    return (family, ttl, responder), Node(ttl, index, responder, False, opts.probes, (family, responder))


def run_rounds(pool: ProbePool, ctx: CheckContext[Any], routes: list[Route], nodes: list[Node],
               opts: PathOptions) -> float:
    """Send every node its probes, paced; returns the window used (seconds)."""
    start = time.perf_counter()
    window_s = max(0.0, min(opts.window_s, ctx.remaining() - opts.probe_timeout_s - RESERVE_S))
    buckets = Buckets(opts.router_burst, opts.router_per_s, start)
    # What discovery already cost each router (a first hop shared by inheritance cost nothing).
    spent = Counter((r.target.family, a.responder) for r in routes for ttl, a in r.answers.items()
                    if a.responder and a.kind != REACHED and not (ttl == 1 and r.inherited_first_hop))
    for key, count in spent.items():
        buckets.spend(key, count, start)
    for node in nodes:
        node.next_at = start
    end = start + window_s
    while True:
        now = time.perf_counter()
        if now <= end:
            _send_due(pool, routes, nodes, buckets, now, (window_s, opts.probe_timeout_s))
        pending = [n.next_at for n in nodes if now <= end and _sent(n) < n.want]
        if not pending and not len(pool):
            break
        expiry = pool.next_expiry()
        wake = min(pending + ([expiry] if expiry is not None else []), default=now)
        _record(nodes, pool.collect(ctx.timeout(max(MIN_WAIT_S, wake - time.perf_counter()))))
    return window_s


def _sent(node: Node) -> int:
    return len(node.results)


def _send_due(pool: ProbePool, routes: list[Route], nodes: list[Node], buckets: Buckets,
              now: float, timing: tuple[float, float]) -> None:
    window_s, wait_s = timing
    for node_id, node in enumerate(nodes):
        if _sent(node) >= node.want or now < node.next_at or pool.full:
            continue
        if not buckets.take(node.bucket, now):
            node.next_at = now + MIN_WAIT_S * 10
            continue
        probe = len(node.results)
        node.results.append(False)
        target = routes[node.route_index].target
        pool.send((node_id, probe), target.destination, target.port, node.ttl, wait_s)
        node.next_at = now + window_s / node.want


def _record(nodes: list[Node], ended: list[tuple[Hashable, Answer | None]]) -> None:
    for key, answer in ended:
        node_id, probe = cast(tuple[int, int], key)
        node = nodes[node_id]
        if answer is None:
            continue
        if answer.kind == LOCAL_ERROR:
            node.results[probe] = None
            continue
        if node.destination and answer.kind != REACHED:
            continue   # the path changed under the probe: it did not reach the destination
        node.results[probe] = True
        node.reached += answer.kind == REACHED
        node.rtts_s.append(answer.rtt_s)
        if answer.responder:
            node.seen[answer.responder] += 1


def hop_table(route: Route, table: dict[int, Node]) -> list[HopStats]:
    """The route's hops, 1 to the destination, as the rounds measured them.

    Discovery sends one probe per TTL: when the one at the destination's real
    distance was lost, the next TTL "reached" it and the destination looks a
    hop further than it is. The rounds show it (that hop answers as the
    destination), and the two are merged: every probe of either reached, or
    could have reached, the destination.
    """
    hops: list[HopStats] = []
    for ttl in sorted(table):
        node = table[ttl]
        stats = node.stats()
        far = route.reached_ttl
        if (not node.destination and far is not None and ttl < far and node.reached
                and 2 * node.reached >= stats.answered):
            dest = table[far].stats()
            hops.append(HopStats(ttl, dest.address, stats.outcomes + dest.outcomes,
                                 stats.rtts_s + dest.rtts_s, sorted(set(stats.responders + dest.responders)),
                                 True))
            break
        hops.append(stats)
    return hops
