"""What conflicts, when no cause fits: the text of the ``inconclusive`` cause.

``inconclusive`` is for evidence that contradicts itself, and says how:

- certificates look out of date on every provider, but the clock is right;
- a check failed on a host or provider that another check reached;
- one endpoint of a provider fails while another of the same provider works;
- no connectivity check URL answered, but other servers did.

Warnings that no rule explains and nothing contradicts are minor notes, not a
cause: the verdict says so ("minor") without an ``inconclusive``.
"""

from __future__ import annotations

from payprobe.reports.facts import Facts, clock_offset_s, clock_state, targets
from payprobe.reports.phrase import Phrase, detail, duration, endpoint, join
from payprobe.reports.types import FindingEntry

_SHOWN = 3


def _dates(facts: Facts, unexplained: list[FindingEntry]) -> list[Phrase]:
    dated = [f for f in unexplained if f["code"] in ("tls.expired", "tls.not_yet_valid")]
    if not dated or clock_state(facts) != "right":
        return []
    offset = clock_offset_s(facts)
    state = detail("tls.not_yet_valid" if any(f["code"] == "tls.not_yet_valid" for f in dated)
                   else "tls.expired")
    return [detail("conflict.dates", state=state,
                   names=join(targets(dated)[:_SHOWN]),
                   offset=duration(offset or 0.0))]


def _reached_elsewhere(facts: Facts, unexplained: list[FindingEntry]) -> list[Phrase]:
    """A TLS failure on a provider whose endpoints work, or the other way round."""
    working = {e.provider for e in facts.endpoints if e.ok}
    tls_ok = {p.provider for p in facts.link.places if p.layer == "tls" and p.ok and p.provider}
    out = []
    for f in unexplained:
        provider = facts.provider(f)
        failure = str(f["data"].get("failure") or f["code"])
        target = endpoint(f.get("target", "")) if f["code"].startswith("endpoint.") else f.get("target", "")
        if f["code"].startswith("tls.") and provider in working:
            other = join([endpoint(e.endpoint) for e in facts.endpoints if e.ok and e.provider == provider][:2])
            out.append(detail("conflict.tls_vs_endpoints", target=target,
                              failure=failure, other=other))
        elif f["code"] == "endpoint.unreachable" and provider in working:
            other = join([endpoint(e.endpoint) for e in facts.endpoints if e.ok and e.provider == provider][:2])
            out.append(detail("conflict.same_provider", target=target,
                              failure=failure, other=other))
        elif f["code"] == "endpoint.unreachable" and provider in tls_ok:
            out.append(detail("conflict.endpoints_vs_tls", target=target,
                              failure=failure))
    return out


def _offline_yet_answered(facts: Facts, unexplained: list[FindingEntry]) -> list[Phrase]:
    if not any(f["code"] == "net.offline" for f in unexplained):
        return []
    named = {p.name: endpoint(p.name) if p.layer == "endpoints" else p.name
             for p in facts.link.answered_beyond_dns() if p.layer != "connectivity"}
    for e in facts.endpoints:
        if e.ok:
            named.setdefault(e.endpoint, endpoint(e.endpoint))
    answered_names = list(named.values())
    if not answered_names:
        return []
    return [detail("conflict.offline", what=join(answered_names[:_SHOWN]))]


def conflicts(facts: Facts, unexplained: list[FindingEntry]) -> list[Phrase]:
    """Each contradiction among the unexplained findings and the rest of the run, in words."""
    found: list[Phrase] = []
    for finder in (_dates, _reached_elsewhere, _offline_yet_answered):
        for phrase in finder(facts, unexplained):
            if phrase not in found:
                found.append(phrase)
    return found[:_SHOWN]
