"""Diagnosis: findings across checks -> ranked causes, plus a plain verdict.

All the rules live here, one small function each, in :data:`RULES`. A rule
reads the run's :class:`Facts` and returns a :class:`Candidate` (or None); the
candidates are then ranked and the ones another cause explains are dropped:

- ``offline`` outranks everything and silences every cause that needs a network
  (DNS, TLS, endpoints, captive portal...).
- ``captive_portal`` explains TLS, DNS and endpoint failures on that network.
- ``clock_wrong`` with TLS validity failures explains those failures: it is the
  clock, not an attack, and not an outage.

A wrong top cause is worse than none: when warn/fail findings remain that no
rule explains, the answer is the low-confidence ``inconclusive`` cause
(severity info), never a guess. The texts come from the message catalogs
(reports/i18n), so every cause reads the same in English and Chinese.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from payprobe.reports import catalog

_SEV_RANK = {"info": 0, "warn": 1, "fail": 2}
_CONF_RANK = {"low": 0, "medium": 1, "high": 2}
_MEASURED = ("ok", "warn", "fail")

# Failure codes that say "the path to the server is intercepted or the clock is
# wrong": a provider failing this way is not having an outage.
_TRUST_FAILURES = {"tls_unknown_authority", "tls_hostname_mismatch", "tls_cert_expired",
                   "tls_cert_not_yet_valid"}
_CLOCK_FAILURES = {"tls_cert_expired", "tls_cert_not_yet_valid"}
_UNREACHABLE_FAILURES = {"network_unreachable", "host_unreachable", "address_unavailable"}
_TIMEOUT_FAILURES = {"generic_timeout", "dns_timeout"}
_PROXY_CODES = ("proxy.env", "proxy.system", "proxy.local_listener", "vpn.interface")
# Causes that only make sense when there is a network at all.
_NETWORK_CHECKS = ("connectivity", "dns", "tls", "clock", "endpoints")
_NEEDS_NETWORK = {"captive_portal", "dns_problem", "proxy_vpn_interference",
                  "payment_service_outage", "network_unstable"}


# ------------------------------------------------------------------ facts


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

    checks: dict[str, dict[str, Any]]
    findings: list[dict[str, Any]]
    endpoints: list[EndpointState]
    internet: bool | None          # any connectivity URL answered; None: not measured
    lang: str = "en"

    def of(self, *codes: str, min_severity: str = "warn") -> list[dict[str, Any]]:
        floor = _SEV_RANK[min_severity]
        return [f for f in self.findings if f["code"] in codes and _SEV_RANK.get(f["severity"], 0) >= floor]

    def check_status(self, name: str) -> str | None:
        check = self.checks.get(name)
        return check.get("status") if check else None


def _facts(checks: list[dict[str, Any]], settings: Any, lang: str) -> Facts:
    by_name = {c.get("name", ""): c for c in checks}
    findings = [dict(f, check=c.get("name", "")) for c in checks for f in c.get("findings", []) or []]
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
    if internet is None and by_name.get("connectivity", {}).get("status") == "ok":
        internet = True
    return Facts(by_name, findings, endpoints, internet, catalog.norm_lang(lang))


def _endpoints_from_findings(check: dict[str, Any] | None, findings: list[dict[str, Any]],
                             settings: Any) -> list[EndpointState]:
    """Without the endpoints check's evidence (an older or third-party check),
    rebuild per-endpoint states from the config: an endpoint with no failure
    finding worked."""
    if not check or check.get("status") not in _MEASURED:
        return []
    failed = {f["target"]: f for f in findings
              if f["code"] in ("endpoint.unreachable", "endpoint.http_error")
              and (f["code"] == "endpoint.unreachable" or (f["data"].get("http_status") or 0) >= 500)}
    states = []
    for ep in getattr(settings, "endpoints", None) or []:
        f = failed.get(ep.name)
        states.append(EndpointState(ep.name, ep.provider or ep.name, f is None,
                                    f["data"].get("failure") if f else None,
                                    f["data"].get("http_status") if f else None))
    return states


# ------------------------------------------------------------------ candidates


@dataclass
class Candidate:
    code: str
    severity: str
    confidence: str
    findings: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    target: str = ""
    silences: set[str] = field(default_factory=set)   # cause codes this one explains away
    title_params: dict[str, Any] = field(default_factory=dict)


def _worst(findings: list[dict[str, Any]], floor: str = "warn") -> str:
    worst = max((_SEV_RANK.get(f["severity"], 0) for f in findings), default=0)
    return {0: floor, 1: "warn", 2: "fail"}[max(worst, _SEV_RANK[floor])]


def _targets(findings: list[dict[str, Any]]) -> list[str]:
    seen: list[str] = []
    for f in findings:
        if f.get("target") and f["target"] not in seen:
            seen.append(f["target"])
    return seen


def _d(key: str, facts: Facts, **params: Any) -> str:
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


# ------------------------------------------------------------------ rules


def rule_offline(facts: Facts) -> Candidate | None:
    offline = facts.of("net.offline")
    if offline:
        reason = offline[0]["data"].get("reason") or "no_route"
        if reason == "all_failed":
            # The link is up but no connectivity probe got through: "no internet", which
            # DNS or a firewall can also cause, so it does not silence the other causes.
            return Candidate("offline", offline[0]["severity"], "medium", offline,
                             {"detail": _d("offline.all_failed", facts)})
        detail = _d(f"offline.{reason}", facts) if reason in ("no_interface", "no_route",
                                                              "all_unreachable") else _d("offline.no_route", facts)
        return Candidate("offline", "fail", "high", offline, {"detail": detail}, silences=_NEEDS_NETWORK)
    eps = facts.endpoints
    if eps and facts.internet is not True and all(not e.ok and e.failure in _UNREACHABLE_FAILURES for e in eps):
        related = facts.of("endpoint.unreachable")
        return Candidate("offline", "fail", "high", related, {"detail": _d("offline.all_unreachable", facts)},
                         silences=_NEEDS_NETWORK)
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
    check = facts.checks.get("clock") or {}
    for m in check.get("metrics", []) or []:
        if m.get("name") == "clock_offset_seconds" and m.get("labels", {}).get("source") == "best":
            return float(m["value"])
    return None


def rule_clock_wrong(facts: Facts) -> Candidate | None:
    skew = facts.of("clock.skew")
    tls_time = facts.of("tls.not_yet_valid", "tls.expired", min_severity="info")
    ep_time = [e for e in facts.endpoints if e.failure in _CLOCK_FAILURES]
    time_targets = set(_targets(tls_time)) | {e.endpoint for e in ep_time}
    not_yet = bool(facts.of("tls.not_yet_valid", min_severity="info")) or any(
        e.failure == "tls_cert_not_yet_valid" for e in ep_time)
    tls_state = _d("tls.not_yet_valid" if not_yet else "tls.expired", facts)

    offset_s = _clock_offset_s(facts)
    offset = ""
    if offset_s is not None:
        # offset = reference - local: positive means the device clock is behind.
        amount = human_duration(offset_s, facts.lang)
        offset = _d("clock.behind" if offset_s > 0 else "clock.ahead", facts, amount=amount)

    # Endpoint failures that the wrong clock explains belong to this cause too.
    ep_findings = [f for f in facts.of("endpoint.unreachable", min_severity="info")
                   if f["data"].get("failure") in _CLOCK_FAILURES]
    if skew and time_targets:
        return Candidate("clock_wrong", "fail", "high", skew + tls_time + ep_findings,
                         {"offset": offset, "tls_detail": _d("clock.tls", facts, tls_state=tls_state)},
                         silences={"payment_service_outage"})
    if skew:
        return Candidate("clock_wrong", _worst(skew), "high", skew, {"offset": offset, "tls_detail": ""})
    clock_measured_fine = facts.check_status("clock") == "ok" and not facts.of(
        "clock.unknown", "clock.ntp_blocked", min_severity="info")
    if len(time_targets) >= 2 and not clock_measured_fine:
        unknown = facts.of("clock.unknown", "clock.ntp_blocked", min_severity="info")
        return Candidate("clock_wrong", "fail", "medium", tls_time + ep_findings + unknown,
                         {"offset": offset or _d("clock.unmeasured", facts), "tls_detail": _d("clock.tls_unmeasured", facts,
                                                                    tls_state=tls_state)},
                         silences={"payment_service_outage"})
    return None


def rule_proxy_vpn(facts: Facts) -> Candidate | None:
    fake_ip = facts.of("dns.fake_ip", min_severity="info")
    untrusted = facts.of("tls.untrusted_issuer", "tls.hostname_mismatch")
    untrusted_hosts = set(_targets(untrusted))
    untrusted_hosts |= {e.endpoint for e in facts.endpoints if e.failure == "tls_unknown_authority"}
    proxyish = facts.of(*_PROXY_CODES, min_severity="info")
    what = catalog.join(_targets(proxyish) or [f["code"] for f in proxyish], facts.lang)
    issuers = sorted({str(f["data"].get("issuer")) for f in untrusted if f["data"].get("issuer")})
    issuer = catalog.join(issuers[:2], facts.lang) or "?"

    if fake_ip:
        parts = [_d("proxy.fake_ip", facts)]
        if untrusted_hosts:
            parts.append(_d("proxy.untrusted", facts, count=len(untrusted_hosts), issuer=issuer))
        return Candidate("proxy_vpn_interference", _worst(fake_ip + untrusted), "high",
                         fake_ip + untrusted + proxyish, {"detail": " ".join(parts)})
    if len(untrusted_hosts) >= 2 or (untrusted_hosts and proxyish):
        parts = [_d("proxy.untrusted", facts, count=len(untrusted_hosts), issuer=issuer)]
        if proxyish:
            parts.append(_d("proxy.present", facts, what=what))
        confidence = "high" if proxyish and len(untrusted_hosts) >= 2 else "medium"
        return Candidate("proxy_vpn_interference", "fail", confidence, untrusted + proxyish,
                         {"detail": " ".join(parts)})
    active = [f for f in proxyish if _SEV_RANK.get(f["severity"], 0) >= 1
              or (f["code"] == "vpn.interface" and f["data"].get("default_route"))]
    if active:
        failing = [e for e in facts.endpoints if not e.ok] or facts.of("tls.handshake_failed")
        if failing:
            return Candidate("proxy_vpn_interference", "fail", "medium",
                             proxyish + facts.of("tls.handshake_failed"),
                             {"detail": _d("proxy.failing", facts, what=what)})
        if any(_SEV_RANK.get(f["severity"], 0) >= 1 for f in proxyish):
            return Candidate("proxy_vpn_interference", "warn", "low", proxyish,
                             {"detail": _d("proxy.present", facts, what=what)})
    return None


def rule_dns_problem(facts: Facts) -> Candidate | None:
    parts: list[str] = []
    used: list[dict[str, Any]] = []
    confidence = "low"

    def names(fs: list[dict[str, Any]]) -> str:
        return catalog.join(_targets(fs)[:3], facts.lang)

    hijack = facts.of("dns.hijack")
    if hijack:
        parts.append(_d("dns.hijack", facts, names=names(hijack)))
        used += hijack
        confidence = "high"
    failure = facts.of("dns.system_failure")
    if failure:
        alternates_work = any(f["data"].get("resolver_answers") for f in failure)
        parts.append(_d("dns.system_failure", facts, names=names(failure)))
        used += failure
        confidence = max(confidence, "high" if alternates_work else "medium", key=_CONF_RANK.get)
    rewrite = facts.of("dns.nxdomain_rewrite")
    if rewrite:
        parts.append(_d("dns.nxdomain_rewrite", facts))
        used += rewrite
        confidence = max(confidence, "medium", key=_CONF_RANK.get)
    slow = facts.of("dns.slow")
    if slow:
        parts.append(_d("dns.slow", facts, names=names(slow)))
        used += slow
        confidence = max(confidence, "medium", key=_CONF_RANK.get)
    if not used:
        return None
    used += facts.of("dns.resolver_unreachable")
    return Candidate("dns_problem", _worst(used), confidence, used, {"detail": " ".join(parts)})


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
    used: list[dict[str, Any]] = []
    strong = 0

    loss = facts.of("endpoint.loss")
    if loss:
        worst = max((float(f["data"].get("loss_ratio") or 0) for f in loss), default=0.0)
        items.append(_d("unstable.loss", facts, value=f"{worst:.0%}"))
        used += loss
        strong += 1
    weak = facts.of("net.weak_signal")
    if weak:
        rssi = weak[0]["data"].get("rssi_dbm")
        items.append(_d("unstable.weak_signal", facts, target=weak[0].get("target") or "",
                        value=f"{rssi} dBm" if rssi is not None else "?"))
        used += weak
        strong += 1
    link = facts.of("net.link_errors")
    if link:
        items.append(_d("unstable.link_errors", facts))
        used += link
        strong += 1
    slow = facts.of("endpoint.slow")
    total = len({e.endpoint for e in facts.endpoints}) or len(_targets(slow))
    slow_targets = _targets(slow)
    slow_providers = {f["data"].get("provider") for f in slow}
    # Slowness counts only when it is everywhere; one slow provider is that provider.
    if slow_targets and (len(slow_targets) * 2 >= total and len(slow_providers) >= 2):
        items.append(_d("unstable.slow", facts, count=len(slow_targets), total=total))
        used += slow
    bandwidth = facts.of("bandwidth.low")
    if bandwidth:
        items.append(_d("unstable.bandwidth", facts))
        used += bandwidth
    tls_slow = facts.of("tls.slow")
    if len(_targets(tls_slow)) >= 2:
        items.append(_d("unstable.tls_slow", facts))
        used += tls_slow
    eps = facts.endpoints
    if (eps and facts.internet is not True and all(not e.ok for e in eps)
            and all(e.failure in _TIMEOUT_FAILURES for e in eps)):
        items.append(_d("unstable.timeouts", facts))
        used += facts.of("endpoint.unreachable")
        strong += 1
    if not items:
        return None
    confidence = "high" if strong >= 1 and len(items) >= 2 else "medium"
    return Candidate("network_unstable", _worst(used), confidence, used,
                     {"detail": _d("unstable.prefix", facts, items=catalog.join(items, facts.lang))})


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
        items.append(_d(f["code"], facts, value=value))
    return Candidate("device_resources", _worst(found), "medium", found,
                     {"detail": _d("device.prefix", facts, items=catalog.join(items, facts.lang))})


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


# ------------------------------------------------------------------ combine


def _to_cause(c: Candidate, lang: str) -> dict[str, Any]:
    entry = catalog.cause_entry(c.code, lang) or {}
    params = {**c.params, **c.title_params}
    title = str(entry.get("title", c.code)).format_map(catalog._Blank(params))
    explanation = " ".join(str(entry.get("explanation", "")).format_map(catalog._Blank(params)).split())
    codes: list[str] = []
    for f in c.findings:
        if f["code"] not in codes:
            codes.append(f["code"])
    cause: dict[str, Any] = {
        "code": c.code, "severity": c.severity, "confidence": c.confidence, "title": title,
        "explanation": explanation,
        "remedies": [catalog.remedy(k, lang) for k in entry.get("remedies", [])],
        "findings": codes,
    }
    if c.target:
        cause["target"] = c.target
    return cause


def _rank(c: Candidate, order: int) -> tuple[int, int, int, int]:
    return (0 if c.code == "offline" else 1, -_SEV_RANK[c.severity], -_CONF_RANK[c.confidence], order)


def diagnose(checks: list[dict[str, Any]], *, lang: str = "en",
             settings: Any = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Ranked causes (most likely first) and the summary stored as report["summary"]."""
    lang = catalog.norm_lang(lang)
    facts = _facts(checks, settings, lang)

    candidates: list[tuple[Candidate, int]] = []
    for order, (_name, rule) in enumerate(RULES):
        result = rule(facts)
        for cand in (result if isinstance(result, list) else [result] if result else []):
            candidates.append((cand, order))

    # Most likely first; a cause is dropped when one ranked above it explains it away
    # (offline silences everything that needs a network, a portal the TLS failures...).
    candidates.sort(key=lambda co: _rank(*co))
    kept: list[tuple[Candidate, int]] = []
    silenced: set[str] = set()
    for cand, order in candidates:
        if cand.code in silenced:
            continue
        kept.append((cand, order))
        silenced |= cand.silences
    causes = [_to_cause(c, lang) for c, _ in kept]

    measured = [c for c in checks if c.get("status") in _MEASURED]
    explained = {(f["code"], f.get("target")) for c, _ in kept for f in c.findings}
    unexplained = [f for f in facts.findings if _SEV_RANK.get(f["severity"], 0) >= 1
                   and (f["code"], f.get("target")) not in explained]
    if not causes and (unexplained or not measured):
        codes = sorted({f["code"] for f in unexplained})
        detail = (_d("inconclusive.findings", facts, codes=", ".join(codes)) if unexplained
                  else _d("inconclusive.unmeasured", facts))
        causes.append(_to_cause(Candidate("inconclusive", "info", "low", unexplained,
                                          {"detail": detail}), lang))
    return causes, _summary(checks, causes, facts, measured)


