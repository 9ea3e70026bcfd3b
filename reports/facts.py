"""What the diagnosis rules read and what they give back.

:class:`Facts` gathers a run's findings (by code and severity), one
:class:`EndpointState` per payment endpoint, the check statuses and whether the
internet answered at all. A rule (payprobe.reports.rules) reads them and returns
a :class:`Candidate` cause; payprobe.reports.diagnosis ranks the candidates.
The small helpers here (worst severity, targets, catalog details) are the
vocabulary the rules share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from payprobe.api import SEVERITY_RANK
from payprobe.reports import catalog
from payprobe.reports.types import CheckEntry, FindingEntry
from payprobe.settings import Settings

MEASURED = ("ok", "warn", "fail")
CONFIDENCE_RANK = {"low": 0, "medium": 1, "high": 2}


@dataclass
class EndpointState:
    endpoint: str
    provider: str
    ok: bool
    failure: str | None = None
    http_status: int | None = None


@dataclass
class Facts:
    """What the rules read: findings by code, per-endpoint states, check statuses."""

    checks: dict[str, CheckEntry]
    findings: list[FindingEntry]
    endpoints: list[EndpointState]
    internet: bool | None          # any connectivity URL answered; None: not measured
    lang: str = "en"

    def of(self, *codes: str, min_severity: str = "warn") -> list[FindingEntry]:
        floor = SEVERITY_RANK[min_severity]
        return [f for f in self.findings if f["code"] in codes and SEVERITY_RANK.get(f["severity"], 0) >= floor]

    def check_status(self, name: str) -> str | None:
        check = self.checks.get(name)
        return check.get("status") if check else None


def gather(checks: Sequence[CheckEntry], settings: Settings | None, lang: str) -> Facts:
    by_name = {c.get("name", ""): c for c in checks}
    findings = [f for c in checks for f in c.get("findings", []) or []]
    evidence = [e for c in checks for e in (c.get("evidence") or []) if isinstance(e, dict)]

    endpoints = [EndpointState(str(e.get("endpoint", "")), str(e.get("provider") or e.get("endpoint", "")),
                               bool(e.get("ok")), e.get("failure"), e.get("http_status"))
                 for e in evidence if e.get("what") == "endpoint"]
    if not endpoints:
        endpoints = _endpoints_from_findings(by_name.get("endpoints"), findings, settings)

    internet: bool | None = None
    for e in evidence:
        if e.get("what") == "internet":
            internet = bool(e.get("ok")) or bool(internet)
    connectivity = by_name.get("connectivity")
    if internet is None and connectivity is not None and connectivity.get("status") == "ok":
        internet = True
    return Facts(by_name, findings, endpoints, internet, catalog.norm_lang(lang))


def _endpoints_from_findings(check: CheckEntry | None, findings: list[FindingEntry],
                             settings: Settings | None) -> list[EndpointState]:
    """Without the endpoints check's evidence (an older or third-party check),
    rebuild per-endpoint states from the config: an endpoint with no failure
    finding worked."""
    if not check or check.get("status") not in MEASURED:
        return []
    failed = {f["target"]: f for f in findings
              if f["code"] in ("endpoint.unreachable", "endpoint.http_error")
              and (f["code"] == "endpoint.unreachable" or (f["data"].get("http_status") or 0) >= 500)}
    states = []
    for ep in settings.endpoints if settings else []:
        f = failed.get(ep.name)
        states.append(EndpointState(ep.name, ep.provider or ep.name, f is None,
                                    f["data"].get("failure") if f else None,
                                    f["data"].get("http_status") if f else None))
    return states


@dataclass
class Candidate:
    code: str
    severity: str
    confidence: str
    findings: list[FindingEntry]
    params: dict[str, Any] = field(default_factory=dict)
    target: str = ""
    silences: set[str] = field(default_factory=set)   # cause codes this one explains away
    title_params: dict[str, Any] = field(default_factory=dict)


def worst(findings: list[FindingEntry], floor: str = "warn") -> str:
    """The worst severity among ``findings``, never below ``floor``."""
    rank = max((SEVERITY_RANK.get(f["severity"], 0) for f in findings), default=0)
    return {0: floor, 1: "warn", 2: "fail"}[max(rank, SEVERITY_RANK[floor])]


def targets(findings: list[FindingEntry]) -> list[str]:
    """The findings' targets, each once, in order."""
    seen: list[str] = []
    for f in findings:
        if f.get("target") and f["target"] not in seen:
            seen.append(f["target"])
    return seen


def detail(key: str, facts: Facts, **params: Any) -> str:
    """A sentence of a cause's explanation, from the catalog's ``detail`` section."""
    return catalog.text("detail", key, facts.lang, **params)


def human_duration(seconds: float, lang: str = "en") -> str:
    """37 s, 12 min, 3.2 h, 5 days: how far off a clock is, in words people use."""
    s = abs(seconds)
    zh = catalog.norm_lang(lang) == "zh"
    if s < 90:
        return f"{s:.0f} 秒" if zh else f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} 分钟" if zh else f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} 小时" if zh else f"{s / 3600:.1f} h"
    return f"{s / 86400:.0f} 天" if zh else f"{s / 86400:.0f} days"
