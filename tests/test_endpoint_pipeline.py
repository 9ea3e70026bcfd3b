"""The endpoints check's overlapped samples (payprobe.checks._endpoint_pipeline)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from payprobe.checks._endpoint_pipeline import Pipeline, connected, waiting_for_first_byte
from payprobe.checks._endpoint_samples import Sample

WAIT_S = 5.0   # a safety net only: every wait below is released by an event


class Recorder:
    """A fake sample: counts samples in flight and lets a test hold them."""

    def __init__(self, *, reach_first_byte: bool = True) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.started = 0
        self.reach_first_byte = reach_first_byte
        self.second_started = threading.Event()

    def take(self, budget_s: float) -> Sample:
        with self.lock:
            self.started += 1
            index = self.started
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if index == 2:
            self.second_started.set()
        if self.reach_first_byte:
            waiting_for_first_byte()
        if index == 1:
            # The first sample waits for its answer until the second one has begun
            # (or, where the second must not begin, until the safety net).
            self.second_started.wait(WAIT_S if self.reach_first_byte else 0.2)
        with self.lock:
            self.in_flight -= 1
        return Sample(http_status=200 + index)


class Numbering:
    """Numbers the samples as they start (1, 2, ...), counts how many are in flight,
    and has an event per number, set when that sample starts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self._events: dict[int, threading.Event] = {}

    def event(self, n: int) -> threading.Event:
        """Set once sample ``n`` has started."""
        with self.lock:
            return self._events.setdefault(n, threading.Event())

    def start(self) -> int:
        with self.lock:
            self.started += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            n = self.started
        self.event(n).set()
        return n

    def end(self) -> None:
        with self.lock:
            self.in_flight -= 1


def collect(pipe: Pipeline, budget: Callable[[int], float | None] = lambda left: 1.0) -> list[Sample]:
    out: list[Sample] = []
    while (sample := pipe.next(budget)) is not None:
        out.append(sample)
    return out


def test_pipeline_when_samples_reach_their_first_byte_overlaps_two_and_keeps_their_order():
    rec = Recorder()
    samples = collect(Pipeline(rec.take, 5, fail_s=60.0))
    assert rec.second_started.is_set() and rec.most_in_flight == 2
    assert [s.http_status for s in samples] == [201, 202, 203, 204, 205]


def test_pipeline_when_a_sample_never_reaches_its_first_byte_holds_the_next_back():
    # A connect that times out or a handshake that stalls: one sample at a time, as before.
    rec = Recorder(reach_first_byte=False)
    samples = collect(Pipeline(rec.take, 3, fail_s=60.0))
    assert rec.most_in_flight == 1 and len(samples) == 3


def test_pipeline_once_a_handshake_got_through_starts_the_next_at_the_connect():
    # Sample 1 gets through; sample 2 then only connects and waits for sample 3 to begin
    # before its handshake ends: sample 3 must start on sample 2's connect alone.
    numbering = Numbering()
    third_started = numbering.event(3)
    order: list[str] = []

    def take(budget_s: float) -> Sample:
        i = numbering.start()
        connected()
        if i == 2:
            order.append("2 connected")
            order.append("3 started" if third_started.wait(WAIT_S) else "3 held back")
        waiting_for_first_byte()
        return Sample(http_status=200 + i)

    samples = collect(Pipeline(take, 4, fail_s=60.0))
    assert order == ["2 connected", "3 started"]
    assert [s.http_status for s in samples] == [201, 202, 203, 204]


def test_pipeline_overlaps_three_the_oldest_waiting_the_next_in_its_handshake_the_newest_connecting():
    # Sample 1 waits for its first byte until sample 3 has begun; sample 2 has connected
    # and stays in its handshake until then too: three in flight, never more.
    numbering = Numbering()
    third_started = numbering.event(3)

    def take(budget_s: float) -> Sample:
        i = numbering.start()
        connected()
        if i == 2:
            third_started.wait(WAIT_S)       # still in its handshake
        waiting_for_first_byte()
        if i == 1:
            third_started.wait(WAIT_S)       # waiting for its first byte
        numbering.end()
        return Sample(http_status=200 + i)

    samples = collect(Pipeline(take, 5, fail_s=60.0))
    assert third_started.is_set() and numbering.most_in_flight == 3
    assert [s.http_status for s in samples] == [201, 202, 203, 204, 205]


def test_pipeline_with_a_handshake_under_way_starts_no_second_one_behind_it():
    # Sample 2 is in its handshake (connected, not yet waiting); sample 3 has connected:
    # a fourth must wait until sample 2 is through (at most one handshake under way).
    release = threading.Event()
    numbering = Numbering()
    fourth_started = numbering.event(4)
    seen: list[bool] = []

    def take(budget_s: float) -> Sample:
        i = numbering.start()
        connected()
        if i == 2:
            release.wait(WAIT_S)
        if i == 3:
            seen.append(fourth_started.wait(0.2))
            release.set()
        waiting_for_first_byte()
        return Sample(http_status=200 + i)

    samples = collect(Pipeline(take, 4, fail_s=60.0))
    assert seen == [False] and len(samples) == 4


def test_pipeline_before_any_handshake_got_through_a_connect_holds_the_next_back():
    # A server that accepts and never answers: the first sample connects and stalls in
    # its handshake; the second must not start before the first is over.
    numbering = Numbering()
    second_started = numbering.event(2)
    overlapped: list[bool] = []

    def take(budget_s: float) -> Sample:
        i = numbering.start()
        connected()
        if i == 1:
            overlapped.append(second_started.wait(0.2))
        return Sample(failure="timeout", phase="tls", stalled=True)

    samples = collect(Pipeline(take, 2, fail_s=60.0))
    assert overlapped == [False] and len(samples) == 2


def test_pipeline_when_a_sample_has_run_past_fail_ms_holds_the_next_back():
    rec = Recorder()
    rec.second_started.set()   # nothing to wait for: the first must not overlap anyway
    samples = collect(Pipeline(rec.take, 3, fail_s=-1.0))
    assert rec.most_in_flight == 1 and len(samples) == 3


def test_pipeline_when_the_deadline_leaves_no_budget_starts_no_more():
    rec = Recorder(reach_first_byte=False)
    budgets = iter([1.0, 1.0, None])
    samples = collect(Pipeline(rec.take, 5, fail_s=60.0), lambda left: next(budgets))
    assert rec.started == 2 and len(samples) == 2


def test_pipeline_drain_when_sampling_stops_returns_the_sample_under_way():
    rec = Recorder()
    pipe = Pipeline(rec.take, 5, fail_s=60.0)
    first = pipe.next(lambda left: 1.0)
    rest = pipe.drain()
    assert first is not None and first.http_status == 201
    assert [s.http_status for s in rest] == [202] and rec.started == 2


def test_pipeline_when_a_sample_raises_it_is_one_lost_sample():
    def broken(budget_s: float) -> Sample:
        raise ValueError("bug")

    (sample,) = collect(Pipeline(broken, 1, fail_s=60.0))
    assert sample.failure is not None and not sample.ok