def _summary(checks: list[dict[str, Any]], causes: list[dict[str, Any]], facts: Facts,
             measured: list[dict[str, Any]]) -> dict[str, Any]:
    lang = facts.lang
    real = [c for c in causes if c["code"] != "inconclusive"]
    warned = any(_SEV_RANK.get(f["severity"], 0) >= 1 for f in facts.findings)
    if not measured:
        verdict_code = "unknown"
    elif real:
        verdict_code = "cause"
    elif causes:
        verdict_code = "inconclusive"
    else:
        verdict_code = "minor" if warned else "network_ok"
    # "Your network is fine" only when the network was actually looked at.
    ran = [c.get("name", "") for c in measured]
    missing = [n for n in _NETWORK_CHECKS if n not in ran]
    if verdict_code in ("network_ok", "minor") and missing:
        verdict_code = "nothing_found"
    verdict = catalog.text("summary", f"verdict.{verdict_code}", lang,
                           title=real[0]["title"] if real else "", checks=", ".join(ran),
                           missing=", ".join(missing))

    blamed = {code.split(".")[0] for c in real for code in c["findings"]}
    ruled_out = []
    for name in ("connectivity", "dns", "tls", "clock", "proxy", "endpoints", "device"):
        check = facts.checks.get(name)
        prefix = {"connectivity": "net", "endpoints": "endpoint"}.get(name, name)
        if check and check.get("status") == "ok" and prefix not in blamed:
            ruled_out.append(catalog.text("summary", f"ruled_out.{name}", lang))

    if verdict_code in ("network_ok", "minor", "inconclusive", "nothing_found"):
        next_keys = ["real_name", "limits", "restriction", "bank_risk", "app_outdated", "contact"]
        intro = catalog.text("summary", "next.intro", lang)
    elif verdict_code == "cause":
        next_keys, intro = ["follow_remedies"], ""
    else:
        next_keys, intro = ["contact"], ""
    return {
        "verdict": verdict,
        "verdict_code": verdict_code,
        "network_ok": verdict_code in ("network_ok", "minor"),
        "top_cause": real[0]["code"] if real else None,
        "ruled_out": ruled_out,
        "next_steps_intro": intro,
        "next_steps": [catalog.text("summary", f"next.{k}", lang) for k in next_keys],
    }
