from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from payprobe.api import CheckCancelled, CheckContext, Finding, Metric, Outcome, parallel
from payprobe.engine import config
from payprobe.engine.registry import LoadedCheck
from payprobe.engine.runner import Runner
from payprobe.host import detect

from tests.helpers import make_ctx


def make(name: str, run, *, timeout_s: float = 0.0) -> LoadedCheck:
    cls = type(f"C_{name}", (), {"name": name, "version": "7", "description": name,
                                 "timeout_s": timeout_s, "run": lambda self, ctx: run(ctx)})
    return LoadedCheck(name=name, target=f"test:{name}", cls=cls)


def runner(**kw) -> Runner:
    return Runner(config.load(), detect(), **kw)


def test_checks_run_concurrently_and_in_the_given_order():
    # All eight must be inside run() at once to pass the barrier: run one after
    # another, the first would wait alone and break it (an error result).
    barrier = threading.Barrier(8, timeout=8)
    checks = [make(f"meet{i}", lambda ctx: (barrier.wait(), Outcome())[1]) for i in range(8)]
    result = runner().run(checks, deadline_s=10)
    assert [r.name for r in result.results] == [f"meet{i}" for i in range(8)]
    assert {r.status for r in result.results} == {"ok"}


def test_status_follows_the_worst_finding():
    warn = make("w", lambda ctx: Outcome(findings=[Finding("dns.slow", "warn", "slow")]))
    fail = make("f", lambda ctx: Outcome(findings=[Finding("net.offline", "fail", "x"),
                                                   Finding("dns.slow", "warn", "slow")]))
    info = make("i", lambda ctx: Outcome(findings=[Finding("x.y", "info", "fyi")],
                                         metrics=[Metric("a_seconds", 1.0, "s")]))
    res = {r.name: r for r in runner().run([warn, fail, info], deadline_s=5).results}
    assert (res["w"].status, res["f"].status, res["i"].status) == ("warn", "fail", "ok")
    assert res["i"].metrics[0].name == "a_seconds"


def test_a_blocked_check_is_reported_timeout_and_the_run_ends_on_time():
    block = threading.Event()   # never set: the thread stays blocked after the run

    def stuck(ctx: CheckContext) -> Outcome:
        block.wait()
        return Outcome()

    fast = make("fast", lambda ctx: Outcome(summary="done"))
    # The check never returns: run() returning at all is the deadline at work.
    result = runner().run([make("stuck", stuck), fast], deadline_s=1.0)
    res = {r.name: r for r in result.results}
    assert res["stuck"].status == "timeout"
    assert res["stuck"].error == "generic_timeout"
    assert res["fast"].status == "ok" and res["fast"].summary == "done"
    assert not result.partial


def test_own_timeout_is_capped_by_the_run_deadline_and_vice_versa():
    seen = {}

    def record(ctx: CheckContext) -> Outcome:
        seen[ctx.name] = ctx.remaining()
        return Outcome()

    runner().run([make("short", record, timeout_s=0.5), make("long", record, timeout_s=60)],
                 deadline_s=3.0)
    assert seen["short"] <= 0.5
    assert 2.0 < seen["long"] <= 3.0


def test_ctx_timeout_raises_when_time_is_up():
    def hog(ctx: CheckContext) -> Outcome:
        while True:
            time.sleep(min(0.05, ctx.timeout(0.05)))

    res = runner().run([make("hog", hog)], deadline_s=0.8).results[0]
    assert res.status == "timeout"   # the loop has no way out but ctx.timeout() raising


def test_a_check_that_raises_gives_error_with_a_classified_code():
    def refuse(ctx):
        raise ConnectionRefusedError(111, "Connection refused")

    def bug(ctx):
        raise KeyError("oops")

    res = {r.name: r for r in runner().run([make("refuse", refuse), make("bug", bug)], 5).results}
    assert res["refuse"].status == "error" and res["refuse"].error == "connection_refused"
    assert res["bug"].status == "error" and res["bug"].error == "unknown_failure"
    assert "KeyError" in res["bug"].summary


def test_a_check_returning_garbage_is_an_error_not_a_crash():
    res = runner().run([make("bad", lambda ctx: {"status": "ok"})], 5).results[0]
    assert res.status == "error"
    assert "not an Outcome" in res.summary


def test_bandwidth_runs_alone_after_the_others():
    events: list[tuple[str, str, float]] = []

    def track(name):
        def run(ctx):
            events.append((name, "start", time.monotonic()))
            time.sleep(0.3)
            events.append((name, "end", time.monotonic()))
            return Outcome()
        return run

    checks = [make("bandwidth", track("bandwidth")), make("a", track("a")), make("b", track("b"))]
    result = runner().run(checks, deadline_s=5)
    assert [r.status for r in result.results] == ["ok", "ok", "ok"]
    bw_start = next(t for n, e, t in events if n == "bandwidth" and e == "start")
    others_end = max(t for n, e, t in events if n != "bandwidth" and e == "end")
    assert bw_start >= others_end


