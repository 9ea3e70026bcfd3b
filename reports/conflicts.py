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

from payprobe.reports import catalog
from payprobe.reports.facts import Facts, clock_offset_s, clock_state, detail, human_duration, targets
from payprobe.reports.types import FindingEntry

_SHOWN = 3


def _dates(facts: Facts, unexplained: list[FindingEntry]) -> list[str]:
    dated = [f for f in unexplained if f["code"] in ("tls.expired", "tls.not_yet_valid")]
    if not dated or clock_state(facts) != "right":
        return []
    offset = clock_offset_s(facts)
    state = detail("tls.not_yet_valid" if any(f["code"] == "tls.not_yet_valid" for f in dated)
                   else "tls.expired", facts)
    return [detail("conflict.dates", facts, state=state,
                   names=catalog.join(targets(dated)[:_SHOWN], facts.lang),
                   offset=human_duration(offset or 0.0, facts.lang))]


def _reached_elsewhere(facts: Facts, unexplained: list[FindingEntry]) -> list[str]:
    """A TLS failure on a provider whose endpoints work, or the other way round."""
    working = {e.provider for e in facts.endpoints if e.ok}
    tls_ok = {p.provider for p in facts.link.places if p.layer == "tls" and p.ok and p.provider}
    out = []
    for f in unexplained:
        provider = facts.provider(f)
        failure = f["data"].get("failure") or f["code"]
        if f["code"].startswith("tls.") and provider in working:
            other = catalog.join([e.endpoint for e in facts.endpoints if e.ok and e.provider == provider][:2],
                                 facts.lang)
            out.append(detail("conflict.tls_vs_endpoints", facts, target=f.get("target", ""),
                              failure=failure, other=other))
        elif f["code"] == "endpoint.unreachable" and provider in working:
            other = catalog.join([e.endpoint for e in facts.endpoints if e.ok and e.provider == provider][:2],
                                 facts.lang)
            out.append(detail("conflict.same_provider", facts, target=f.get("target", ""),
                              failure=failure, other=other))
        elif f["code"] == "endpoint.unreachable" and provider in tls_ok:
            out.append(detail("conflict.endpoints_vs_tls", facts, target=f.get("target", ""),
                              failure=failure))
    return out


def _offline_yet_answered(facts: Facts, unexplained: list[FindingEntry]) -> list[str]:
    if not any(f["code"] == "net.offline" for f in unexplained):
        return []
    answered = list(dict.fromkeys(p.name for p in facts.link.answered_beyond_dns()
                                  if p.layer != "connectivity"))
    answered += [e.endpoint for e in facts.endpoints if e.ok and e.endpoint not in answered]
    if not answered:
        return []
    return [detail("conflict.offline", facts, what=catalog.join(answered[:_SHOWN], facts.lang))]


def conflicts(facts: Facts, unexplained: list[FindingEntry]) -> list[str]:
    """Each contradiction among the unexplained findings and the rest of the run, in words."""
    found: list[str] = []
    for finder in (_dates, _reached_elsewhere, _offline_yet_answered):
        for text in finder(facts, unexplained):
            if text not in found:
                found.append(text)
    return found[:_SHOWN]
