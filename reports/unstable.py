"""The network_unstable rule: the link itself is lossy, slow, or half broken.

What it puts together, each an item of the explanation:

- loss the findings report (``endpoint.loss``), weak signal, interface errors;
- a lossy link seen in the evidence (payprobe.reports.link): tries lost at
  random on several unrelated places, some place answering one try and losing
  the next; then the lookups that timed out, the handshakes and samples that
  were lost and the check URLs that failed are the link's, not DNS's, not a
  provider's, not "offline";
- slowness everywhere (half the endpoints or more, over two providers);
- every payment service timing out while the general internet answers (the path);
- IPv6 that is broken or much slower than IPv4 (``net.ipv6_broken``,
  ``net.ipv6_slow``): apps try IPv6 first and fall back late, so they feel slow;
- what the opt-in measurements add (payprobe.reports.unstable_path): the hop
  where loss starts, bufferbloat, a path that drops large packets.
"""

from __future__ import annotations

from payprobe.reports.evidence import LOSSY_FAILURES, SYSTEM_RESOLVER, Place
from payprobe.reports.facts import Candidate, Facts, targets, worst
from payprobe.reports.phrase import Phrase, clauses, detail, join, measured, number
from payprobe.reports.types import FindingEntry
from payprobe.reports.unstable_path import mtu_words, path_items

_TIMEOUT_FAILURES = {"generic_timeout", "dns_timeout"}
# Findings a lossy link produces: on such a link they are its doing.
_LOSS_CODES = ("endpoint.unreachable", "endpoint.loss", "endpoint.slow", "tls.handshake_failed",
               "tls.slow", "dns.system_failure", "dns.slow", "dns.resolver_unreachable",
               "net.offline", "clock.unknown", "clock.ntp_blocked")
_IPV6_REMEDIES = ["ipv6_router", "switch_network", "ipv6_fallback"]
_RADIOS = ("wifi", "cellular")


def _lossy_finding(f: FindingEntry) -> bool:
    """Whether a finding is what a lossy link produces: a timeout, a lost or slow try,
    nothing answering (a check URL, a time source)."""
    data = f.get("data") or {}
    failure = str(data.get("failure") or "")
    failures = data.get("failures")
    if f["code"] in ("endpoint.loss", "endpoint.slow", "tls.slow", "dns.slow"):
        return True
    if f["code"] in ("net.offline", "clock.unknown", "clock.ntp_blocked"):
        return data.get("reason", "all_failed") == "all_failed"
    return (failure in LOSSY_FAILURES or failure == "dns_timeout"
            or (isinstance(failures, dict) and any(k in LOSSY_FAILURES or k == "dns_timeout"
                                                   for k in failures)))


def _loss_items(facts: Facts) -> list[Phrase]:
    """The lossy link in words: where tries were lost, with counts."""
    link, items = facts.link, list[Phrase]()
    samples = [p for p in link.places if p.layer == "endpoints"]
    lost = sum(p.lossy for p in samples)
    if lost:
        tried = sum(p.ok + p.lossy for p in samples)
        items.append(detail("unstable.samples_lost", lost=lost, tried=tried))
    lookups = sum(p.dns_lossy for p in link.places) + sum(
        p.lossy for p in link.places if p.layer == "dns")
    if lookups:
        where = [p.name for p in link.places if p.layer == "dns" and (p.lossy or p.dns_lossy)]
        names: list[Phrase] = [detail("unstable.system_dns") if n == SYSTEM_RESOLVER else n for n in where]
        items.append(detail("unstable.lookups_lost", count=lookups,
                            where=join(names[:3])))
    for layer in ("tls", "connectivity"):
        mine: list[Place] = [p for p in link.places if p.layer == layer]
        failed = sum(1 for p in mine if p.lossy or p.dns_lossy)
        if failed:
            items.append(detail(f"unstable.{layer}_lost", failed=failed, total=len(mine)))
    return items


def _slow_everywhere(facts: Facts) -> list[FindingEntry]:
    slow = facts.of("endpoint.slow")
    total = len({e.endpoint for e in facts.endpoints}) or len(targets(slow))
    slow_targets = targets(slow)
    providers = {facts.provider(f) for f in slow}
    return slow if slow_targets and len(slow_targets) * 2 >= total and len(providers) >= 2 else []


