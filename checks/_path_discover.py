"""Discovery: one probe per TTL to each destination, to learn who answers at each hop.

All TTLs of a batch go out at once (as mtr does, not one by one as tracepath
does), so silent hops cost one probe timeout per batch instead of one each.
The first batch covers :data:`FIRST_BATCH` hops, which is most paths; a
second one goes on to ``max_hops`` for the destinations not reached yet. With
tcp, probes whose TTL is past the destination also reach it; they are reset at
once.

Hop 1 is the same router (the family's default gateway) for every destination,
so it is probed once per family: the router's ICMP budget is kept for the
paced rounds that measure loss. Discovery probes measure nothing: they are
not counted as loss.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from payprobe.api import CheckContext
from payprobe.checks._path_config import PathOptions
from payprobe.checks._path_pool import ProbePool
from payprobe.checks._trace import LOCAL_ERROR, REACHED, TIME_EXCEEDED, UNREACHABLE, Answer

FIRST_BATCH = 16


@dataclass(frozen=True)
class Target:
    """One destination address to trace, and the endpoints that resolve to it."""

    family: str               # ipv4 | ipv6
    destination: str
    port: int
    endpoints: tuple[str, ...]


@dataclass
class Route:
    """What discovery learned about the way to one target."""

    target: Target
    answers: dict[int, Answer] = field(default_factory=dict)   # TTL -> the first answer
    reached_ttl: int | None = None
    end_ttl: int | None = None         # a host said "unreachable" there
    local_error: str | None = None     # this device could not send to the target
    probed_to: int = 0
    inherited_first_hop: bool = False

    @property
    def open(self) -> bool:
        return self.reached_ttl is None and self.end_ttl is None and self.local_error is None

    @property
    def last_ttl(self) -> int:
        """The last hop worth probing again: the destination, the end, or the last that answered."""
        if self.reached_ttl is not None:
            return self.reached_ttl
        if self.end_ttl is not None:
            return self.end_ttl
        return max((ttl for ttl in self.answers), default=0)

    def record(self, ttl: int, answer: Answer) -> None:
        if answer.kind == LOCAL_ERROR:
            self.local_error = self.local_error or answer.detail
            return
        self.answers.setdefault(ttl, answer)
        if answer.kind == REACHED:
            self.reached_ttl = min(ttl, self.reached_ttl or ttl)
        elif answer.kind == UNREACHABLE:
            self.end_ttl = min(ttl, self.end_ttl or ttl)


def discover(pool: ProbePool, ctx: CheckContext[Any], targets: Sequence[Target],
             opts: PathOptions) -> list[Route]:
    """Who answers at each hop of each target's path (see the module doc)."""
    routes = [Route(t) for t in targets]
    for low, high in ((1, min(FIRST_BATCH, opts.max_hops)), (FIRST_BATCH + 1, opts.max_hops)):
        if low > high:
            break
        gateways_probed: set[str] = set()
        for index, route in enumerate(routes):
            if not route.open:
                continue
            first = low
            if low == 1 and route.target.family in gateways_probed:
                first, route.inherited_first_hop = 2, True
            gateways_probed.add(route.target.family)
            for ttl in range(first, high + 1):
                _wait_for_room(pool, ctx, routes)
                pool.send((index, ttl), route.target.destination, route.target.port, ttl,
                          opts.probe_timeout_s)
            route.probed_to = high
        _drain(pool, ctx, routes)
    _share_first_hop(routes)
    return routes


def _share_first_hop(routes: list[Route]) -> None:
    first: dict[str, Answer] = {}
    for route in routes:
        answer = route.answers.get(1)
        if not route.inherited_first_hop and answer is not None and answer.kind == TIME_EXCEEDED:
            first.setdefault(route.target.family, route.answers[1])
    for route in routes:
        if route.inherited_first_hop and route.target.family in first and route.local_error is None:
            route.answers.setdefault(1, first[route.target.family])


def _handle(routes: list[Route], ended: list[tuple[object, Answer | None]]) -> None:
    for key, answer in ended:
        index, ttl = cast(tuple[int, int], key)
        if answer is not None:
            routes[index].record(ttl, answer)


def _wait_for_room(pool: ProbePool, ctx: CheckContext[Any], routes: list[Route]) -> None:
    while pool.full:
        _handle(routes, pool.collect(ctx.timeout(0.05)))


def _drain(pool: ProbePool, ctx: CheckContext[Any], routes: list[Route]) -> None:
    while len(pool):
        expiry = pool.next_expiry()
        wait_s = 0.05 if expiry is None else max(0.001, expiry - time.perf_counter())
        _handle(routes, pool.collect(ctx.timeout(wait_s)))
    _handle(routes, pool.collect(0.0))