def test_shared_blackboard_passes_facts_between_checks():
    def producer(ctx):
        time.sleep(0.2)
        ctx.shared.put("clock.offset_s", -37.5)
        return Outcome()

    def consumer(ctx):
        value = ctx.shared.get("clock.offset_s", timeout=ctx.timeout(2.0))
        return Outcome(metrics=[Metric("seen_seconds", value, "s")])

    res = {r.name: r for r in runner().run([make("p", producer), make("c", consumer)], 5).results}
    assert res["c"].metrics[0].value == -37.5


def test_interrupt_returns_partial_results_of_what_finished():
    def slow(ctx):
        # Only the run's cancellation ends this wait early; otherwise it outlives the deadline.
        ctx.cancelled.wait(60)
        return Outcome()

    def quick(ctx):
        return Outcome(summary="quick")

    # Ctrl-C raises KeyboardInterrupt here however the suite was launched (tests.helpers.sigint_as_default).
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        result = runner().run([make("quick", quick), make("slow", slow)], deadline_s=10)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, before)
    assert result.partial
    res = {r.name: r for r in result.results}
    assert res["quick"].status == "ok"
    assert res["slow"].status == "timeout"


def test_unloadable_plugin_is_an_error_result_and_the_run_goes_on():
    broken = LoadedCheck(name="broken", target="nope:Nope", error="plugin 'broken' failed to import")
    ok = make("fine", lambda ctx: Outcome())
    res = {r.name: r for r in runner().run([broken, ok], 5).results}
    assert res["broken"].status == "error"
    assert res["broken"].error == "plugin_import_error"
    assert "broken" in res["broken"].summary
    assert res["fine"].status == "ok"


def test_parallel_returns_values_exceptions_and_cancelled_items():
    ctx = make_ctx(None, name="t", deadline_s=0.5)

    def work(x):
        if x == 2:
            raise ValueError("two")
        if x == 3:
            time.sleep(5)
        return x * 10

    out = parallel(work, [1, 2, 3], ctx)
    assert out[0] == 10
    assert isinstance(out[1], ValueError)
    assert isinstance(out[2], CheckCancelled)


@pytest.mark.parametrize("n", [50])
def test_many_noop_checks_all_complete(n):
    checks = [make(f"noop{i}", lambda ctx: Outcome()) for i in range(n)]
    result = runner().run(checks, deadline_s=10)
    assert len(result.results) == n
    assert all(r.status == "ok" for r in result.results)


def lazy(name: str, run, order: list[str]) -> LoadedCheck:
    """A check found but not imported yet: its loader notes when the runner imports it."""
    cls = type(f"C_{name}", (), {"name": name, "version": "7", "description": name,
                                 "timeout_s": 0.0, "run": lambda self, ctx: run(ctx)})

    def loader() -> type:
        order.append(name)
        return cls

    return LoadedCheck(name=name, target=f"test:{name}", loader=loader)


def test_runner_imports_each_check_as_it_starts_it_the_slowest_first():
    # START_FIRST (endpoints) is imported and started first, so it waits on the network
    # while the others are imported; the results keep the order the checks were given in.
    imported: list[str] = []
    endpoints_running = threading.Event()

    def endpoints(ctx: CheckContext) -> Outcome:
        endpoints_running.set()
        return Outcome()

    def later(ctx: CheckContext) -> Outcome:
        return Outcome(summary="started after endpoints" if endpoints_running.is_set() else "before")

    checks = [lazy("dns", later, imported), lazy("endpoints", endpoints, imported),
              lazy("clock", later, imported)]
    result = runner().run(checks, deadline_s=10)
    assert imported == ["endpoints", "dns", "clock"]
    assert [r.name for r in result.results] == ["dns", "endpoints", "clock"]
    assert {r.status for r in result.results} == {"ok"}


def test_a_check_that_fails_to_import_when_started_is_an_error_naming_it():
    def boom() -> type:
        raise ImportError("no module named 'gone'")

    broken = LoadedCheck(name="gone", target="gone:Check", loader=boom)
    fine = make("fine", lambda ctx: Outcome())
    res = {r.name: r for r in runner().run([broken, fine], deadline_s=5).results}
    assert res["gone"].status == "error" and "failed to import" in res["gone"].summary
    assert res["fine"].status == "ok"


def test_ctrl_c_while_a_check_is_imported_stops_the_checks_already_started():
    # Importing the second check is interrupted; the first one, already running, must be
    # told to stop, and the run returns what it has (partial).
    stopped = threading.Event()
    running = threading.Event()

    def endpoints(ctx: CheckContext) -> Outcome:
        running.set()
        stopped.set() if ctx.cancelled.wait(5) else None
        return Outcome()

    def interrupted() -> type:
        running.wait(5)
        raise KeyboardInterrupt

    checks = [LoadedCheck(name="dns", target="t:dns", loader=interrupted),
              make("endpoints", endpoints)]
    result = runner().run(checks, deadline_s=10)
    assert result.partial and stopped.wait(5)
    assert {r.name: r.status for r in result.results} == {"dns": "timeout", "endpoints": "timeout"}
