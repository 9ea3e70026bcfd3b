"""The dns check's direct queries: every configured resolver, asked in the background.

A resolver that never answers (port 53 blocked, a dead DoH server) used to make
every query to it wait out its own timeout, several rounds of them once the
queries outnumbered the workers: 9.2 s of a run with the default resolvers
unreachable. So a resolver is given up once per run, not once per query:

1. each resolver is first sent its probe queries (A and AAAA of the first
   name, in parallel; two, so that one lost datagram or a server that drops
   AAAA does not condemn it);
2. if every probe timed out with nothing at all coming back, the resolver is
   silent for the rest of the run: its other queries are not sent, and are
   recorded with the probes' failure and ``skipped = "resolver_silent"``;
3. otherwise (an answer, NXDOMAIN, SERVFAIL, a refused connection, a TLS
   error: anything came back) its other queries are sent, in parallel.

Resolvers go through these steps independently, so a silent one delays no
other, and the whole costs one query timeout however many names there are.
The price is one round trip: a resolver's other queries wait for its probes.

Results are kept as each query ends, so what finished before the check's
deadline is reported even when the rest is cut off.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from payprobe.api import CheckCancelled, CheckContext, parallel
from payprobe.checks._dns_transport import (
    QueryResult,
    Server,
    or_cancelled,
    query_resolver,
    server_of,
)
from payprobe.settings import DnsConfig, Resolver

PROBE_QUERIES = 2
# Queries in flight at once, shared among the resolvers (parallel()'s own default).
MAX_IN_FLIGHT = 16
SILENT = "resolver_silent"


@dataclass(frozen=True)
class Job:
    index: int          # in ResolverQueries.jobs, and of its result
    resolver: Resolver
    server: Server
    name: str
    qtype: str


class ResolverQueries:
    """Every (resolver, name, type) query of one run, asked in a background thread."""

    def __init__(self, resolvers: list[Resolver], names: list[str], extra: list[tuple[str, str]],
                 ctx: CheckContext[DnsConfig], cap_s: float) -> None:
        """``names`` are asked for A and AAAA, then the (name, type) pairs in ``extra``."""
        self.ctx = ctx
        self.cap_s = cap_s
        self.not_bootstrapped: list[Resolver] = []
        self.jobs: list[Job] = []
        self.by_resolver: list[list[Job]] = []
        wanted = [(n, t) for n in names for t in ("A", "AAAA")] + extra
        for resolver in resolvers:
            server = server_of(resolver)
            if server is None:
                self.not_bootstrapped.append(resolver)
                continue
            mine = [Job(len(self.jobs) + i, resolver, server, n, t) for i, (n, t) in enumerate(wanted)]
            self.jobs += mine
            self.by_resolver.append(mine)
        self._results: list[QueryResult | None] = [None] * len(self.jobs)
        self._workers = max(PROBE_QUERIES, MAX_IN_FLIGHT // max(1, len(self.by_resolver)))
        self._thread = threading.Thread(target=self._ask_all, daemon=True, name="dns-direct")

    @property
    def resolvers(self) -> list[Resolver]:
        """The resolvers that are queried (those with a server to reach)."""
        return [jobs[0].resolver for jobs in self.by_resolver if jobs]

    def start(self) -> None:
        self._thread.start()

    def results(self) -> list[QueryResult]:
        """Every job's result, waiting at most until the check's deadline.

        A query still unanswered then is a timeout, as an app would have seen it.
        """
        self._thread.join(max(0.0, self.ctx.deadline - time.monotonic()))
        deadline = CheckCancelled("deadline reached")
        return [r if r is not None else or_cancelled(deadline, j.resolver.name, j.name, j.qtype)
                for j, r in zip(self.jobs, list(self._results), strict=True)]

    # -- in the background

    def _ask_all(self) -> None:
        parallel(self._ask_resolver, self.by_resolver, self.ctx)

    def _ask_resolver(self, jobs: list[Job]) -> None:
        probes, rest = jobs[:PROBE_QUERIES], jobs[PROBE_QUERIES:]
        self._ask(probes)
        answered = [self._results[j.index] for j in probes]
        if (all(r is not None and r.silent for r in answered)
                and not self.ctx.cancelled.is_set() and self.ctx.remaining() > 0):
            first = answered[0]
            failure = first.failure if first is not None else None
            for job in rest:
                self._results[job.index] = skipped_silent(job, failure)
            return
        self._ask(rest)

    def _ask(self, jobs: list[Job]) -> None:
        if jobs:
            parallel(self._ask_one, jobs, self.ctx, max_workers=self._workers)

    def _ask_one(self, job: Job) -> None:
        result: Any
        try:
            result = query_resolver(job.resolver, job.server, job.name, job.qtype, self.ctx,
                                    self.cap_s)
        except BaseException as exc:  # noqa: BLE001 - kept as this query's result
            result = exc
        self._results[job.index] = or_cancelled(result, job.resolver.name, job.name, job.qtype)


def skipped_silent(job: Job, failure: str | None) -> QueryResult:
    """A query not sent: its resolver answered none of its probes in this run."""
    return QueryResult(resolver=job.resolver.name, name=job.name, qtype=job.qtype,
                       protocol=job.resolver.protocol or "udp", failure=failure,
                       error=f"not sent: resolver {job.resolver.name} gave no answer to its "
                             "first queries in this run", skipped=SILENT)
