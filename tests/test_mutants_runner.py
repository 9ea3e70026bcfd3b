"""The runner, pinned result by result (mutation testing, docs/mutation.md).

What each kind of ending (an outcome, garbage, an exception, the deadline, an
interrupt, a plugin that failed to load) turns into, which budget and soft
deadline a check is given, and what the progress display is told. Interrupts are
raised from the progress callbacks, which run in the runner's own thread, so no
test depends on how fast a signal arrives.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from payprobe.api import CheckCancelled, CheckContext, Finding, Metric, Outcome
from payprobe.engine.registry import LoadedCheck
from payprobe.engine.results import CheckResult
from payprobe.engine.runner import (
    RUN_LAST_DEFAULT_S,
    SOFT_MARGIN_S,
    Interrupted,
    Runner,
    skipped_result,
)


def make(name: str, run: Any, *, timeout_s: float = 0.0, cls_init: Any = None) -> LoadedCheck:
    body: dict[str, Any] = {"name": name, "version": "7", "description": name, "timeout_s": timeout_s,
                            "run": lambda self, ctx: run(ctx)}
    if cls_init is not None:
        body["__init__"] = cls_init
    return LoadedCheck(name=name, target=f"test:{name}", cls=type(f"C_{name}", (), body))


class Sections:
    """Settings whose only part the runner reads: each check's section (timeout_s)."""

    def __init__(self, **timeouts: float) -> None:
        self.timeouts = timeouts

    def section(self, name: str) -> Any:
        return SimpleNamespace(timeout_s=self.timeouts.get(name, 0.0), name=name)


class Recorder:
    """A progress display that remembers what it was told, and may interrupt the run."""

    def __init__(self, interrupt_on_finish: type[BaseException] | None = None, delay_s: float = 0.0) -> None:
        self.events: list[tuple[str, str]] = []
        self.interrupt_on_finish = interrupt_on_finish
        self.delay_s = delay_s

    def started(self, name: str) -> None:
        self.events.append(("started", name))

    def finished(self, result: CheckResult) -> None:
        self.events.append(("finished", result.name))
        if self.interrupt_on_finish is not None:
            exc, self.interrupt_on_finish = self.interrupt_on_finish, None
            time.sleep(self.delay_s)   # lets the other checks post their results first
            raise exc()


def run(checks: list[LoadedCheck], deadline_s: float = 5.0, **kw: Any) -> dict[str, CheckResult]:
    t0 = time.monotonic()
    result = Runner(kw.pop("settings", None), None, **kw).run(checks, deadline_s)
    elapsed = time.monotonic() - t0
    # A check's duration is its own time: never negative, never more than the run took.
    assert all(0.0 <= r.duration_s <= elapsed for r in result.results)
    return {r.name: r for r in result.results}


def test_run_when_a_check_returns_an_outcome_copies_every_part():
    outcome = Outcome(summary="s", metrics=[Metric("a_seconds", 1.0, "s")],
                      findings=[Finding("dns.slow", "warn", "slow")], evidence=[{"what": "x"}],
                      error="dns_timeout")
    res = run([make("c", lambda ctx: outcome)])["c"]
    assert (res.name, res.version, res.status, res.summary, res.error) == ("c", "7", "warn", "s", "dns_timeout")
    assert res.metrics == outcome.metrics and res.metrics is not outcome.metrics
    assert res.findings == outcome.findings and res.findings is not outcome.findings
    assert res.evidence == [{"what": "x"}] and res.evidence is not outcome.evidence
    assert res.duration_s >= 0.0


def test_run_when_an_outcome_sets_its_status_keeps_it():
    res = run([make("c", lambda ctx: Outcome(status="skipped", summary="n/a"))])["c"]
    assert (res.status, res.summary, res.error) == ("skipped", "n/a", None)


def test_run_when_a_check_returns_garbage_is_an_unknown_failure_naming_the_type():
    res = run([make("c", lambda ctx: {"status": "ok"})])["c"]
    assert (res.name, res.version, res.status, res.error) == ("c", "7", "error", "unknown_failure")
    assert res.summary == "check returned dict, not an Outcome"
    assert res.duration_s >= 0.0


