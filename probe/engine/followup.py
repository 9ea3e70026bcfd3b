"""A second look when the first run asks for one: the path trace.

The path check costs about 7 s (routers answer trace probes about once a
second), far over a healthy run's time to verdict, so it is opt-in. But when
a run finds loss or an unreachable provider, "where do the packets die" is
the next question support staff ask. So:

- a run that nobody waits for (``schedule``, ``watch``) traces the path at
  once, after the other checks, and the report holds both;
- a run someone waits for at the checkout counter gives its verdict first and
  says how to trace the path (``--path``), rather than making them wait.
"""

from __future__ import annotations

from dataclasses import replace

from payprobe.engine.registry import LoadedCheck
from payprobe.engine.results import RunResult
from payprobe.engine.runner import Runner

PATH = "path"
# Findings that make the path worth tracing: packets lost, or a provider not reached.
PATH_WORTHY = frozenset({"endpoint.loss", "endpoint.unreachable"})
# Runs nobody waits for: the trace's seconds cost no one anything.
UNATTENDED = frozenset({"schedule", "watch"})
# On top of the path check's paced rounds: discovery and the last answers.
_MARGIN_S = 3.0


def wants_path(result: RunResult) -> bool:
    """The run saw loss or an unreachable provider, was not offline, and did not trace."""
    if result.partial or any(r.name == PATH for r in result.results):
        return False
    codes = {f.code for r in result.results for f in r.findings}
    offline = any(f.code == "net.offline" and f.severity == "fail" for r in result.results for f in r.findings)
    return not offline and bool(codes & PATH_WORTHY)


def trace_path(runner: Runner, result: RunResult, path_check: LoadedCheck, window_s: float) -> RunResult:
    """``result`` with the path check's result added, run now within its own budget."""
    extra = runner.run([path_check], window_s + _MARGIN_S)
    return replace(result, results=[*result.results, *extra.results],
                   duration_s=result.duration_s + extra.duration_s, partial=extra.partial)
