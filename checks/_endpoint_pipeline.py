"""One endpoint's samples, overlapped: the next sample's connect and handshake
while the one before it waits for its first byte (or, once the server has shown
it answers, while it does its handshake).

Why: one after another, a healthy endpoint's 5 samples cost 5 x (connect,
handshake, request) round trips, and the endpoints check was the slowest of a
run (issue 15). Each sample keeps its own connection and its own clocks, so
overlapping them leaves every sample's timing its own (the README's accuracy
table compares them with curl).

What the samples agree on (payprobe.checks._sampling) must stay what it was
when they ran one after another, so the next sample starts only when:

- fewer than three samples are in flight, and every one of them but the
  newest has finished or waits for its first byte (reported by
  :func:`waiting_for_first_byte`): at most one handshake is under way;
- the newest has finished its handshake too, or it has connected
  (:func:`connected`) and an earlier sample of this endpoint got through its
  handshake: a connect that times out ("down") holds the next sample back, and
  so does the first handshake until the server has answered one ("stalled": a
  server that accepts and never speaks stops sampling after one sample, as
  before);
- none of them has run longer than ``latency.fail_ms``: a sample that is about
  to be judged slow holds the next one back (two slow samples stop sampling);
- the samples have not agreed yet (the caller stops asking).

A sample already under way when the samples agree is kept (it was measured).
So a slow endpoint usually has three samples, not two: the third starts on the
second's connect, before the first has been waiting long enough to be slow.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from payprobe import classify as fc
from payprobe.api import CheckCancelled
from payprobe.checks._endpoint_samples import Sample

# A sample's thread tells its flight where it is through this.
_local = threading.local()
# How often a wait for a flight looks again (a flight always ends at its budget).
_POLL_S = 0.5
# Samples of one endpoint in flight at once: the oldest waiting for its first
# byte, the next in its handshake, the newest connecting.
MAX_IN_FLIGHT = 3


def connected() -> None:
    """Called by a sample once its TCP connect is done: the next may start if the
    server has already got a sample through its handshake."""
    flight = getattr(_local, "flight", None)
    if flight is not None:
        flight.mark(waiting=False)


def waiting_for_first_byte() -> None:
    """Called by a sample once its request is about to be sent: the next may start."""
    flight = getattr(_local, "flight", None)
    if flight is not None:
        flight.mark(waiting=True)


class _Flight:
    """One sample running in its own thread."""

    def __init__(self, take: Callable[[float], Sample], budget_s: float, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.cond = pipeline.cond
        self.started = time.monotonic()
        self.connected = False
        self.waiting = False
        self.result: Sample | None = None
        threading.Thread(target=self._run, args=(take, budget_s), daemon=True).start()

    def _run(self, take: Callable[[float], Sample], budget_s: float) -> None:
        _local.flight = self
        try:
            result = take(budget_s)
        except CheckCancelled:
            result = Sample(failure=fc.GENERIC_TIMEOUT, phase="deadline")
        except Exception as exc:  # noqa: BLE001 - a bug in one sample is one lost sample
            result = Sample(failure=fc.classify(exc))
        finally:
            _local.flight = None
        with self.cond:
            self.result = result
            self.cond.notify_all()

    def mark(self, *, waiting: bool) -> None:
        """The sample has connected and, if ``waiting``, got through its handshake too."""
        with self.cond:
            self.connected = True
            if waiting:
                self.waiting = self.pipeline.spoken = True
            self.cond.notify_all()


class Pipeline:
    """Samples of one endpoint, at most MAX_IN_FLIGHT in flight (see the module doc)."""

    def __init__(self, take: Callable[[float], Sample], planned: int, fail_s: float) -> None:
        self.take = take
        self.planned = planned
        self.fail_s = fail_s
        self.started = 0
        self.cond = threading.Condition()
        self.flights: deque[_Flight] = deque()
        self.exhausted = False        # the deadline left no budget for another sample
        # A sample of this endpoint got through its handshake: the server completes them.
        self.spoken = False

    def _may_start(self) -> bool:
        if self.exhausted or self.started >= self.planned:
            return False
        if not self.flights:
            return True
        *older, newest = self.flights
        now = time.monotonic()
        return (len(self.flights) < MAX_IN_FLIGHT and newest.result is None
                and (newest.waiting or (newest.connected and self.spoken))
                and all(f.waiting or f.result is not None for f in older)
                and all(now - f.started <= self.fail_s for f in self.flights if f.result is None))

    def next(self, budget: Callable[[int], float | None]) -> Sample | None:
        """The next sample in order, starting more while allowed; None when no more come.

        ``budget(left)`` is one sample's share of the deadline with ``left`` samples
        still to start, or None when nothing is left."""
        with self.cond:
            while True:
                if self.flights and self.flights[0].result is not None:
                    return self.flights.popleft().result
                if self._may_start():
                    budget_s = budget(self.planned - self.started)
                    if budget_s is None:
                        self.exhausted = True
                    else:
                        self.flights.append(_Flight(self.take, budget_s, self))
                        self.started += 1
                    continue
                if not self.flights:
                    return None
                self.cond.wait(_POLL_S)

    def drain(self) -> list[Sample]:
        """The samples still under way, once they finish (sampling has stopped)."""
        self.exhausted = True
        out: list[Sample] = []
        while True:
            sample = self.next(lambda _left: None)
            if sample is None:
                return out
            out.append(sample)
