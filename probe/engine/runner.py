"""Runs the selected checks concurrently, each under its own deadline.

The runner, not the check, owns timing: each check gets a deadline of
min(its own timeout, what is left of the run's budget). A check that overruns
is reported ``timeout`` at its deadline and the run moves on while its thread,
a daemon, may still be blocked in a system call. A check that raises is
reported ``error`` with a classified failure code. Checks in RUN_LAST (the
bandwidth test) run alone after the others.

Offline early stop: when a check puts ``net.offline`` on the blackboard (the
connectivity check does, once the device is certainly offline), every check
that declares ``needs_network = True`` and is still running is stopped at once
and reported ``skipped``, with the reason, instead of waiting out its network
timeouts; one that has not started yet (bandwidth) is not started. A check
that finished before the fact keeps its result (it was measured), unless that
result is an ``error`` with a classified network failure: it could not run,
which the fact explains, so it becomes ``skipped`` too and its evidence keeps
the error it had. Otherwise an offline run's report would send people from
"endpoints: error, the names did not resolve, see the dns check" to a dns
check that says "skipped: offline".
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from payprobe import classify as fc
from payprobe.api import (
    ERROR,
    SKIPPED,
    TIMEOUT,
    Blackboard,
    CheckCancelled,
    CheckContext,
    Outcome,
)
from payprobe.engine.registry import RUN_LAST, START_FIRST, LoadedCheck
from payprobe.engine.results import CheckResult, RunResult

# Checks see a deadline this much earlier than the runner enforces, so a check
# that honours ctx.timeout() has time to build its outcome and is not cut off.
SOFT_MARGIN_S = 0.25
# What a run-last check (bandwidth) gets on top of the run budget, unless it says otherwise.
RUN_LAST_DEFAULT_S = 45.0
# The blackboard fact that the device is certainly offline; its value says why
# (a short sentence, e.g. "there is no default route: the device is not connected").
OFFLINE_FACT = "net.offline"


class Progress(Protocol):
    def started(self, name: str) -> None: ...
    def finished(self, result: CheckResult) -> None: ...


class _NoProgress:
    def started(self, name: str) -> None:
        pass

    def finished(self, result: CheckResult) -> None:
        pass


class Interrupted(Exception):
    """SIGTERM, turned into an exception in the main thread like SIGINT is."""


@dataclass
class _Job:
    check: LoadedCheck
    ctx: CheckContext | None
    hard_deadline: float
    started: float
    done: bool = False


# What the runner waits for: a finished check, or None when a fact it acts on
# was put on the blackboard.
_Event = tuple[_Job, CheckResult] | None


class _RunBoard(Blackboard):
    """The run's blackboard, which also wakes the runner when ``net.offline`` is put."""

    def __init__(self, wake: Callable[[], None]) -> None:
        super().__init__()
        self._wake = wake

    def put(self, key: str, value: Any) -> None:
        super().put(key, value)
        if key == OFFLINE_FACT:
            self._wake()


def needs_network(check: LoadedCheck) -> bool:
    """Whether a check declares ``needs_network = True`` (a plugin that says nothing does not)."""
    return check.cls is not None and getattr(check.cls, "needs_network", False) is True


def offline_skip(check: LoadedCheck, reason: str, duration_s: float,
                 instead_of: CheckResult | None = None) -> CheckResult:
    """The result of a network check stopped (or never started) because the device is
    offline; ``instead_of`` is the error it ended with before the runner knew."""
    evidence: dict[str, Any] = {"what": "skipped", "because": "device_offline"}
    if instead_of is not None:
        evidence["before"] = {"status": instead_of.status, "error": instead_of.error,
                              "summary": instead_of.summary}
    return CheckResult(check.name, check.version, SKIPPED, duration_s,
                       summary=f"the device is offline ({reason})", evidence=[evidence])


def _explained_by_offline(result: CheckResult) -> bool:
    """An ``error`` the device being offline explains: a classified network failure.
    An unclassified one (most likely a bug) stays visible as it is."""
    return result.status == ERROR and result.error not in (None, fc.UNKNOWN_FAILURE)