def test_run_when_a_check_raises_is_an_error_with_the_classified_code_and_description():
    def refuse(ctx: CheckContext) -> Outcome:
        raise ConnectionRefusedError(111, "Connection refused by 10.0.0.1")

    res = run([make("c", refuse)])["c"]
    assert (res.name, res.version, res.status, res.error) == ("c", "7", "error", "connection_refused")
    assert res.summary == "check failed: ConnectionRefusedError: [Errno 111] Connection refused by <addr>"
    assert res.duration_s >= 0.0


def test_run_when_the_check_cannot_be_constructed_is_an_error():
    def init(self: Any) -> None:
        raise ValueError("no config")

    res = run([make("c", lambda ctx: Outcome(), cls_init=init)])["c"]
    assert (res.status, res.error, res.summary) == ("error", "unknown_failure", "check failed: ValueError: no config")


@pytest.mark.parametrize("stopped", [False, True])
def test_run_when_a_check_raises_cancelled_is_a_timeout(stopped):
    def give_up(ctx: CheckContext) -> Outcome:
        raise CheckCancelled(stopped=stopped)

    res = run([make("c", give_up)])["c"]
    assert (res.name, res.version, res.status, res.error) == ("c", "7", "timeout", "generic_timeout")
    assert res.summary == "stopped at its deadline"


def test_run_when_a_check_overruns_stops_it_at_its_deadline_and_tells_it():
    told = threading.Event()

    def stuck(ctx: CheckContext) -> Outcome:
        if ctx.cancelled.wait(30):
            told.set()
        time.sleep(30)   # ignores being told: the runner must not wait for it
        return Outcome()

    res = run([make("stuck", stuck, timeout_s=0.5)], deadline_s=10)["stuck"]
    assert (res.name, res.version, res.status, res.error) == ("stuck", "7", "timeout", "generic_timeout")
    assert res.summary == "stopped at its deadline (0.5 s)"
    assert res.duration_s >= 0.5
    assert told.wait(5)


def test_run_when_a_late_result_arrives_after_the_deadline_keeps_the_timeout():
    def late(ctx: CheckContext) -> Outcome:
        time.sleep(0.8)
        return Outcome(summary="late")

    def slower(ctx: CheckContext) -> Outcome:
        time.sleep(1.6)
        return Outcome(summary="slower")

    res = run([make("late", late, timeout_s=0.3), make("slower", slower, timeout_s=5)], deadline_s=10)
    assert (res["late"].status, res["late"].summary) == ("timeout", "stopped at its deadline (0.3 s)")
    assert res["slower"].summary == "slower"


def test_run_when_the_run_deadline_has_passed_times_out_every_check_at_once():
    block = threading.Event()
    finished: list[str] = []

    def wait(ctx: CheckContext) -> Outcome:
        block.wait(5)
        finished.append(ctx.name)
        return Outcome()

    res = run([make("a", wait), make("b", wait)], deadline_s=0.0)
    still_running = not finished       # the runner did not wait for the checks to return
    block.set()
    assert still_running
    assert [(r.status, r.error) for r in res.values()] == [("timeout", "generic_timeout")] * 2
    # A check started after its deadline ran for no time, never for "-0.0 s".
    assert {r.summary for r in res.values()} == {"stopped at its deadline (0.0 s)"}


def test_run_when_checks_finish_returns_them_in_the_given_order_with_run_times():
    checks = [make(n, lambda ctx: Outcome()) for n in ("z", "a", "m")]
    wall0, t0 = time.time(), time.monotonic()
    result = Runner(None, None).run(checks, 5)
    elapsed = time.monotonic() - t0
    assert [r.name for r in result.results] == ["z", "a", "m"]
    assert wall0 <= result.started_at <= time.time()
    assert 0.0 <= result.duration_s <= elapsed
    assert result.partial is False


