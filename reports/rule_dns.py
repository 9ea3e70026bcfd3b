"""The dns_problem rule: the phone's DNS fails, lies, or is slow, and the link is not to blame.

- Hijack, NXDOMAIN rewriting: always DNS's.
- The system resolver fails a name the other resolvers resolve: DNS's, unless
  the failure is a timeout on a link that loses packets (payprobe.reports.link),
  where the other resolvers time out the same way: that is network_unstable's.
- The system resolver answers nothing at all while something else answers (an
  alternate resolver, an NTP server, an address): the device is online and its
  DNS is dead (a Private DNS host that cannot be reached, a router's DNS that
  died). DNS's, never "offline".
- A name no resolver knows (NXDOMAIN everywhere): the endpoints and TLS checks
  could not run for it; that is a name problem, DNS's, never the provider's outage.
- Slow lookups: DNS's only when the link is not losing packets.

The per-name failures of the other checks (a TLS handshake or an endpoint that
could not run because its name did not resolve) are listed under this cause,
so the one DNS fault is not buried under one finding per name.
"""

from __future__ import annotations

from dataclasses import dataclass

from payprobe.reports.facts import CONFIDENCE_RANK, Candidate, Facts, targets, worst
from payprobe.reports.phrase import Phrase, detail, join, sentences
from payprobe.reports.types import FindingEntry

_LOOKUP_TIMEOUTS = {"dns_timeout", "generic_timeout"}


def _surer(confidence: str, other: str) -> str:
    """The higher of two confidences (the first one on a tie)."""
    return confidence if CONFIDENCE_RANK[confidence] >= CONFIDENCE_RANK[other] else other


def _names(facts: Facts, fs: list[FindingEntry]) -> Phrase:
    return join(targets(fs)[:3])


@dataclass(frozen=True)
class Unresolved:
    """A name another check could not try because it did not resolve."""

    name: str                          # the host (or the endpoint / target label)
    failure: str
    finding: FindingEntry | None       # the check's per-name finding, if it made one


def unresolved(facts: Facts) -> list[Unresolved]:
    """Per-name lookup failures of the TLS and endpoints checks: their findings in the
    ``resolve`` phase, or their ``not_measured`` evidence ("could not run for that name")."""
    out: list[Unresolved] = []
    for f in facts.of("endpoint.unreachable", "tls.handshake_failed"):
        failure = str(f["data"].get("failure") or "")
        if f["data"].get("phase") == "resolve" or failure.startswith("dns_"):
            target = f.get("target", "")
            name = f["data"].get("host") or facts.endpoint_hosts.get(target) or target
            out.append(Unresolved(str(name), failure, f))
    for name in ("tls", "endpoints"):
        check = facts.checks.get(name)
        for e in (check.get("evidence") or []) if check else []:
            if isinstance(e, dict) and e.get("what") == "not_measured":
                out.append(Unresolved(str(e.get("host") or e.get("target", "")),
                                      str(e.get("failure") or "dns_failure"), None))
    return out


def _resolve_findings(facts: Facts, lossy_too: bool) -> list[FindingEntry]:
    """The other checks' per-name findings that are only a name that did not resolve."""
    return [u.finding for u in unresolved(facts) if u.finding is not None
            and (lossy_too or u.failure not in _LOOKUP_TIMEOUTS)]


def system_dead(facts: Facts) -> bool:
    """The system resolver answered no query at all, on a link that does not lose
    packets, while something else answered: the device is online, its DNS is not."""
    system = facts.link.system_resolver()
    return (system is not None and system.ok == 0 and system.failed > 0 and not facts.link.lossy
            and bool(facts.link.answered_beyond_dns()))


def _answering(facts: Facts) -> Phrase:
    """What answered while the system resolver did not, in words."""
    names = list(dict.fromkeys(p.name for p in facts.link.answered_beyond_dns()))
    return join(names[:3])


def _names_of(found: list[Unresolved], facts: Facts) -> Phrase:
    return join(list(dict.fromkeys(u.name for u in found))[:3])


