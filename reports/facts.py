"""What the diagnosis rules read and what they give back.

:class:`Facts` gathers a run's findings (by code and severity), one
:class:`EndpointState` per payment endpoint, the check statuses, whether the
internet answered at all, which provider each TLS host belongs to, and the
places the run tried (payprobe.reports.evidence) as a view of the link
(payprobe.reports.link). A rule (payprobe.reports.rules) reads them and returns
a :class:`Candidate` cause; payprobe.reports.diagnosis ranks the candidates.
The small helpers here (worst severity, targets, the clock's
state, the provider a finding is about) are the vocabulary the rules share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from payprobe.api import SEVERITY_RANK
from payprobe.reports import catalog
from payprobe.reports.evidence import host_providers, provider_of, read_places
from payprobe.reports.link import LinkView
from payprobe.reports.phrase import Phrase, detail, measured
from payprobe.reports.types import CheckEntry, FindingEntry
from payprobe.settings import Settings

MEASURED = ("ok", "warn", "fail")
CONFIDENCE_RANK = {"low": 0, "medium": 1, "high": 2}
# The clock check's default warn_s: within it, the clock counts as right.
CLOCK_RIGHT_S = 30.0


@dataclass
class EndpointState:
    endpoint: str
    provider: str
    ok: bool
    failure: str | None = None
    http_status: int | None = None
    phase: str | None = None

    @property
    def resolve_failed(self) -> bool:
        """Its name did not resolve: the endpoint was never tried (not the provider's doing)."""
        return not self.ok and (self.phase == "resolve" or (self.failure or "").startswith("dns_"))


@dataclass
class Facts:
    """What the rules read: findings by code, per-endpoint states, check statuses."""

    checks: dict[str, CheckEntry]
    findings: list[FindingEntry]
    endpoints: list[EndpointState]
    internet: bool | None          # any connectivity URL answered; None: not measured
    lang: str = "en"
    hosts: dict[str, str] = field(default_factory=dict)    # TLS target / hostname -> provider
    endpoint_hosts: dict[str, str] = field(default_factory=dict)   # endpoint name -> hostname
    endpoint_providers: dict[str, str] = field(default_factory=dict)   # endpoint name -> provider (config)
    link: LinkView = field(default_factory=LinkView)
    clock_right_s: float = CLOCK_RIGHT_S

    def of(self, *codes: str, min_severity: str = "warn") -> list[FindingEntry]:
        floor = SEVERITY_RANK[min_severity]
        return [f for f in self.findings if f["code"] in codes and SEVERITY_RANK.get(f["severity"], 0) >= floor]

    def check_status(self, name: str) -> str | None:
        check = self.checks.get(name)
        return check.get("status") if check else None

    def provider(self, f: FindingEntry) -> str:
        """The payment provider a finding is about ("" when it is about none)."""
        data = f.get("data") or {}
        if f["code"].startswith("endpoint."):
            by_name = {e.endpoint: e.provider for e in self.endpoints}
            return str(data.get("provider") or by_name.get(f.get("target", ""), "") or f.get("target", ""))
        if f["code"].startswith("path."):
            # The path check names the endpoint it traced to; its provider is the endpoint's.
            name = str(data.get("endpoint") or f.get("target", ""))
            by_name = {e.endpoint: e.provider for e in self.endpoints}
            return by_name.get(name) or self.endpoint_providers.get(name, "") or name
        if f["code"].startswith(("tls.", "dns.")):
            return provider_of(f.get("target", ""), self.hosts)
        return ""

    def group(self, f: FindingEntry) -> str:
        """What a finding is about, as a unit of blame: its provider, else its target."""
        return self.provider(f) or f"host:{f.get('target', '')}"


def gather(checks: Sequence[CheckEntry], settings: Settings | None, lang: str) -> Facts:
    by_name = {c.get("name", ""): c for c in checks}
    findings = [f for c in checks for f in c.get("findings", []) or []]
    evidence = [e for c in checks for e in (c.get("evidence") or []) if isinstance(e, dict)]
    hosts = host_providers(settings.endpoints if settings else [])
    endpoint_hosts = {ep.name: urlsplit(ep.url).hostname or "" for ep in (settings.endpoints if settings else [])}
    for e in evidence:
        # An endpoints check that names each endpoint's host makes the map complete.
        if e.get("what") == "endpoint" and e.get("host") and e.get("provider"):
            hosts.setdefault(str(e["host"]), str(e["provider"]))

    endpoints = _endpoint_states(evidence, findings)
    if not endpoints:
        endpoints = _endpoints_from_findings(by_name.get("endpoints"), findings, settings)

    internet: bool | None = None
    for e in evidence:
        if e.get("what") == "internet":
            internet = bool(e.get("ok")) or bool(internet)
    connectivity = by_name.get("connectivity")
    if internet is None and connectivity is not None and connectivity.get("status") == "ok":
        internet = True
    clock_right_s = float(settings.clock.warn_s) if settings else CLOCK_RIGHT_S
    providers = {ep.name: ep.provider or ep.name for ep in (settings.endpoints if settings else [])}
    return Facts(by_name, findings, endpoints, internet, catalog.norm_lang(lang), hosts, endpoint_hosts,
                 endpoint_providers=providers, link=LinkView(read_places(by_name, hosts)),
                 clock_right_s=clock_right_s)


def _endpoint_states(evidence: list[dict[str, Any]], findings: list[FindingEntry]) -> list[EndpointState]:
    """One state per endpoint evidence item; the phase from its samples or its finding."""
    resolve_failed = {str(e.get("endpoint")) for e in evidence
                      if e.get("what") == "endpoint_samples" and e.get("resolve_failure")}
    phases = {f.get("target", ""): f["data"].get("phase") for f in findings
              if f["code"] == "endpoint.unreachable"}
    states = []
    for e in evidence:
        if e.get("what") != "endpoint":
            continue
        name = str(e.get("endpoint", ""))
        phase = e.get("phase") or ("resolve" if name in resolve_failed else phases.get(name))
        states.append(EndpointState(name, str(e.get("provider") or name), bool(e.get("ok")),
                                    e.get("failure"), e.get("http_status"), phase))
    return states


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
                                    f["data"].get("http_status") if f else None,
                                    f["data"].get("phase") if f else None))
    return states


