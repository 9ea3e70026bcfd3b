"""The diagnosis rules: one small function per cause, in :data:`RULES`.

A rule reads the run's :class:`~payprobe.reports.facts.Facts` and returns a
:class:`~payprobe.reports.facts.Candidate` (or None; the outage rule returns one
per provider). Rules do not know about each other: which cause explains which
away is said by ``silences`` and settled by the ranking in
payprobe.reports.diagnosis. The order of :data:`RULES` breaks ties.
"""

from __future__ import annotations

from collections.abc import Callable

from payprobe.api import SEVERITY_RANK
from payprobe.reports import catalog
from payprobe.reports.facts import (
    CONFIDENCE_RANK,
    Candidate,
    EndpointState,
    Facts,
    detail,
    human_duration,
    targets,
    worst,
)
from payprobe.reports.types import FindingEntry

# Failure codes that say "the path to the server is intercepted or the clock is
# wrong": a provider failing this way is not having an outage.
_TRUST_FAILURES = {"tls_unknown_authority", "tls_hostname_mismatch", "tls_cert_expired",
                   "tls_cert_not_yet_valid"}
_CLOCK_FAILURES = {"tls_cert_expired", "tls_cert_not_yet_valid"}
_UNREACHABLE_FAILURES = {"network_unreachable", "host_unreachable", "address_unavailable"}
_TIMEOUT_FAILURES = {"generic_timeout", "dns_timeout"}
_PROXY_CODES = ("proxy.env", "proxy.system", "proxy.local_listener", "vpn.interface")
# Causes that only make sense when there is a network at all.
NEEDS_NETWORK = {"captive_portal", "dns_problem", "proxy_vpn_interference",
                 "payment_service_outage", "network_unstable"}


