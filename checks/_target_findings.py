"""Findings about one target that share the same facts.

A check that judges a target (an endpoint, a TLS host) first gathers what every
finding about it should carry, then each finding family adds only its own keys.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from payprobe.api import Finding, Outcome


class TargetFindings:
    """Appends findings on ``target`` to ``out``, each carrying ``data`` plus its own keys."""

    def __init__(self, out: Outcome, target: str, data: dict[str, Any]) -> None:
        self.out = out
        self.target = target
        self.data = data

    def add(self, code: str, severity: str, message: str, **extra: Any) -> None:
        self.out.findings.append(Finding(code, severity, message, target=self.target,
                                         data={**self.data, **extra}))


# Why a target was not measured when its name did not resolve (evidence, not a finding).
NOT_RESOLVED = "name did not resolve"


def note_not_measured(out: Outcome, names: list[str], failures: list[str], *, measured: int,
                      sep: str) -> None:
    """Targets whose names did not resolve: said in the summary, the dns check carries
    the finding. Nothing measured at all is an ``error`` (the commonest failure), so a
    run of this check alone is not healthy; some measured is at least ``warn``."""
    if not names:
        return
    out.summary += f"{sep}not measured ({NOT_RESOLVED}, see the dns check): " + ", ".join(names)
    if not measured:
        out.status = "error"
        out.error = Counter(failures).most_common(1)[0][0]
    elif out.resolved_status() == "ok":
        out.status = "warn"
