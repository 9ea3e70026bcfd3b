"""Findings about one target that share the same facts.

A check that judges a target (an endpoint, a TLS host) first gathers what every
finding about it should carry, then each finding family adds only its own keys.
"""

from __future__ import annotations

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
