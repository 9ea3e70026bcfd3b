"""Finds checks through the entry-point group ``payprobe.checks``.

Built-ins are registered through the same group by payprobe's own
distribution; when payprobe runs from a source tree that was never installed,
the same table below stands in for them. A plugin that fails to import or is
malformed is kept as a :class:`LoadedCheck` with an ``error``, so the run gives
an ``error`` result naming it instead of crashing.

``discover(load=False)`` finds the checks without importing them; a check is
imported when :func:`select` picks it (or :meth:`LoadedCheck.load` is called).
A run imports only the checks it runs: the opt-in path and bandwidth checks
cost a default run nothing (issue 15: start-up on a phone).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from payprobe.engine import entrypoints
from payprobe.engine.errors import UsageError

GROUP = "payprobe.checks"

# name -> "module:Class"; mirrors [project.entry-points."payprobe.checks"] in pyproject.toml.
BUILTINS: dict[str, str] = {
    "connectivity": "payprobe.checks.connectivity:ConnectivityCheck",
    "dns": "payprobe.checks.resolution:DnsCheck",
    "tls": "payprobe.checks.handshake:TlsCheck",
    "clock": "payprobe.checks.clock:ClockCheck",
    "proxy": "payprobe.checks.proxy:ProxyCheck",
    "endpoints": "payprobe.checks.endpoints:EndpointsCheck",
    "bandwidth": "payprobe.checks.bandwidth:BandwidthCheck",
    "path": "payprobe.checks.path:PathCheck",
    "device": "payprobe.checks.device:DeviceCheck",
}
# Opt-in: bandwidth costs mobile data; path takes about 7 s (README, "Where the path breaks").
OPT_IN = frozenset({"bandwidth", "path"})
# Checks that run alone after the others, so they do not disturb latency figures.
RUN_LAST = frozenset({"bandwidth"})
# Checks the runner starts before importing the others: the slowest of a healthy
# default run (five samples per endpoint), so that the other checks' modules are
# imported while it waits on the network (issue 15: time to verdict).
START_FIRST = ("endpoints",)


@dataclass
class LoadedCheck:
    name: str
    target: str                 # "module:attr", for messages
    cls: type | None = None
    error: str | None = None    # why it could not be loaded
    builtin: bool = False
    # Imports the check, while it has not been imported yet (discover(load=False)).
    loader: Callable[[], Any] | None = field(default=None, repr=False, compare=False)

    def load(self) -> LoadedCheck:
        """Import the check now if it was found but not imported yet; returns self."""
        loader, self.loader = self.loader, None
        if loader is not None:
            _load_into(self, loader)
        return self

    @property
    def description(self) -> str:
        if self.cls is None:
            return f"(failed to load: {self.error})"
        return getattr(self.cls, "description", "") or (self.cls.__doc__ or "").strip().split("\n")[0]

    @property
    def version(self) -> str:
        return str(getattr(self.cls, "version", "?")) if self.cls else "?"

    @property
    def timeout_s(self) -> float:
        return float(getattr(self.cls, "timeout_s", 0.0) or 0.0) if self.cls else 0.0


def validate(name: str, target: str, obj: Any) -> str | None:
    """Why ``obj`` is not a valid check class, or None."""
    if not isinstance(obj, type):
        return f"{target} is not a class"
    declared = getattr(obj, "name", None)
    if declared != name:
        return f"{target} declares name {declared!r}, but is registered as {name!r}"
    if not isinstance(getattr(obj, "version", None), str):
        return f"{target} has no string 'version'"
    if not callable(getattr(obj, "run", None)):
        return f"{target} has no run(ctx) method"
    return None


def _load_into(item: LoadedCheck, loader: Callable[[], Any]) -> None:
    name, target = item.name, item.target
    try:
        obj = loader()
    except Exception as exc:  # noqa: BLE001 - any import failure is reported, not raised
        item.error = f"plugin {name!r} ({target}) failed to import: {type(exc).__name__}: {exc}"
        return
    problem = validate(name, target, obj)
    if problem:
        item.error = f"plugin {name!r} is invalid: {problem}"
    else:
        item.cls = obj


def _found(name: str, target: str, loader: Callable[[], Any], builtin: bool, load: bool) -> LoadedCheck:
    item = LoadedCheck(name=name, target=target, builtin=builtin, loader=loader)
    return item.load() if load else item


def _import_target(target: str) -> Any:
    """The object an entry point names: ``module`` or ``module:attr.attr`` (extras ignored)."""
    module, _, attr = target.partition("[")[0].strip().partition(":")
    obj: Any = importlib.import_module(module.strip())
    for part in filter(None, attr.strip().split(".")):
        obj = getattr(obj, part)
    return obj


def _installed() -> list[tuple[str, str, Callable[[], Any]]]:
    """(name, value, loader) of the installed entry points of GROUP; read directly where
    every distribution is a folder (payprobe.engine.entrypoints), else by importlib.metadata."""
    read = entrypoints.read(GROUP)
    if read is not None:
        return [(name, value, partial(_import_target, value)) for name, value in read]
    from importlib.metadata import entry_points

    return [(ep.name, ep.value, ep.load) for ep in entry_points(group=GROUP)]


def discover(*, load: bool = True) -> dict[str, LoadedCheck]:
    """All checks: entry points first, then built-ins not registered there.
    ``load=False``: found, not imported yet (select() imports the ones it picks)."""
    found: dict[str, LoadedCheck] = {}
    for name, value, loader in _installed():
        if name in found:
            continue  # the same distribution can be seen twice (editable + site)
        found[name] = _found(name, value, loader, BUILTINS.get(name) == value, load)
    for name, target in BUILTINS.items():
        if name not in found:
            found[name] = _found(name, target, partial(_import_target, target), True, load)
    order = list(BUILTINS) + sorted(n for n in found if n not in BUILTINS)
    return {n: found[n] for n in order if n in found}


def select(available: dict[str, LoadedCheck], only: list[str] | None, skip: list[str] | None,
           *, opt_in: Collection[str] = (), load: bool = True) -> list[LoadedCheck]:
    """The checks a run executes: the default ones, the opt-in ones asked for
    (``opt_in``: "bandwidth", "path"), or exactly ``only``; imported unless ``load``
    is False (the runner then imports each as it starts it). Unknown names are a
    usage error."""

    for flag, names in (("--only", only), ("--skip", skip)):
        for n in names or []:
            if n not in available:
                near = difflib.get_close_matches(n, available, n=1)
                hint = f' (did you mean "{near[0]}"?)' if near else ""
                raise UsageError(f"{flag}: unknown check {n!r}{hint}; "
                                 f"known checks: {', '.join(available)}")
    if only:
        names = [n for n in available if n in only]
    else:
        names = [n for n in available if n not in OPT_IN or n in opt_in]
    names = [n for n in names if n not in set(skip or [])]
    picked = [available[n] for n in names]
    return [c.load() for c in picked] if load else picked