def test_run_when_a_plugin_failed_to_load_is_an_import_error_with_its_reason():
    broken = LoadedCheck(name="broken", target="x:Y", error="no module x")
    nameless = LoadedCheck(name="nameless", target="x:Z")
    res = run([broken, nameless])
    assert (res["broken"].status, res["broken"].error, res["broken"].summary) == (
        "error", "plugin_import_error", "no module x")
    assert (res["nameless"].version, res["nameless"].summary, res["nameless"].duration_s) == ("?", "failed to load", 0.0)


def test_run_when_progress_is_given_tells_it_each_start_and_finish():
    progress = Recorder()
    broken = LoadedCheck(name="broken", target="x:Y", error="e")
    run([make("a", lambda ctx: Outcome()), broken, make("bandwidth", lambda ctx: Outcome())], progress=progress)
    assert progress.events[:3] == [("started", "a"), ("started", "broken"), ("finished", "broken")]
    assert ("finished", "a") in progress.events[3:]
    assert progress.events[-2:] == [("started", "bandwidth"), ("finished", "bandwidth")]


def test_run_when_a_check_runs_gives_it_the_runs_context():
    seen: dict[str, Any] = {}

    def look(ctx: CheckContext) -> Outcome:
        seen.update(name=ctx.name, config=ctx.config, settings=ctx.settings, host=ctx.host, options=ctx.options,
                    shared=ctx.shared, thread=threading.current_thread())
        return Outcome()

    settings = Sections(look=7.0)
    options = {"verbose": True}
    runner = Runner(settings, "the-host", options=options)
    runner.run([make("look", look)], 5)
    assert (seen["name"], seen["config"].name, seen["config"].timeout_s) == ("look", "look", 7.0)
    assert seen["settings"] is settings and seen["host"] == "the-host"
    assert seen["options"] == {"verbose": True} and runner.options == options and runner.options is not options
    assert seen["shared"] is runner.shared
    assert seen["thread"].name == "check-look" and seen["thread"].daemon


def test_run_without_settings_gives_no_config():
    seen: dict[str, Any] = {}

    def look(ctx: CheckContext) -> Outcome:
        seen["config"] = ctx.config
        return Outcome()

    run([make("look", look)])
    assert seen == {"config": None}


def _deadline_seen(check: LoadedCheck, deadline_s: float, settings: Any = None) -> tuple[float, float, float]:
    """(ctx.deadline - start, start, how long the run took), start taken just before the run."""
    seen: dict[str, float] = {}
    inner = check.cls.run  # type: ignore[union-attr]

    def record(self: Any, ctx: CheckContext) -> Outcome:
        seen["deadline"] = ctx.deadline
        return inner(self, ctx)

    check.cls.run = record  # type: ignore[union-attr]
    t0 = time.monotonic()
    Runner(settings, None).run([check], deadline_s)
    return seen["deadline"] - t0, t0, time.monotonic() - t0


@pytest.mark.parametrize("timeout_s, configured, deadline_s, budget_s", [
    (0.0, 0.0, 8.0, 8.0),     # nothing said: the run's deadline
    (4.0, 0.0, 8.0, 4.0),     # the check's own timeout
    (4.0, 6.0, 8.0, 6.0),     # the config's timeout_s wins over the check's
    (30.0, 0.0, 8.0, 8.0),    # capped by the run's deadline
])
def test_run_when_budgets_differ_gives_the_check_the_smallest_with_a_soft_margin(
        timeout_s, configured, deadline_s, budget_s):
    check = make("c", lambda ctx: Outcome(), timeout_s=timeout_s)
    seen, _, elapsed = _deadline_seen(check, deadline_s, Sections(c=configured))
    soft = budget_s - SOFT_MARGIN_S
    assert soft <= seen <= soft + elapsed


def test_run_when_the_budget_is_short_the_soft_margin_is_a_tenth_of_it():
    check = make("c", lambda ctx: Outcome(), timeout_s=1.0)
    seen, _, elapsed = _deadline_seen(check, 8.0)
    assert 0.9 <= seen <= 0.9 + elapsed