def _outcome_to_result(job: _Job, outcome: Any, duration: float) -> CheckResult:
    name = job.check.name
    version = job.check.version
    if not isinstance(outcome, Outcome):
        return CheckResult(name, version, ERROR, duration,
                           summary=f"check returned {type(outcome).__name__}, not an Outcome",
                           error=fc.UNKNOWN_FAILURE)
    status = outcome.resolved_status()
    return CheckResult(name, version, status, duration, summary=outcome.summary,
                       metrics=list(outcome.metrics), findings=list(outcome.findings),
                       evidence=list(outcome.evidence), error=outcome.error)


def _exception_to_result(job: _Job, exc: BaseException, duration: float) -> CheckResult:
    code = fc.classify(exc)
    if isinstance(exc, CheckCancelled):
        return CheckResult(job.check.name, job.check.version, TIMEOUT, duration,
                           summary="stopped at its deadline", error=fc.GENERIC_TIMEOUT)
    return CheckResult(job.check.name, job.check.version, ERROR, duration,
                       summary=f"check failed: {fc.describe(exc)}", error=code)


def _thread_main(job: _Job, out: queue.Queue[_Event]) -> None:
    assert job.check.cls is not None and job.ctx is not None
    t0 = time.monotonic()
    try:
        instance = job.check.cls()
        outcome = instance.run(job.ctx)
        result = _outcome_to_result(job, outcome, time.monotonic() - t0)
    except BaseException as exc:  # noqa: BLE001 - a check cannot crash a run
        result = _exception_to_result(job, exc, time.monotonic() - t0)
    out.put((job, result))


