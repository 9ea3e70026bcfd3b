"""bandwidth: the responsiveness probes, made beside the load.

=================  ====================================================
``find_targets``   every endpoint resolved and connected to once, before
                   the load; the nearest few that answered are probed
``probe_once``     one foreign probe: a TCP connect, and on some a TLS
                   handshake, each on its own deadline
``Sampler``        starts a probe every ``interval_s`` while a phase
                   (idle, download, upload) runs; probes overlap, so a
                   slow one does not delay the next
=================  ====================================================

The nearest endpoints, because the added latency a queue causes is the same on
every path through it, while a far endpoint adds distance and its own spread
(the draft asks for a nearby server for the same reason). The same few targets
in the same rotation idle and loaded, so the two figures compare like with like.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext, parallel
from payprobe.checks._responsiveness import IDLE, LOADED_PHASES, Judgement, Probe, judge, summarise
from payprobe.settings import Endpoint

# One probe every 250 ms: 4 a second, far under the draft's MPS (100 a second).
INTERVAL_S = 0.25
# A TLS handshake moves about 5000 bytes (the draft's estimate for a foreign
# probe), a TCP handshake a few hundred: with TLS on one round in four (one
# handshake a second) the probes take about 55 kbit/s, under 3 % of a 2 Mbit/s
# link, inside the draft's PTC (5 % of capacity).
TLS_EVERY_ROUNDS = 4
# A handshake still unanswered after this counts as taking at least this long.
PROBE_CAP_S = 3.0
RESOLVE_CAP_S = 2.0
SWEEP_CAP_S = 1.5
MAX_TARGETS = 3
# Probes in flight at once; on a bloated link they take seconds each, and more
# would only add to the queue they measure.
MAX_IN_FLIGHT = 8
# The idle figure is measured this long before the load starts (five probes).
IDLE_S = 1.2
# Probes stop this long before the check's deadline.
MARGIN_S = 0.3
# With less time than this left for the whole test, its time goes to the throughput.
MIN_LEFT_S = 4.0
# After the load, probes still in flight get this long; later ones are counted as unfinished.
FINISH_WAIT_S = 1.0


@dataclass(frozen=True)
class Target:
    name: str          # the endpoint's name, as configured (labels and evidence use it)
    host: str          # for SNI
    address: str
    port: int
    https: bool


def _sweep_one(ctx: CheckContext[Any], ep: Endpoint) -> tuple[Target, float]:
    """(target, connect_s): the endpoint's first address (of each family) that connects."""
    parts = urlsplit(ep.url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    addresses = net.interleave_families(net.resolve(host, port, timeout=ctx.timeout(RESOLVE_CAP_S)))
    error: BaseException | None = None
    for address in addresses[:2]:
        try:
            sock, connect_s = net.connect(address, port, timeout=ctx.timeout(SWEEP_CAP_S))
        except OSError as exc:
            error = exc
            continue
        sock.close()
        return Target(ep.name, host, address, port, https), connect_s
    raise error or OSError("no address")


def find_targets(ctx: CheckContext[Any], endpoints: list[Endpoint]) -> tuple[list[Target], list[dict[str, Any]]]:
    """(the nearest MAX_TARGETS endpoints that answered, the others with why not)."""
    results = parallel(lambda ep: _sweep_one(ctx, ep), endpoints, ctx)
    answered = sorted(((r[1], i) for i, r in enumerate(results) if isinstance(r, tuple)))
    targets = [results[i][0] for _, i in answered[:MAX_TARGETS]]
    failed = [{"endpoint": ep.name, "failure": fc.classify(r)}
              for ep, r in zip(endpoints, results, strict=True) if isinstance(r, BaseException)]
    return targets, failed


def _round_trips(version: str | None) -> int:
    """Round trips of a full handshake: TLS 1.3 one, older versions two."""
    return 1 if version == "TLSv1.3" else 2


def probe_once(ctx: CheckContext[Any], target: Target, phase: str, with_tls: bool,
               tls: ssl.SSLContext) -> Probe:
    """A TCP connect to the target, then (``with_tls``) a TLS handshake, then close.

    A handshake that waits its whole PROBE_CAP_S is a sample of at least that
    long; one cut short by the check's deadline is no sample at all.
    """
    timeout = ctx.timeout(PROBE_CAP_S)
    full = timeout >= PROBE_CAP_S
    t0 = time.perf_counter()
    try:
        sock, connect_s = net.connect(target.address, target.port, timeout=timeout)
    except TimeoutError:
        if full:
            return Probe(phase, target.name, tcp_s=time.perf_counter() - t0,
                         failure=fc.GENERIC_TIMEOUT, timed_out=True)
        return Probe(phase, target.name, failure=fc.GENERIC_TIMEOUT)
    except OSError as exc:
        return Probe(phase, target.name, failure=fc.classify(exc))
    with sock:
        if not with_tls:
            return Probe(phase, target.name, tcp_s=connect_s)
        timeout = ctx.timeout(PROBE_CAP_S)
        full = timeout >= PROBE_CAP_S
        t1 = time.perf_counter()
        try:
            # A peer that dribbles its handshake out is cut off at the cap all the same.
            with net.hard_deadline(sock, timeout):
                wrapped, handshake_s = net.tls_handshake(sock, target.host, context=tls, timeout=timeout)
        except TimeoutError:
            # The version is unknown: per round trip it took at least the wait over the most
            # round trips a handshake may need.
            per_round_trip_s = (time.perf_counter() - t1) / _round_trips(None)
            return Probe(phase, target.name, tcp_s=connect_s, tls_rtt_s=per_round_trip_s if full else None,
                         failure=fc.GENERIC_TIMEOUT, timed_out=full)
        except OSError as exc:
            return Probe(phase, target.name, tcp_s=connect_s, failure=fc.classify(exc))
        with wrapped:
            return Probe(phase, target.name, tcp_s=connect_s,
                         tls_rtt_s=handshake_s / _round_trips(wrapped.version()))


ProbeFn = Callable[[CheckContext[Any], Target, str, bool, ssl.SSLContext], Probe]


class Sampler:
    """Probes the targets in rotation, one every ``interval_s``, while a phase runs.

    Each probe runs in its own daemon thread and is counted in the phase it
    started in. Every ``tls_every``-th round (one probe to each target) adds
    TLS handshakes to the https targets.
    """

    def __init__(self, ctx: CheckContext[Any], targets: list[Target], *, probe: ProbeFn = probe_once,
                 interval_s: float = INTERVAL_S, tls_every: int = TLS_EVERY_ROUNDS) -> None:
        self.ctx = ctx
        self.targets = list(targets)
        self.probe = probe
        self.interval_s = interval_s
        self.tls_every = max(1, tls_every)
        # The handshake is timed, not trusted: nothing is sent over it, and the
        # tls check is the one that judges certificates.
        self.tls = net.tls_context(verify=False)
        self._cond = threading.Condition()
        self._probes: list[Probe] = []
        self._in_flight = 0
        self._started = 0

    def _live(self) -> bool:
        return not self.ctx.cancelled.is_set() and self.ctx.remaining() > MARGIN_S

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Probe for as long as the ``with`` block runs."""
        stop = threading.Event()
        scheduler = threading.Thread(target=self._schedule, args=(name, stop), daemon=True,
                                     name=f"responsiveness-{name}")
        if self.targets:
            scheduler.start()
        try:
            yield
        finally:
            stop.set()
            if scheduler.is_alive():
                scheduler.join(self.interval_s + 1.0)

    def _schedule(self, phase: str, stop: threading.Event) -> None:
        while not stop.is_set() and self._live():
            with self._cond:
                n = self._started if self._in_flight < MAX_IN_FLIGHT else None
                if n is not None:
                    self._started += 1
                    self._in_flight += 1
            if n is not None:
                target, with_tls = self.pick(n)
                threading.Thread(target=self._one, args=(phase, target, with_tls), daemon=True,
                                 name="responsiveness-probe").start()
            stop.wait(self.interval_s)

    def pick(self, n: int) -> tuple[Target, bool]:
        """The ``n``-th probe's target and whether it adds a TLS handshake: the targets in
        rotation, every ``tls_every``-th round (one probe to each) with TLS on https ones."""
        target = self.targets[n % len(self.targets)]
        return target, target.https and (n // len(self.targets)) % self.tls_every == 0

    def _one(self, phase: str, target: Target, with_tls: bool) -> None:
        result: Probe | None = None
        try:
            result = self.probe(self.ctx, target, phase, with_tls, self.tls)
        except CheckCancelled:
            pass
        except Exception as exc:  # noqa: BLE001 - a probe's failure is a data point, not a crash
            result = Probe(phase, target.name, failure=fc.classify(exc))
        finally:
            with self._cond:
                if result is not None:
                    self._probes.append(result)
                self._in_flight -= 1
                self._cond.notify_all()

    def measure_idle(self, seconds: float = IDLE_S) -> None:
        """The idle phase: probe for ``seconds``, then let those probes finish before the load."""
        with self.phase("idle"):
            self.ctx.cancelled.wait(max(0.0, min(seconds, self.ctx.remaining() - MARGIN_S)))
        self.drain(PROBE_CAP_S)

    def drain(self, wait_s: float) -> int:
        """Wait up to ``wait_s`` (within the deadline) for the probes in flight; how many still are."""
        end = time.monotonic() + max(0.0, min(wait_s, self.ctx.remaining() - MARGIN_S))
        with self._cond:
            while self._in_flight and (left := end - time.monotonic()) > 0:
                self._cond.wait(left)
            return self._in_flight

    def probes(self) -> list[Probe]:
        with self._cond:
            return list(self._probes)

    @property
    def started(self) -> int:
        with self._cond:
            return self._started


class Responsiveness:
    """The bandwidth check's responsiveness measurement, in the order it runs:
    ``before_load()`` (targets, idle figure), ``during(phase)`` around each
    loaded phase, ``judge(loaded)`` at the end."""

    def __init__(self, ctx: CheckContext[Any], *, threshold_ms: float) -> None:
        self.ctx = ctx
        self.threshold_ms = threshold_ms
        self.sampler: Sampler | None = None
        self.unreachable: list[dict[str, Any]] = []

    def before_load(self, endpoints: list[Endpoint]) -> None:
        if not endpoints or self.ctx.remaining() < MIN_LEFT_S:
            return
        targets, self.unreachable = find_targets(self.ctx, endpoints)
        if targets:
            self.sampler = Sampler(self.ctx, targets)
            self.sampler.measure_idle()

    @contextmanager
    def during(self, phase: str) -> Iterator[None]:
        if self.sampler is None:
            yield
            return
        with self.sampler.phase(phase):
            yield

    def judge(self, loaded: dict[str, bool]) -> Judgement:
        """The figures of every phase; ``loaded`` says which phases moved data."""
        evidence: dict[str, Any] = {"what": "responsiveness", "method": "tcp_connect+tls_handshake",
                                    "unreachable": self.unreachable}
        if self.sampler is None:
            reason = ("no endpoint answered a TCP connect before the load" if self.unreachable
                      else "no endpoints are configured" if not self.ctx.settings.endpoints
                      else "too little time was left")
            return Judgement([], [], {**evidence, "measured": False, "reason": reason})
        unfinished = self.sampler.drain(FINISH_WAIT_S)
        probes = self.sampler.probes()
        evidence.update(targets=[t.name for t in self.sampler.targets], interval_s=self.sampler.interval_s,
                        tls_every_rounds=self.sampler.tls_every, unfinished=unfinished)
        figures = [summarise(phase, probes, loaded=loaded.get(phase, False)) for phase in LOADED_PHASES]
        return judge(summarise(IDLE, probes), figures, threshold_ms=self.threshold_ms, evidence=evidence)
