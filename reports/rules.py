"""The diagnosis rules: one small function per cause, in :data:`RULES`.

A rule reads the run's :class:`~payprobe.reports.facts.Facts` and returns a
:class:`~payprobe.reports.facts.Candidate` (or None; the outage rule returns one
per provider). Rules do not know about each other: which cause explains which
away is said by ``silences`` and settled by the ranking in
payprobe.reports.diagnosis. The order of :data:`RULES` breaks ties.

=======================================  ==========================================
this module                              offline, captive portal, clock, proxy/VPN,
                                         device resources; the table :data:`RULES`
payprobe.reports.rule_dns                dns_problem
payprobe.reports.outage (+ .blame)       payment_service_outage and its rule table
payprobe.reports.unstable                network_unstable (loss, slowness, IPv6)
=======================================  ==========================================
"""

from __future__ import annotations

from collections.abc import Callable

from payprobe.api import SEVERITY_RANK
from payprobe.reports.blame import PROXY_CODES, provider_cases
from payprobe.reports.facts import Candidate, Facts, clock_offset_s, clock_state, targets, worst
from payprobe.reports.outage import rule_payment_outage
from payprobe.reports.phrase import Phrase, clauses, detail, duration, join, measured, sentences
from payprobe.reports.rule_dns import rule_dns_problem
from payprobe.reports.types import FindingEntry
from payprobe.reports.unstable import rule_network_unstable

_CLOCK_FAILURES = {"tls_cert_expired", "tls_cert_not_yet_valid"}
_UNREACHABLE_FAILURES = {"network_unreachable", "host_unreachable", "address_unavailable"}
# Failures of every payment endpoint that something on the device or network causes:
# the servers did not refuse, reset or err all at once.
_BLOCKED_ROWS = {"refused", "reset", "server_error", "overloaded", "other"}
# Causes that only make sense when there is a network at all.
NEEDS_NETWORK = {"captive_portal", "dns_problem", "proxy_vpn_interference",
                 "payment_service_outage", "network_unstable"}


def _online_anyway(facts: Facts) -> bool:
    """Something answered (an endpoint, a check URL, a resolver, a time server): not offline."""
    return facts.internet is True or any(e.ok for e in facts.endpoints) or bool(
        facts.link.answered_beyond_dns())


def rule_offline(facts: Facts) -> Candidate | None:
    if _online_anyway(facts):
        return None
    offline = facts.of("net.offline")
    if offline:
        reason = offline[0]["data"].get("reason") or "no_route"
        if reason == "all_failed":
            if facts.link.lossy:
                return None   # tries lost at random, some answered: unstable, not offline
            # The link is up but no connectivity probe got through: "no internet", which
            # DNS or a firewall can also cause, so it does not silence the other causes.
            return Candidate("offline", offline[0]["severity"], "medium", offline,
                             {"detail": detail("offline.all_failed")}, variant="link_up")
        known = reason in ("no_interface", "no_route", "all_unreachable")
        text = detail(f"offline.{reason}" if known else "offline.no_route")
        return Candidate("offline", "fail", "high", offline, {"detail": text}, silences=NEEDS_NETWORK)
    eps = facts.endpoints
    if eps and all(not e.ok and e.failure in _UNREACHABLE_FAILURES for e in eps):
        related = facts.of("endpoint.unreachable")
        return Candidate("offline", "fail", "high", related, {"detail": detail("offline.all_unreachable")},
                         silences=NEEDS_NETWORK)
    return None


def rule_captive_portal(facts: Facts) -> Candidate | None:
    portal = facts.of("net.captive_portal")
    if not portal:
        return None
    target = portal[0]["data"].get("portal_host") or portal[0].get("target", "")
    # What a portal explains: intercepted TLS, rewritten DNS, unreachable endpoints.
    explained = facts.of("tls.untrusted_issuer", "tls.hostname_mismatch", "tls.handshake_failed",
                         "dns.hijack", "dns.nxdomain_rewrite", "endpoint.unreachable",
                         "endpoint.http_error")
    return Candidate("captive_portal", "fail", "high", portal + explained, {"target": str(target)},
                     target=str(target),
                     silences={"payment_service_outage", "dns_problem", "network_unstable",
                               "proxy_vpn_interference"})