class Runner:
    def __init__(self, settings: Any, host: Any, *, options: dict[str, Any] | None = None,
                 progress: Progress | None = None) -> None:
        self.settings = settings
        self.host = host
        self.options = dict(options or {})
        self.progress = progress or _NoProgress()
        # One queue for the whole run: a check thread that outlives its phase
        # (stopped at its deadline) may still post its result; it is ignored.
        self._events: queue.Queue[_Event] = queue.Queue()
        self.shared: Blackboard = _RunBoard(lambda: self._events.put(None))
        self.cancelled = threading.Event()

    def _check_budget(self, check: LoadedCheck, default: float) -> float:
        section = self.settings.section(check.name) if self.settings is not None else None
        configured = float(getattr(section, "timeout_s", 0.0) or 0.0)
        own = configured or check.timeout_s or default
        return own

    def offline_reason(self) -> str | None:
        """Why the device is certainly offline, once a check said so; else None."""
        value = self.shared.get(OFFLINE_FACT)
        return value if isinstance(value, str) and value else None

    def run(self, checks: Iterable[LoadedCheck], deadline_s: float) -> RunResult:
        """Run checks; on KeyboardInterrupt/Interrupted return a partial result."""
        started_wall = time.time()
        t0 = time.monotonic()
        checks = list(checks)
        first = [c for c in checks if c.name not in RUN_LAST]
        last = [c for c in checks if c.name in RUN_LAST]
        results: dict[str, CheckResult] = {}
        partial = False
        try:
            self._phase(first, t0 + deadline_s, results, default_budget=deadline_s)
            for check in last:
                # Alone after the others: its own budget, starting now.
                budget = self._check_budget(check, RUN_LAST_DEFAULT_S)
                self._phase([check], time.monotonic() + budget, results, default_budget=budget)
        except (KeyboardInterrupt, Interrupted):
            partial = True
            self.cancelled.set()
        # Anything that never finished or never started is reported as timeout.
        for check in checks:
            if check.name not in results:
                results[check.name] = CheckResult(
                    check.name, check.version, TIMEOUT, 0.0,
                    summary="not finished: the run was interrupted" if partial
                    else "not finished before the run's deadline",
                    error=fc.CANCELLED if partial else fc.GENERIC_TIMEOUT)
        ordered = [results[c.name] for c in checks]
        return RunResult(started_at=started_wall, duration_s=time.monotonic() - t0,
                         results=ordered, partial=partial)

    def _phase(self, checks: list[LoadedCheck], run_deadline: float,
               results: dict[str, CheckResult], *, default_budget: float) -> None:
        pending: list[_Job] = []
        try:
            # Starting imports the checks: a Ctrl-C then must stop the ones already started.
            self._start(checks, run_deadline, results, default_budget, pending)
            self._wait(pending, results)
        except BaseException:
            for j in pending:
                if j.ctx is not None:
                    j.ctx.cancelled.set()
            # Keep what finished in the meantime.
            while True:
                try:
                    event = self._events.get_nowait()
                except queue.Empty:
                    break
                if event is not None and not event[0].done:
                    self._finish(event[0], event[1], results)
            raise

    def _start(self, checks: list[LoadedCheck], run_deadline: float,
               results: dict[str, CheckResult], default_budget: float, pending: list[_Job]) -> None:
        """Starts a thread per check, importing each check (if it is not yet) just before:
        START_FIRST first, so it waits on the network while the others are imported.
        Adds the jobs to wait for to ``pending`` as they start."""
        offline = self.offline_reason()
        for check in sorted(checks, key=lambda c: c.name not in START_FIRST):
            check.load()
            now = time.monotonic()
            hard = min(now + self._check_budget(check, default_budget), run_deadline)
            job = _Job(check=check, ctx=None, hard_deadline=hard, started=now)
            self.progress.started(check.name)
            if check.cls is None:
                res = CheckResult(check.name, check.version, ERROR, 0.0,
                                  summary=check.error or "failed to load",
                                  error=fc.PLUGIN_IMPORT_ERROR)
                self._finish(job, res, results)
                continue
            if offline is not None and needs_network(check):
                self._finish(job, offline_skip(check, offline, 0.0), results)
                continue
            soft = hard - min(SOFT_MARGIN_S, 0.1 * (hard - now))
            job.ctx = CheckContext(
                name=check.name,
                config=self.settings.section(check.name) if self.settings is not None else None,
                settings=self.settings, deadline=soft, cancelled=threading.Event(),
                shared=self.shared, host=self.host, options=self.options)
            pending.append(job)
            threading.Thread(target=_thread_main, args=(job, self._events), daemon=True,
                             name=f"check-{check.name}").start()

    def _wait(self, pending: list[_Job], results: dict[str, CheckResult]) -> None:
        """Until every job finished, was stopped at its deadline or skipped as offline."""
        while any(not j.done for j in pending):
            open_jobs = [j for j in pending if not j.done]
            wait = min(j.hard_deadline for j in open_jobs) - time.monotonic()
            try:
                event = self._events.get(timeout=wait) if wait > 0 else self._events.get_nowait()
            except queue.Empty:
                pass
            else:
                if event is None:
                    self._stop_network_checks(pending, results)
                elif not event[0].done:
                    self._finish(event[0], event[1], results)
                continue
            now = time.monotonic()
            for j in open_jobs:
                if not j.done and now >= j.hard_deadline:
                    assert j.ctx is not None
                    j.ctx.cancelled.set()
                    self._finish(j, CheckResult(
                        j.check.name, j.check.version, TIMEOUT, now - j.started,
                        summary=f"stopped at its deadline ({max(0.0, j.hard_deadline - j.started):.1f} s)",
                        error=fc.GENERIC_TIMEOUT), results)

    def _stop_network_checks(self, jobs: list[_Job], results: dict[str, CheckResult]) -> None:
        """The device is offline: stop every running check that needs the network, and
        explain the errors of those that already ended (see the module's docstring)."""
        reason = self.offline_reason()
        if reason is None:
            return
        now = time.monotonic()
        for j in jobs:
            if not needs_network(j.check):
                continue
            if not j.done:
                assert j.ctx is not None
                j.ctx.cancelled.set()
                self._finish(j, offline_skip(j.check, reason, now - j.started), results)
            elif _explained_by_offline(results[j.check.name]):
                had = results[j.check.name]
                self._finish(j, offline_skip(j.check, reason, had.duration_s, had), results)

    def _finish(self, job: _Job, result: CheckResult, results: dict[str, CheckResult]) -> None:
        job.done = True
        results[job.check.name] = result
        self.progress.finished(result)


def skipped_result(name: str, version: str, reason: str) -> CheckResult:
    return CheckResult(name, version, SKIPPED, 0.0, summary=reason)
