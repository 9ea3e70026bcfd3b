"""The check contract: what a check receives and what it gives back.

This is the whole public surface a check (built-in or plugin) needs::

    from payprobe.api import Check, CheckContext, Finding, Metric, Outcome, parallel

A check never prints, never reads the CLI, never writes files. It returns an
:class:`Outcome`; the runner owns timing, deadlines and error handling.

Optional class attributes a check may declare (the runner reads them with
``getattr``, so a check that leaves them out gets the default):

``timeout_s: ClassVar[float]``
    its own budget, within the run's deadline.
``needs_network: ClassVar[bool] = False``
    True when the check measures something over the network (DNS, TLS,
    endpoints, NTP). Once the device is *certainly* offline (the connectivity
    check puts ``net.offline`` on the :class:`Blackboard`: no usable interface
    or no default route, and no check URL got an answer), the runner stops such
    a check that is still running, or does not start it, and reports it
    ``skipped`` with the reason, instead of letting it wait out its timeouts.
    A check that looks only at the device itself (settings, battery) leaves
    it False and always runs.

Facts on the blackboard from the connectivity check: ``net.offline`` (a short
sentence saying why the device is offline; put only when it certainly is) and
``net.has_ipv6`` (True when the device has an IPv6 default route and a global
IPv6 address, False when it has not, None when that could not be read).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from payprobe.host import HostInfo, detect
from payprobe.settings import Settings

# Check statuses (DESIGN §5).
OK = "ok"
WARN = "warn"
FAIL = "fail"
ERROR = "error"
TIMEOUT = "timeout"
SKIPPED = "skipped"
CHECK_STATUSES = (OK, WARN, FAIL, ERROR, TIMEOUT, SKIPPED)

# Finding severities. "info" findings are evidence that does not degrade a run.
SEVERITIES = ("info", "warn", "fail")
# How bad a severity is, for comparing and ranking (the diagnosis ranks causes with it).
SEVERITY_RANK = {"info": 0, "warn": 1, "fail": 2}


class CheckCancelled(Exception):
    """Raised inside a check when its deadline has passed or the run was stopped.

    ``stopped`` tells the two apart: a probe that ran out of time timed out (the
    classifier says ``generic_timeout``); one the run stopped (Ctrl-C, the runner's
    hard deadline) was cancelled. :func:`payprobe.classify.classify` is the one
    place that maps it.
    """

    def __init__(self, message: str = "deadline reached", *, stopped: bool = False) -> None:
        super().__init__(message)
        self.stopped = stopped


@dataclass(frozen=True)
class Metric:
    """One measured value. Names carry their unit (``tcp_connect_seconds``)."""

    name: str
    value: float
    unit: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit,
                "labels": dict(self.labels)}


@dataclass(frozen=True)
class Finding:
    """Something a check saw that matters for the diagnosis.

    ``code`` is one of the stable finding codes (``dns.hijack``...).
    ``data`` holds small JSON-able facts the diagnosis and renderers may use.
    """

    code: str
    severity: str
    message: str
    target: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"finding {self.code}: severity must be one of {SEVERITIES}")

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "message": self.message,
                "target": self.target, "data": dict(self.data)}


@dataclass
class Outcome:
    """What a check returns.

    Leave ``status`` as None to have it derived from the findings (ok/warn/fail).
    Set it to ``skipped`` (with a ``summary`` saying why) when the check does not
    apply here, or ``error`` when it could not run at all.
    """

    status: str | None = None
    summary: str = ""
    metrics: list[Metric] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # classified failure code when status is error

    @classmethod
    def skipped(cls, reason: str, **kw: Any) -> Outcome:
        return cls(status=SKIPPED, summary=reason, **kw)

    def resolved_status(self) -> str:
        if self.status is not None:
            return self.status
        worst = max((SEVERITY_RANK[f.severity] for f in self.findings), default=0)
        return {0: OK, 1: WARN, 2: FAIL}[worst]


class Blackboard:
    """Facts checks share during a run (e.g. the clock's reference offset for tls).

    ``get`` waits up to ``timeout`` seconds for a key another check will put.
    """

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._cond = threading.Condition()

    def put(self, key: str, value: Any) -> None:
        with self._cond:
            self._values[key] = value
            self._cond.notify_all()

    def get(self, key: str, timeout: float = 0.0, default: Any = None) -> Any:
        end = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while key not in self._values:
                left = end - time.monotonic()
                if left <= 0:
                    return default
                self._cond.wait(left)
            return self._values[key]


ConfigT = TypeVar("ConfigT")


@dataclass
class CheckContext(Generic[ConfigT]):
    """Everything a check may use. Built by the runner, one per check."""

    name: str
    config: ConfigT                  # this check's section of the config (frozen dataclass)
    settings: Settings               # the whole config (endpoints, ca_file, ...)
    deadline: float                  # time.monotonic() value at which the check is stopped
    cancelled: threading.Event
    shared: Blackboard
    host: HostInfo = field(default_factory=detect)
    options: Mapping[str, Any] = field(default_factory=dict)  # run options: trigger, bandwidth...

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def timeout(self, cap: float | None = None) -> float:
        """Seconds a blocking call may take: min(cap, time left before the deadline).

        Raises :class:`CheckCancelled` when no time is left or the run was stopped,
        so a check stops at the next call instead of starting work it cannot finish.
        """
        if self.cancelled.is_set():
            raise CheckCancelled(f"{self.name}: cancelled", stopped=True)
        left = self.remaining()
        if left <= 0.005:
            raise CheckCancelled(f"{self.name}: deadline reached")
        return left if cap is None else max(0.001, min(cap, left))

    def check_cancelled(self) -> None:
        self.timeout()


@runtime_checkable
class Check(Protocol):
    """A check: a class with a name, a version, a description and ``run``.

    It may also declare ``timeout_s`` and ``needs_network`` (see the module's
    docstring); they are not part of the protocol, so a plugin without them
    still is a Check.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    description: ClassVar[str]

    def run(self, ctx: CheckContext[Any]) -> Outcome: ...


def parallel(fn: Callable[[Any], Any], items: Iterable[Any], ctx: CheckContext[Any],
             *, max_workers: int = 16) -> list[Any]:
    """Run ``fn(item)`` for every item in daemon threads, within the check's deadline.

    Returns one entry per item, in order: the return value, or the exception it
    raised, or :class:`CheckCancelled` for an item still running at the deadline.
    Daemon threads are used on purpose: a thread blocked in getaddrinfo() must
    not keep the process alive after the run is over.
    """
    items = list(items)
    results: list[Any] = [CheckCancelled("deadline reached")] * len(items)
    sem = threading.Semaphore(max_workers)
    done = threading.Event()
    remaining = [len(items)]
    lock = threading.Lock()

    def work(i: int, item: Any) -> None:
        with sem:
            try:
                if ctx.cancelled.is_set():
                    raise CheckCancelled("cancelled", stopped=True)
                results[i] = fn(item)
            except BaseException as exc:  # noqa: BLE001
                results[i] = exc
            finally:
                with lock:
                    remaining[0] -= 1
                    if remaining[0] == 0:
                        done.set()

    if not items:
        return []
    for i, item in enumerate(items):
        threading.Thread(target=work, args=(i, item), daemon=True).start()
    done.wait(max(0.0, ctx.deadline - time.monotonic()))
    with lock:
        return list(results)



__all__ = [
    "CHECK_STATUSES", "ERROR", "FAIL", "OK", "SEVERITIES", "SEVERITY_RANK", "SKIPPED", "TIMEOUT", "WARN",
    "Blackboard", "Check", "CheckCancelled", "CheckContext", "Finding", "Metric", "Outcome", "parallel",
]