def _offset_words(facts: Facts) -> Phrase:
    offset_s = clock_offset_s(facts)
    if offset_s is None:
        return ""
    # offset = reference - local: positive means the device clock is behind.
    return detail("clock.behind" if offset_s > 0 else "clock.ahead", amount=duration(offset_s))


def rule_clock_wrong(facts: Facts) -> Candidate | None:
    skew = facts.of("clock.skew")
    # A certificate out of date by the reference clock too is really out of date: not the clock.
    tls_time = [f for f in facts.of("tls.not_yet_valid", "tls.expired", min_severity="info")
                if f["data"].get("valid_by_reference_clock") is not False]
    ep_time = [e for e in facts.endpoints if e.failure in _CLOCK_FAILURES]
    # Counted by provider: the TLS check's view when it has one, else the endpoints'.
    groups = {facts.group(f) for f in tls_time} or {e.provider for e in ep_time}
    not_yet = any(f["code"] == "tls.not_yet_valid" for f in tls_time) or any(
        e.failure == "tls_cert_not_yet_valid" for e in ep_time)
    tls_state = detail("tls.not_yet_valid" if not_yet else "tls.expired")
    offset = _offset_words(facts)
    # Endpoint failures that the wrong clock explains belong to this cause too.
    ep_findings = [f for f in facts.of("endpoint.unreachable", min_severity="info")
                   if f["data"].get("failure") in _CLOCK_FAILURES]
    if skew and groups:
        return Candidate("clock_wrong", "fail", "high", skew + tls_time + ep_findings,
                         {"offset": offset, "tls_detail": detail("clock.tls", tls_state=tls_state)},
                         silences={"payment_service_outage"})
    if skew:
        return Candidate("clock_wrong", worst(skew), "high", skew, {"offset": offset, "tls_detail": ""})
    # Unmeasured clock: several providers' certificates out of date, most of them, says it.
    seen = groups | ({p.provider or f"host:{p.name}" for p in facts.link.places if p.layer == "tls"}
                     or {e.provider for e in facts.endpoints})
    if len(groups) >= 2 and len(groups) * 2 >= len(seen) and clock_state(facts) != "right":
        unknown = facts.of("clock.unknown", "clock.ntp_blocked", min_severity="info")
        return Candidate("clock_wrong", "fail", "medium", tls_time + ep_findings + unknown,
                         {"offset": offset or detail("clock.unmeasured"),
                          "tls_detail": detail("clock.tls_unmeasured", tls_state=tls_state)},
                         silences={"payment_service_outage"})
    return None


def _blocked_everywhere(facts: Facts) -> list[FindingEntry] | None:
    """Every provider refuses, resets or errs while something else answers: a filter is in
    the way (firewall, ad blocker, "security" app). The findings, or None."""
    cases = provider_cases(facts)
    measured = [c for p, c in cases.items() if p in {e.provider for e in facts.endpoints}]
    if len(measured) < 2 or any(c.healthy for c in measured):
        return None
    if not all(c.rows and c.rows <= _BLOCKED_ROWS for c in measured) or not (
            facts.internet is True or facts.link.answered_beyond_dns()):
        return None
    return facts.of("endpoint.unreachable", "endpoint.http_error", "tls.handshake_failed")


