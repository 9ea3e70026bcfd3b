"""What a run produced: one CheckResult per check, and the RunResult around them.

Data types only: the report pipeline (payprobe.reports) reads these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from payprobe.api import Finding, Metric


@dataclass
class CheckResult:
    name: str
    version: str
    status: str
    duration_s: float
    summary: str = ""
    metrics: list[Metric] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "status": self.status,
            "duration_s": round(self.duration_s, 4), "summary": self.summary,
            "metrics": [m.to_dict() for m in self.metrics],
            "findings": [f.to_dict() for f in self.findings],
            "evidence": self.evidence, "error": self.error,
        }


@dataclass
class RunResult:
    started_at: float          # wall clock, time.time()
    duration_s: float
    results: list[CheckResult]
    partial: bool = False


__all__ = ["CheckResult", "RunResult"]