def rule_offline(facts: Facts) -> Candidate | None:
    offline = facts.of("net.offline")
    if offline:
        reason = offline[0]["data"].get("reason") or "no_route"
        if reason == "all_failed":
            # The link is up but no connectivity probe got through: "no internet", which
            # DNS or a firewall can also cause, so it does not silence the other causes.
            return Candidate("offline", offline[0]["severity"], "medium", offline,
                             {"detail": detail("offline.all_failed", facts)})
        known = reason in ("no_interface", "no_route", "all_unreachable")
        text = detail(f"offline.{reason}" if known else "offline.no_route", facts)
        return Candidate("offline", "fail", "high", offline, {"detail": text}, silences=NEEDS_NETWORK)
    eps = facts.endpoints
    if eps and facts.internet is not True and all(not e.ok and e.failure in _UNREACHABLE_FAILURES for e in eps):
        related = facts.of("endpoint.unreachable")
        return Candidate("offline", "fail", "high", related, {"detail": detail("offline.all_unreachable", facts)},
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
    return Candidate("captive_portal", "fail", "high", portal + explained, {"target": target},
                     target=str(target),
                     silences={"payment_service_outage", "dns_problem", "network_unstable",
                               "proxy_vpn_interference"})


def _clock_offset_s(facts: Facts) -> float | None:
    for f in facts.of("clock.skew", min_severity="info"):
        if isinstance(f["data"].get("offset_s"), (int, float)):
            return float(f["data"]["offset_s"])
    check = facts.checks.get("clock")
    for m in (check.get("metrics") or []) if check else []:
        if m.get("name") == "clock_offset_seconds" and m.get("labels", {}).get("source") == "best":
            return float(m["value"])
    return None


def rule_clock_wrong(facts: Facts) -> Candidate | None:
    skew = facts.of("clock.skew")
    tls_time = facts.of("tls.not_yet_valid", "tls.expired", min_severity="info")
    ep_time = [e for e in facts.endpoints if e.failure in _CLOCK_FAILURES]
    time_targets = set(targets(tls_time)) | {e.endpoint for e in ep_time}
    not_yet = bool(facts.of("tls.not_yet_valid", min_severity="info")) or any(
        e.failure == "tls_cert_not_yet_valid" for e in ep_time)
    tls_state = detail("tls.not_yet_valid" if not_yet else "tls.expired", facts)

    offset_s = _clock_offset_s(facts)
    offset = ""
    if offset_s is not None:
        # offset = reference - local: positive means the device clock is behind.
        amount = human_duration(offset_s, facts.lang)
        offset = detail("clock.behind" if offset_s > 0 else "clock.ahead", facts, amount=amount)

    # Endpoint failures that the wrong clock explains belong to this cause too.
    ep_findings = [f for f in facts.of("endpoint.unreachable", min_severity="info")
                   if f["data"].get("failure") in _CLOCK_FAILURES]
    if skew and time_targets:
        return Candidate("clock_wrong", "fail", "high", skew + tls_time + ep_findings,
                         {"offset": offset, "tls_detail": detail("clock.tls", facts, tls_state=tls_state)},
                         silences={"payment_service_outage"})
    if skew:
        return Candidate("clock_wrong", worst(skew), "high", skew, {"offset": offset, "tls_detail": ""})
    clock_measured_fine = facts.check_status("clock") == "ok" and not facts.of(
        "clock.unknown", "clock.ntp_blocked", min_severity="info")
    if len(time_targets) >= 2 and not clock_measured_fine:
        unknown = facts.of("clock.unknown", "clock.ntp_blocked", min_severity="info")
        return Candidate("clock_wrong", "fail", "medium", tls_time + ep_findings + unknown,
                         {"offset": offset or detail("clock.unmeasured", facts),
                          "tls_detail": detail("clock.tls_unmeasured", facts, tls_state=tls_state)},
                         silences={"payment_service_outage"})
    return None


def rule_proxy_vpn(facts: Facts) -> Candidate | None:
    fake_ip = facts.of("dns.fake_ip", min_severity="info")
    untrusted = facts.of("tls.untrusted_issuer", "tls.hostname_mismatch")
    untrusted_hosts = set(targets(untrusted))
    untrusted_hosts |= {e.endpoint for e in facts.endpoints if e.failure == "tls_unknown_authority"}
    proxyish = facts.of(*_PROXY_CODES, min_severity="info")
    what = catalog.join(targets(proxyish) or [f["code"] for f in proxyish], facts.lang)
    issuers = sorted({str(f["data"].get("issuer")) for f in untrusted if f["data"].get("issuer")})
    issuer = catalog.join(issuers[:2], facts.lang) or "?"

    if fake_ip:
        parts = [detail("proxy.fake_ip", facts)]
        if untrusted_hosts:
            parts.append(detail("proxy.untrusted", facts, count=len(untrusted_hosts), issuer=issuer))
        return Candidate("proxy_vpn_interference", worst(fake_ip + untrusted), "high",
                         fake_ip + untrusted + proxyish, {"detail": " ".join(parts)})
    if len(untrusted_hosts) >= 2 or (untrusted_hosts and proxyish):
        parts = [detail("proxy.untrusted", facts, count=len(untrusted_hosts), issuer=issuer)]
        if proxyish:
            parts.append(detail("proxy.present", facts, what=what))
        confidence = "high" if proxyish and len(untrusted_hosts) >= 2 else "medium"
        return Candidate("proxy_vpn_interference", "fail", confidence, untrusted + proxyish,
                         {"detail": " ".join(parts)})
    active = [f for f in proxyish if SEVERITY_RANK.get(f["severity"], 0) >= 1
              or (f["code"] == "vpn.interface" and f["data"].get("default_route"))]
    if active:
        failing = [e for e in facts.endpoints if not e.ok] or facts.of("tls.handshake_failed")
        if failing:
            return Candidate("proxy_vpn_interference", "fail", "medium",
                             proxyish + facts.of("tls.handshake_failed"),
                             {"detail": detail("proxy.failing", facts, what=what)})
        if any(SEVERITY_RANK.get(f["severity"], 0) >= 1 for f in proxyish):
            return Candidate("proxy_vpn_interference", "warn", "low", proxyish,
                             {"detail": detail("proxy.present", facts, what=what)})
    return None


def _surer(confidence: str, other: str) -> str:
    """The higher of two confidences (the first one on a tie)."""
    return confidence if CONFIDENCE_RANK[confidence] >= CONFIDENCE_RANK[other] else other


def rule_dns_problem(facts: Facts) -> Candidate | None:
    parts: list[str] = []
    used: list[FindingEntry] = []
    confidence = "low"

    def names(fs: list[FindingEntry]) -> str:
        return catalog.join(targets(fs)[:3], facts.lang)

    hijack = facts.of("dns.hijack")
    if hijack:
        parts.append(detail("dns.hijack", facts, names=names(hijack)))
        used += hijack
        confidence = "high"
    failure = facts.of("dns.system_failure")
    if failure:
        alternates_work = any(f["data"].get("resolver_answers") for f in failure)
        parts.append(detail("dns.system_failure", facts, names=names(failure)))
        used += failure
        confidence = _surer(confidence, "high" if alternates_work else "medium")
    rewrite = facts.of("dns.nxdomain_rewrite")
    if rewrite:
        parts.append(detail("dns.nxdomain_rewrite", facts))
        used += rewrite
        confidence = _surer(confidence, "medium")
    slow = facts.of("dns.slow")
    if slow:
        parts.append(detail("dns.slow", facts, names=names(slow)))
        used += slow
        confidence = _surer(confidence, "medium")
    if not used:
        return None
    used += facts.of("dns.resolver_unreachable")
    return Candidate("dns_problem", worst(used), confidence, used, {"detail": " ".join(parts)})


def rule_payment_outage(facts: Facts) -> list[Candidate]:
    if facts.internet is False:
        return []
    by_provider: dict[str, list[EndpointState]] = {}
    for e in facts.endpoints:
        by_provider.setdefault(e.provider, []).append(e)
    working = {p for p, eps in by_provider.items() if any(e.ok for e in eps)}
    out: list[Candidate] = []
    for provider, eps in by_provider.items():
        if any(e.ok for e in eps) or not (working - {provider}):
            continue
        # Interception or a wrong clock makes a provider look down; other rules own that.
        if all(e.failure in _TRUST_FAILURES for e in eps):
            continue
        has_5xx = any((e.http_status or 0) >= 500 for e in eps)
        confidence = "high" if (len(eps) >= 2 or has_5xx) and facts.internet else "medium"
        names = {e.endpoint for e in eps}
        related = [f for f in facts.of("endpoint.unreachable", "endpoint.http_error", "endpoint.loss",
                                       "endpoint.slow")
                   if f.get("target") in names or f["data"].get("provider") == provider]
        failures = catalog.join([f"{e.endpoint}: {e.failure or ('HTTP ' + str(e.http_status))}"
                                 for e in eps], facts.lang)
        display = catalog.provider_name(provider, facts.lang)
        out.append(Candidate("payment_service_outage", "fail", confidence, related,
                             {"provider": display, "detail": failures}, target=provider,
                             title_params={"provider": display}))
    return out


def rule_network_unstable(facts: Facts) -> Candidate | None:
    items: list[str] = []
    used: list[FindingEntry] = []
    strong = 0

    loss = facts.of("endpoint.loss")
    if loss:
        worst_ratio = max((float(f["data"].get("loss_ratio") or 0) for f in loss), default=0.0)
        items.append(detail("unstable.loss", facts, value=f"{worst_ratio:.0%}"))
        used += loss
        strong += 1
    weak = facts.of("net.weak_signal")
    if weak:
        rssi = weak[0]["data"].get("rssi_dbm")
        items.append(detail("unstable.weak_signal", facts, target=weak[0].get("target") or "",
                            value=f"{rssi} dBm" if rssi is not None else "?"))
        used += weak
        strong += 1
    link = facts.of("net.link_errors")
    if link:
        items.append(detail("unstable.link_errors", facts))
        used += link
        strong += 1
    slow = facts.of("endpoint.slow")
    total = len({e.endpoint for e in facts.endpoints}) or len(targets(slow))
    slow_targets = targets(slow)
    slow_providers = {f["data"].get("provider") for f in slow}
    # Slowness counts only when it is everywhere; one slow provider is that provider.
    if slow_targets and (len(slow_targets) * 2 >= total and len(slow_providers) >= 2):
        items.append(detail("unstable.slow", facts, count=len(slow_targets), total=total))
        used += slow
    bandwidth = facts.of("bandwidth.low")
    if bandwidth:
        items.append(detail("unstable.bandwidth", facts))
        used += bandwidth
    tls_slow = facts.of("tls.slow")
    if len(targets(tls_slow)) >= 2:
        items.append(detail("unstable.tls_slow", facts))
        used += tls_slow
    eps = facts.endpoints
    if (eps and facts.internet is not True and all(not e.ok for e in eps)
            and all(e.failure in _TIMEOUT_FAILURES for e in eps)):
        items.append(detail("unstable.timeouts", facts))
        used += facts.of("endpoint.unreachable")
        strong += 1
    if not items:
        return None
    confidence = "high" if strong >= 1 and len(items) >= 2 else "medium"
    return Candidate("network_unstable", worst(used), confidence, used,
                     {"detail": detail("unstable.prefix", facts, items=catalog.join(items, facts.lang))})


def rule_device_resources(facts: Facts) -> Candidate | None:
    found = facts.of("device.low_memory", "device.low_storage", "device.low_battery", "device.high_load")
    if not found:
        return None
    items = []
    for f in found:
        data = f["data"]
        if "available_mb" in data:
            value = f"{data['available_mb']} MB"
        elif "free_mb" in data:
            value = f"{data['free_mb']} MB"
        elif "percent" in data:
            value = f"{data['percent']}%"
        elif "load1" in data:
            value = f"{data['load1']}"
        else:
            value = "?"
        items.append(detail(f["code"], facts, value=value))
    return Candidate("device_resources", worst(found), "medium", found,
                     {"detail": detail("device.prefix", facts, items=catalog.join(items, facts.lang))})


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