def test_run_when_a_check_runs_last_gives_it_its_own_budget_after_the_others():
    check = make("bandwidth", lambda ctx: Outcome())
    seen, _, elapsed = _deadline_seen(check, 2.0)
    soft = RUN_LAST_DEFAULT_S - SOFT_MARGIN_S
    assert soft <= seen <= soft + elapsed


def test_run_when_a_check_runs_last_with_its_own_timeout_uses_it():
    check = make("bandwidth", lambda ctx: Outcome(), timeout_s=3.0)
    seen, _, elapsed = _deadline_seen(check, 60.0)
    assert 2.75 <= seen <= 2.75 + elapsed


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, Interrupted])
def test_run_when_interrupted_returns_a_partial_result_and_cancels_the_rest(interrupt):
    told = threading.Event()

    def slow(ctx: CheckContext) -> Outcome:
        if ctx.cancelled.wait(30):
            told.set()
        return Outcome()

    progress = Recorder(interrupt_on_finish=interrupt)
    checks = [make("quick", lambda ctx: Outcome(summary="quick")), make("slow", slow),
              make("bandwidth", lambda ctx: Outcome())]
    runner = Runner(None, None, progress=progress)
    result = runner.run(checks, 10)
    res = {r.name: r for r in result.results}
    assert result.partial is True
    assert runner.cancelled.is_set()
    assert res["quick"].summary == "quick"
    for name in ("slow", "bandwidth"):
        assert (res[name].version, res[name].status, res[name].error, res[name].duration_s) == (
            "7", "timeout", "cancelled", 0.0)
        assert res[name].summary == "not finished: the run was interrupted"
    assert told.wait(5)
    assert ("started", "bandwidth") not in progress.events


def test_run_when_interrupted_keeps_the_results_that_arrived_meanwhile():
    progress = Recorder(interrupt_on_finish=KeyboardInterrupt, delay_s=0.5)
    checks = [make("first", lambda ctx: Outcome(summary="first")),
              make("second", lambda ctx: (time.sleep(0.1), Outcome(summary="second"))[1])]
    res = run(checks, 10, progress=progress)
    assert res["first"].summary == "first"
    assert res["second"].summary == "second"


def test_run_when_an_unexpected_error_escapes_cancels_the_checks_and_raises():
    told = threading.Event()

    def slow(ctx: CheckContext) -> Outcome:
        if ctx.cancelled.wait(30):
            told.set()
        return Outcome()

    progress = Recorder(interrupt_on_finish=RuntimeError)
    with pytest.raises(RuntimeError):
        run([make("quick", lambda ctx: Outcome()), make("slow", slow)], 10, progress=progress)
    assert told.wait(5)


def test_skipped_result_when_asked_is_a_skipped_check_with_the_reason():
    assert skipped_result("dns", "3", "not selected") == CheckResult("dns", "3", "skipped", 0.0,
                                                                     summary="not selected")


def test_run_when_a_check_says_the_device_is_offline_skips_the_network_checks_by_name_and_version():
    def offline(ctx: CheckContext) -> Outcome:
        ctx.shared.put("net.offline", "no route")
        return Outcome(summary="offline")

    def waits(ctx: CheckContext) -> Outcome:
        ctx.cancelled.wait(30)
        return Outcome(summary="measured")

    network = make("dns", waits)
    network.cls.needs_network = True  # type: ignore[union-attr]
    bandwidth = make("bandwidth", lambda ctx: Outcome(summary="never"))
    bandwidth.cls.needs_network = True  # type: ignore[union-attr]
    res = run([make("connectivity", offline), network, bandwidth], deadline_s=20)
    for name in ("dns", "bandwidth"):
        assert (res[name].name, res[name].version, res[name].status) == (name, "7", "skipped")
        assert res[name].summary == "the device is offline (no route)"
        assert res[name].evidence == [{"what": "skipped", "because": "device_offline"}]
    assert res["bandwidth"].duration_s == 0.0
    assert res["connectivity"].summary == "offline"