def rule_proxy_vpn(facts: Facts) -> Candidate | None:
    fake_ip = facts.of("dns.fake_ip", min_severity="info")
    untrusted = facts.of("tls.untrusted_issuer", "tls.hostname_mismatch")
    untrusted_groups = {facts.group(f) for f in untrusted} or {
        e.provider for e in facts.endpoints if e.failure == "tls_unknown_authority"}
    named = [f for f in untrusted if f["data"].get("interceptor")]
    proxyish = facts.of(*PROXY_CODES, min_severity="info")
    what = join(targets(proxyish) or [f["code"] for f in proxyish])
    issuers = sorted({str(f["data"].get("interceptor") or f["data"].get("issuer"))
                      for f in untrusted if f["data"].get("interceptor") or f["data"].get("issuer")})
    issuer = join(issuers[:2]) if issuers else "?"
    count = len(set(targets(untrusted)) | {e.endpoint for e in facts.endpoints
                                          if e.failure == "tls_unknown_authority"})
    if fake_ip:
        parts = [detail("proxy.fake_ip")]
        if untrusted_groups:
            parts.append(detail("proxy.untrusted", count=count, issuer=issuer))
        return Candidate("proxy_vpn_interference", worst(fake_ip + untrusted), "high",
                         fake_ip + untrusted + proxyish, {"detail": sentences(parts)})
    if len(untrusted_groups) >= 2 or (untrusted_groups and (proxyish or named)):
        parts = [detail("proxy.untrusted", count=count, issuer=issuer)]
        if proxyish:
            parts.append(detail("proxy.present", what=what))
        sure = (proxyish or named) and len(untrusted_groups) >= 2
        return Candidate("proxy_vpn_interference", "fail", "high" if sure else "medium",
                         untrusted + proxyish, {"detail": sentences(parts)})
    return _proxy_in_the_way(facts, proxyish, what)


def _proxy_in_the_way(facts: Facts, proxyish: list[FindingEntry], what: Phrase) -> Candidate | None:
    """A proxy or VPN with payment connections failing, or every provider blocked alike."""
    active = [f for f in proxyish if SEVERITY_RANK.get(f["severity"], 0) >= 1
              or (f["code"] == "vpn.interface" and f["data"].get("default_route"))]
    if active:
        failing = [e for e in facts.endpoints if not e.ok] or facts.of("tls.handshake_failed")
        if failing:
            return Candidate("proxy_vpn_interference", "fail", "medium",
                             proxyish + facts.of("tls.handshake_failed"),
                             {"detail": detail("proxy.failing", what=what)})
        if any(SEVERITY_RANK.get(f["severity"], 0) >= 1 for f in proxyish):
            return Candidate("proxy_vpn_interference", "warn", "low", proxyish,
                             {"detail": detail("proxy.present", what=what)})
    blocked = _blocked_everywhere(facts)
    if blocked:
        failures = sorted({str(e.failure or f"HTTP {e.http_status}") for e in facts.endpoints if not e.ok})
        return Candidate("proxy_vpn_interference", "fail", "medium", blocked + proxyish,
                         {"detail": detail("proxy.blocked",
                                           failures=join(failures[:3]))})
    return None


def rule_device_resources(facts: Facts) -> Candidate | None:
    found = facts.of("device.low_memory", "device.low_storage", "device.low_battery", "device.high_load")
    if not found:
        return None
    items = [detail(f["code"], value=_resource_value(f["data"])) for f in found]
    return Candidate("device_resources", worst(found), "medium", found,
                     {"detail": detail("device.prefix", items=clauses(items))})


def _resource_value(data: dict[str, object]) -> Phrase:
    for key, unit in (("available_mb", "MB"), ("free_mb", "MB"), ("percent", "%"), ("load1", "")):
        if key in data:
            return measured(data[key], unit)
    return "?"


Rule = Callable[[Facts], "Candidate | list[Candidate] | None"]

# Order = precedence when severity and confidence tie.
RULES: list[tuple[str, Rule]] = [
    ("offline", rule_offline),
    ("captive_portal", rule_captive_portal),
    ("clock_wrong", rule_clock_wrong),
    ("proxy_vpn_interference", rule_proxy_vpn),
    ("dns_problem", rule_dns_problem),
    ("payment_service_outage", rule_payment_outage),
    ("network_unstable", rule_network_unstable),
    ("device_resources", rule_device_resources),
]