def _no_such_names(facts: Facts) -> list[Unresolved]:
    """Names that do not exist for any resolver: the dns check saw no failure of its own."""
    reported = set(targets(facts.of("dns.system_failure", min_severity="info")))
    return [u for u in unresolved(facts) if u.failure == "dns_nxdomain" and u.name not in reported]


def _failure_parts(facts: Facts, failure: list[FindingEntry], parts: list[Phrase]) -> str:
    """The system resolver's failures in words: the confidence they give."""
    confirmed = [f for f in failure if f["data"].get("confirmed") or f["data"].get("resolver_answers")]
    unconfirmed = [f for f in failure if f not in confirmed]
    if confirmed:
        parts.append(detail("dns.system_failure", names=_names(facts, confirmed)))
    if unconfirmed:
        # The alternates were reachable and failed these names too: the names' own DNS.
        alternates = any(p.layer == "dns" and p.ok for p in facts.link.answered_beyond_dns())
        key = "dns.fails_everywhere" if alternates else "dns.system_failure_unconfirmed"
        parts.append(detail(key, names=_names(facts, unconfirmed)))
    return "high" if confirmed else "medium"


def _system_parts(facts: Facts, parts: list[Phrase], used: list[FindingEntry]) -> tuple[str, bool]:
    """The system resolver's own failures: the confidence they give, and whether they
    stop payments outright (a dead resolver, names that could not be tried)."""
    confidence = "low"
    lossy = facts.link.lossy
    failure = [f for f in facts.of("dns.system_failure")
               if not (lossy and f["data"].get("failure") in _LOOKUP_TIMEOUTS)]
    if system_dead(facts):
        parts.append(detail("dns.system_dead", what=_answering(facts)))
        used += failure
        return "high", True
    if failure:
        confidence = _failure_parts(facts, failure, parts)
        used += failure
    missing = _no_such_names(facts)
    if missing:
        parts.append(detail("dns.no_such_name", names=_names_of(missing, facts)))
        used += [u.finding for u in missing if u.finding is not None]
        confidence = _surer(confidence, "medium")
    others = [u for u in unresolved(facts) if u not in missing
              and (not lossy or u.failure not in _LOOKUP_TIMEOUTS)]
    if not failure and not missing and others and not facts.of("dns.hijack"):
        # The dns check did not run (or saw nothing): the other checks' lookups failed.
        parts.append(detail("dns.lookups_fail", names=_names_of(others, facts)))
        used += [u.finding for u in others if u.finding is not None]
        confidence = _surer(confidence, "medium")
    # Names the other checks could not try stop those payments: a fail, finding or not.
    return confidence, bool(missing) or bool(others)


def rule_dns_problem(facts: Facts) -> Candidate | None:
    parts: list[Phrase] = []
    used: list[FindingEntry] = []
    confidence = "low"
    hijack = facts.of("dns.hijack")
    if hijack:
        parts.append(detail("dns.hijack", names=_names(facts, hijack)))
        used += hijack
        confidence = "high"
    system_confidence, stops = _system_parts(facts, parts, used)
    confidence = _surer(confidence, system_confidence)
    rewrite = facts.of("dns.nxdomain_rewrite")
    if rewrite:
        parts.append(detail("dns.nxdomain_rewrite"))
        used += rewrite
        confidence = _surer(confidence, "medium")
    slow = [] if facts.link.lossy else facts.of("dns.slow")
    if slow:
        parts.append(detail("dns.slow", names=_names(facts, slow)))
        used += slow
        confidence = _surer(confidence, "medium")
    if not parts:
        return None
    if not facts.link.lossy:
        used += facts.of("dns.resolver_unreachable")
    used += [f for f in _resolve_findings(facts, not facts.link.lossy) if f not in used]
    # A dead resolver or a name that cannot be tried stops payments: fail, even when
    # the checks only noted it (the names they could not try carry no finding).
    severity = "fail" if stops else worst(used)
    return Candidate("dns_problem", severity, confidence, used, {"detail": sentences(parts)})