def _timeouts_everywhere(facts: Facts, items: list[Phrase], used: list[FindingEntry]) -> int:
    """Every payment endpoint times out: nothing answers at all, or only the path to them fails."""
    eps = facts.endpoints
    if facts.link.lossy or not eps or not all(not e.ok and e.failure in _TIMEOUT_FAILURES for e in eps):
        return 0
    elsewhere = [p for p in facts.link.answered_beyond_dns() if p.layer != "endpoints"]
    if facts.internet is True or elsewhere:
        if any(e.resolve_failed for e in eps):
            return 0      # names that do not resolve are DNS's
        items.append(detail("unstable.path"))
    else:
        items.append(detail("unstable.timeouts"))
    used += [f for f in facts.of("endpoint.unreachable", "tls.handshake_failed") if f not in used]
    return 1


def _ipv6(facts: Facts, items: list[Phrase], used: list[FindingEntry]) -> tuple[list[str], int]:
    """IPv6 broken or slow: the item, the remedies first in line, and how strong a sign."""
    broken, slow = facts.of("net.ipv6_broken"), facts.of("net.ipv6_slow")
    if broken:
        items.append(detail("unstable.ipv6_broken"))
    elif slow:
        items.append(detail("unstable.ipv6_slow"))
    used += broken + slow
    # Measured directly (IPv6 connects fail where IPv4 ones work): a sure sign.
    return (list(_IPV6_REMEDIES), 2) if broken or slow else ([], 0)


def _radio(target: str) -> Phrase:
    """The radio a weak signal is on, in words ("Wi-Fi", 移动数据), else as the check named it."""
    return detail(f"radio.{target}") if target in _RADIOS else target


def _signal_items(facts: Facts, items: list[Phrase], used: list[FindingEntry]) -> int:
    """Loss, weak signal and interface errors from findings; returns how many (strong signs)."""
    strong = 0
    loss = facts.of("endpoint.loss")
    if loss:
        worst_ratio = max((float(f["data"].get("loss_ratio") or 0) for f in loss), default=0.0)
        if not facts.link.lossy:   # else the lossy link's item says it, with counts
            items.append(detail("unstable.loss", value=number(round(worst_ratio * 100), "%")))
        used += loss
        strong += 1
    weak = facts.of("net.weak_signal")
    if weak:
        items.append(detail("unstable.weak_signal", target=_radio(str(weak[0].get("target") or "")),
                            value=measured(weak[0]["data"].get("rssi_dbm"), "dBm")))
        used += weak
        strong += 1
    link = facts.of("net.link_errors")
    if link:
        items.append(detail("unstable.link_errors"))
        used += link
        strong += 1
    return strong


def _slowness_items(facts: Facts, items: list[Phrase], used: list[FindingEntry]) -> None:
    slow = _slow_everywhere(facts)
    if slow:
        total = len({e.endpoint for e in facts.endpoints}) or len(targets(slow))
        items.append(detail("unstable.slow", count=len(targets(slow)), total=total))
        used += slow
    bandwidth = facts.of("bandwidth.low")
    if bandwidth:
        items.append(detail("unstable.bandwidth"))
        used += bandwidth
    tls_slow = facts.of("tls.slow")
    if len({facts.group(f) for f in tls_slow}) >= 2:
        items.append(detail("unstable.tls_slow"))
        used += tls_slow


def rule_network_unstable(facts: Facts) -> Candidate | None:
    items: list[Phrase] = []
    used: list[FindingEntry] = []
    strong = _signal_items(facts, items, used)
    lossy = facts.link.lossy
    if lossy:
        items.append(detail("unstable.lossy_link", what=join(_loss_items(facts), "list_sep_outer")))
        used += [f for f in facts.of(*_LOSS_CODES) if _lossy_finding(f) and f not in used]
        strong += 2 if len(facts.link.flaky) >= 2 and len(facts.link.lossy_groups) >= 3 else 1
    path_remedies, path_strength = path_items(facts, items, used)
    strong += path_strength
    _slowness_items(facts, items, used)
    strong += _timeouts_everywhere(facts, items, used)
    remedies, ipv6_strength = _ipv6(facts, items, used)
    strong += ipv6_strength
    if not items:
        return None
    confidence = "high" if strong >= 2 or (strong >= 1 and len(items) >= 2) else "medium"
    remedies = list(dict.fromkeys(path_remedies + remedies))
    mtu = facts.of("net.mtu_blackhole")
    if mtu and len(items) == 1:
        # Large packets lost, and nothing else: not "unstable", a path that cannot carry them.
        return Candidate("network_unstable", worst(used), confidence, used,
                         {"detail": mtu_words(mtu, "unstable.mtu_only")}, remedies=remedies, variant="mtu")
    return Candidate("network_unstable", worst(used), confidence, used,
                     {"detail": detail("unstable.prefix", items=clauses(items))},
                     remedies=remedies)