@dataclass
class Candidate:
    code: str
    severity: str
    confidence: str
    findings: list[FindingEntry]
    params: dict[str, Phrase] = field(default_factory=dict)   # placeholder -> phrase (reports.phrase)
    target: str = ""
    silences: set[str] = field(default_factory=set)   # cause codes this one explains away
    title_params: dict[str, Any] = field(default_factory=dict)
    variant: str = ""          # which wording of the cause (the catalog entry's "variants")
    remedies: list[str] = field(default_factory=list)   # remedy keys put before the cause's own


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


def clock_offset_s(facts: Facts) -> float | None:
    """The measured clock offset (reference minus local), if the clock check has one."""
    for f in facts.of("clock.skew", min_severity="info"):
        if isinstance(f["data"].get("offset_s"), (int, float)):
            return float(f["data"]["offset_s"])
    check = facts.checks.get("clock")
    for m in (check.get("metrics") or []) if check else []:
        if m.get("name") == "clock_offset_seconds" and m.get("labels", {}).get("source") == "best":
            return float(m["value"])
    for e in (check.get("evidence") or []) if check else []:
        if isinstance(e, dict) and e.get("what") == "clock_best" and isinstance(e.get("offset_s"), (int, float)):
            return float(e["offset_s"])
    return None


def clock_state(facts: Facts) -> str:
    """right | wrong | unknown: whether certificate dates can be judged by this device's clock."""
    if facts.of("clock.skew"):
        return "wrong"
    offset = clock_offset_s(facts)
    if offset is not None:
        return "right" if abs(offset) <= facts.clock_right_s else "wrong"
    if facts.check_status("clock") == "ok" and not facts.of("clock.unknown", min_severity="info"):
        return "right"
    return "unknown"


def hop_words(key: str, f: FindingEntry) -> Phrase:
    """The sentence ``key`` about where a ``path.loss_at_hop`` finding's loss starts:
    ``{hop}``, ``{address}`` and ``{loss}`` (the loss there, in %)."""
    data = f.get("data") or {}
    address = str(data.get("address") or "") or "?"
    return detail(key, hop=data.get("hop") if isinstance(data.get("hop"), int) else "?", address=address,
                  loss=measured(data.get("loss_pct"), "%"))
