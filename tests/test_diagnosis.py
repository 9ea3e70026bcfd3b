"""Diagnosis rules, one synthetic run per rule, plus ranking and the verdict."""

from __future__ import annotations

from typing import Any

import pytest
from payprobe.reports.diagnosis import RULES, diagnose

from tests.test_render import _check, _finding

PROVIDERS = [("Alipay OpenAPI", "alipay"), ("WeChat Pay API", "wechatpay"),
             ("WeChat Pay API v3", "wechatpay"), ("UnionPay Gateway", "unionpay")]


def endpoints_check(failing: dict[str, tuple[str | None, int | None]] | None = None,
                    findings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The endpoints check with one evidence item per endpoint; ``failing`` maps
    endpoint name -> (failure, http_status)."""
    failing = failing or {}
    evidence = []
    auto_findings = []
    for name, provider in PROVIDERS:
        failure, http_status = failing.get(name, (None, 200))
        ok = name not in failing
        evidence.append({"what": "endpoint", "endpoint": name, "provider": provider, "group": "cn",
                         "ok": ok, "failure": failure, "http_status": http_status})
        if not ok:
            auto_findings.append(_finding("endpoint.unreachable", "fail", f"{name}: {failure}", name,
                                          provider=provider, group="cn", failure=failure,
                                          http_status=http_status))
    all_findings = auto_findings + (findings or [])
    status = "fail" if any(f["severity"] == "fail" for f in all_findings) else (
        "warn" if all_findings else "ok")
    return _check("endpoints", status, "", findings=all_findings, evidence=evidence)


def connectivity(ok: bool = True, findings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    status = "ok" if not findings else max((f["severity"] for f in findings), key=["info", "warn", "fail"].index)
    return _check("connectivity", "ok" if status == "info" else status, "",
                  findings=findings, evidence=[{"what": "internet", "ok": ok}])


def ok_checks(*names: str) -> list[dict[str, Any]]:
    return [_check(n, "ok", "fine") for n in names]


def codes(causes: list[dict[str, Any]]) -> list[str]:
    return [c["code"] for c in causes]


def run(checks: list[dict[str, Any]], lang: str = "en") -> tuple[list[dict[str, Any]], dict[str, Any]]:
    return diagnose(checks, lang=lang, settings=None)


# ------------------------------------------------------------------ rules


def test_offline_when_net_offline_finding_outranks_everything() -> None:
    checks = [connectivity(False, [_finding("net.offline", "fail", "no route", reason="no_route")]),
              _check("dns", "fail", "", findings=[_finding("dns.system_failure", "fail", "x", "a.com")]),
              _check("clock", "fail", "", findings=[_finding("clock.skew", "fail", "x", offset_s=900.0)]),
              endpoints_check({n: ("network_unreachable", None) for n, _ in PROVIDERS})]
    causes, summary = run(checks)
    assert causes[0]["code"] == "offline" and causes[0]["confidence"] == "high"
    assert "dns_problem" not in codes(causes) and "payment_service_outage" not in codes(causes)
    assert "no route" in causes[0]["explanation"]
    assert summary["top_cause"] == "offline"


def test_offline_when_every_endpoint_is_network_unreachable() -> None:
    checks = [_check("connectivity", "fail", "", evidence=[{"what": "internet", "ok": False}]),
              endpoints_check({n: ("network_unreachable", None) for n, _ in PROVIDERS})]
    causes, _ = run(checks)
    assert codes(causes)[0] == "offline"


def test_captive_portal_explains_tls_and_endpoint_failures() -> None:
    checks = [connectivity(False, [_finding("net.captive_portal", "fail", "portal", "connect.rom.miui.com",
                                            status=302, portal_host="login.hotel.example")]),
              _check("tls", "fail", "", findings=[
                  _finding("tls.untrusted_issuer", "fail", "x", "openapi.alipay.com", issuer="Portal CA"),
                  _finding("tls.untrusted_issuer", "fail", "x", "api.mch.weixin.qq.com", issuer="Portal CA")]),
              endpoints_check({n: ("tls_unknown_authority", None) for n, _ in PROVIDERS[:2]})]
    causes, _ = run(checks)
    assert codes(causes) == ["captive_portal"]
    assert causes[0]["target"] == "login.hotel.example"
    assert "tls.untrusted_issuer" in causes[0]["findings"]


def test_clock_wrong_with_not_yet_valid_is_the_clock_not_an_attack() -> None:
    checks = [connectivity(True),
              _check("clock", "fail", "", findings=[_finding("clock.skew", "fail", "x", "ntp.aliyun.com",
                                                             offset_s=7200.0)]),
              _check("tls", "fail", "", findings=[
                  _finding("tls.not_yet_valid", "fail", "x", "openapi.alipay.com", failure="tls_cert_not_yet_valid"),
                  _finding("tls.not_yet_valid", "fail", "x", "gateway.95516.com", failure="tls_cert_not_yet_valid")]),
              endpoints_check({n: ("tls_cert_not_yet_valid", None) for n, p in PROVIDERS if p == "alipay"})]
    causes, _ = run(checks)
    assert codes(causes) == ["clock_wrong"]
    assert causes[0]["severity"] == "fail" and causes[0]["confidence"] == "high"
    assert "2 h behind" in causes[0]["explanation"]
    assert "not an attack" in causes[0]["explanation"]


def test_clock_skew_alone_is_still_a_cause() -> None:
    checks = [connectivity(True), endpoints_check(),
              _check("clock", "warn", "", findings=[_finding("clock.skew", "warn", "x", offset_s=-95.0)])]
    causes, _ = run(checks)
    assert codes(causes) == ["clock_wrong"]
    assert causes[0]["severity"] == "warn"
    assert "2 min ahead" in causes[0]["explanation"]


def test_clock_wrong_medium_when_several_certs_not_yet_valid_and_clock_unmeasured() -> None:
    checks = [connectivity(True),
              _check("clock", "warn", "", findings=[_finding("clock.unknown", "warn", "no reference")]),
              _check("tls", "fail", "", findings=[
                  _finding("tls.not_yet_valid", "fail", "x", "a.example"),
                  _finding("tls.not_yet_valid", "fail", "x", "b.example")])]
    causes, _ = run(checks)
    assert causes[0]["code"] == "clock_wrong" and causes[0]["confidence"] == "medium"


def test_not_yet_valid_with_a_correct_clock_is_not_blamed_on_the_clock() -> None:
    checks = [connectivity(True), _check("clock", "ok", "fine"),
              _check("tls", "fail", "", findings=[
                  _finding("tls.not_yet_valid", "fail", "x", "a.example"),
                  _finding("tls.not_yet_valid", "fail", "x", "b.example")])]
    causes, _ = run(checks)
    assert "clock_wrong" not in codes(causes)
    assert codes(causes) == ["inconclusive"] and causes[0]["confidence"] == "low"
    # inconclusive says what conflicts: the certificates' dates against a right clock.
    assert "not yet valid" in causes[0]["explanation"] and "clock is right" in causes[0]["explanation"]


def test_proxy_vpn_interference_untrusted_issuer_on_several_hosts_with_a_proxy() -> None:
    checks = [connectivity(True),
              _check("proxy", "warn", "", findings=[_finding("proxy.local_listener", "warn", "x",
                                                             "127.0.0.1:7890", port=7890)]),
              _check("tls", "fail", "", findings=[
                  _finding("tls.untrusted_issuer", "fail", "x", "openapi.alipay.com", issuer="mitmproxy"),
                  _finding("tls.untrusted_issuer", "fail", "x", "api.mch.weixin.qq.com", issuer="mitmproxy")])]
    causes, _ = run(checks)
    assert causes[0]["code"] == "proxy_vpn_interference" and causes[0]["confidence"] == "high"
    assert "mitmproxy" in causes[0]["explanation"]


def test_proxy_vpn_interference_from_fake_ip_dns() -> None:
    checks = [connectivity(True), endpoints_check(),
              _check("dns", "warn", "", findings=[_finding("dns.fake_ip", "warn", "198.18.0.7", "openapi.alipay.com")])]
    causes, _ = run(checks)
    assert codes(causes) == ["proxy_vpn_interference"]
    assert "198.18" in causes[0]["explanation"]


@pytest.mark.parametrize("finding,confidence", [
    (_finding("dns.hijack", "fail", "x", "openapi.alipay.com"), "high"),
    (_finding("dns.system_failure", "fail", "x", "openapi.alipay.com",
              resolver_answers={"AliDNS": ["110.75.1.1"]}), "high"),
    (_finding("dns.nxdomain_rewrite", "warn", "x", "nonexistent.example"), "medium"),
    (_finding("dns.slow", "warn", "x", "system"), "medium"),
])
def test_dns_problem_from_each_dns_finding(finding: dict[str, Any], confidence: str) -> None:
    checks = [connectivity(True), endpoints_check(), _check("dns", finding["severity"], "", findings=[finding])]
    causes, _ = run(checks)
    assert codes(causes) == ["dns_problem"]
    assert causes[0]["confidence"] == confidence
    assert causes[0]["findings"] == [finding["code"]]


def test_payment_service_outage_names_the_provider() -> None:
    checks = [connectivity(True),
              endpoints_check({"WeChat Pay API": ("generic_timeout", None), "WeChat Pay API v3": (None, 503)})]
    causes, summary = run(checks)
    assert codes(causes) == ["payment_service_outage"]
    assert causes[0]["target"] == "wechatpay"
    assert causes[0]["title"] == "WeChat Pay is not answering"
    assert causes[0]["confidence"] == "high"
    zh_causes, _ = run(checks, lang="zh")
    assert "微信支付" in zh_causes[0]["title"]


def test_no_outage_when_the_general_internet_is_down() -> None:
    checks = [_check("connectivity", "fail", "", evidence=[{"what": "internet", "ok": False}]),
              endpoints_check({n: ("generic_timeout", None) for n, _ in PROVIDERS})]
    causes, _ = run(checks)
    assert "payment_service_outage" not in codes(causes)


def test_outage_when_check_urls_fail_but_other_providers_answer_is_only_medium() -> None:
    # The other providers answering is the internet answering (issue 12): the check
    # URLs may be blocked here, so the outage stands, with less confidence.
    checks = [_check("connectivity", "fail", "", evidence=[{"what": "internet", "ok": False}]),
              endpoints_check({"WeChat Pay API": ("generic_timeout", None),
                               "WeChat Pay API v3": ("generic_timeout", None)})]
    causes, _ = run(checks)
    assert codes(causes) == ["payment_service_outage"] and causes[0]["confidence"] == "medium"


def test_no_outage_when_every_provider_fails() -> None:
    checks = [connectivity(True), endpoints_check({n: ("connection_reset", None) for n, _ in PROVIDERS})]
    causes, _ = run(checks)
    assert "payment_service_outage" not in codes(causes)


def test_network_unstable_from_loss_and_weak_signal() -> None:
    checks = [connectivity(True, [_finding("net.weak_signal", "warn", "x", "wifi", rssi_dbm=-82,
                                           threshold_dbm=-75)]),
              endpoints_check(findings=[_finding("endpoint.loss", "warn", "x", "Alipay OpenAPI", provider="alipay",
                                                 loss_ratio=0.4)])]
    causes, _ = run(checks)
    assert codes(causes) == ["network_unstable"]
    assert causes[0]["confidence"] == "high"
    assert "-82 dBm" in causes[0]["explanation"] and "40%" in causes[0]["explanation"]


def test_slowness_of_one_provider_only_is_that_providers_slow_outage_not_network_unstable() -> None:
    checks = [connectivity(True),
              endpoints_check(findings=[_finding("endpoint.slow", "warn", "x", "UnionPay Gateway",
                                                 provider="unionpay", p50_ms=900, phase="ttfb")])]
    causes, _ = run(checks)
    assert "network_unstable" not in codes(causes)
    assert codes(causes) == ["payment_service_outage"] and causes[0]["target"] == "unionpay"
    assert causes[0]["title"] == "UnionPay is slow or overloaded" and causes[0]["severity"] == "warn"


def test_network_unstable_when_slow_everywhere() -> None:
    slow = [_finding("endpoint.slow", "warn", "x", n, provider=p, p50_ms=700) for n, p in PROVIDERS]
    causes, _ = run([connectivity(True), endpoints_check(findings=slow)])
    assert codes(causes) == ["network_unstable"]


def test_device_resources_from_low_memory_and_battery() -> None:
    checks = [connectivity(True), endpoints_check(),
              _check("device", "warn", "", findings=[_finding("device.low_memory", "warn", "x", available_mb=90),
                                                      _finding("device.low_battery", "warn", "x", percent=8)])]
    causes, _ = run(checks)
    assert codes(causes) == ["device_resources"]
    assert "90 MB" in causes[0]["explanation"] and "8%" in causes[0]["explanation"]


# ------------------------------------------------------------------ verdicts


def test_network_fine_says_so_and_lists_what_a_probe_cannot_see() -> None:
    checks = [connectivity(True), endpoints_check(), *ok_checks("dns", "tls", "clock", "proxy", "device")]
    causes, summary = run(checks)
    assert causes == []
    assert summary["verdict_code"] == "network_ok" and summary["network_ok"] is True
    assert "Your network is fine" in summary["verdict"]
    assert len(summary["ruled_out"]) == 7
    joined = " ".join(summary["next_steps"])
    for needle in ("实名认证", "daily limits", "restricted", "risk control", "outdated app"):
        assert needle in joined
    _, zh = run(checks, lang="zh")
    assert "您的网络没有问题" in zh["verdict"] and any("实名认证" in s for s in zh["next_steps"])


def test_network_not_called_fine_when_network_checks_did_not_run() -> None:
    causes, summary = run(ok_checks("device"))
    assert causes == [] and summary["verdict_code"] == "nothing_found"
    assert summary["network_ok"] is False and "connectivity" in summary["verdict"]


def test_nothing_measured_gives_low_confidence_inconclusive() -> None:
    checks = [_check("dns", "error", "", error="unknown_failure"), _check("tls", "timeout", "")]
    causes, summary = run(checks)
    assert codes(causes) == ["inconclusive"] and causes[0]["severity"] == "info"
    assert summary["verdict_code"] == "unknown"


def test_every_rule_has_a_catalog_entry_in_both_languages() -> None:
    from payprobe.reports import catalog
    for name, _ in RULES:
        for lang in ("en", "zh"):
            entry = catalog.cause_entry(name, lang)
            assert entry and entry["remedies"], (name, lang)


def test_causes_validate_against_the_schema() -> None:
    from payprobe.reports.model import validate

    from tests.test_render import sample_report
    report = sample_report()
    causes, summary = run([connectivity(True),
                           endpoints_check({"WeChat Pay API": ("generic_timeout", None),
                                            "WeChat Pay API v3": (None, 503)})])
    report["causes"], report["summary"] = causes, summary
    assert validate(report) == []


def test_no_internet_with_a_link_up_is_a_medium_confidence_offline_that_silences_nothing():
    from payprobe.reports.diagnosis import diagnose
    checks = [
        {"name": "connectivity", "version": "1", "status": "warn", "duration_s": 1.0, "summary": "",
         "metrics": [], "error": None, "evidence": [{"what": "internet", "ok": False}],
         "findings": [{"code": "net.offline", "severity": "warn", "message": "no check URL answered",
                       "target": "", "data": {"reason": "all_failed"}}]},
        {"name": "dns", "version": "1", "status": "fail", "duration_s": 1.0, "summary": "",
         "metrics": [], "error": None, "evidence": [],
         "findings": [{"code": "dns.system_failure", "severity": "fail", "message": "system resolver fails",
                       "target": "openapi.alipay.com", "data": {"confirmed": True}}]},
    ]
    causes, _ = diagnose(checks, lang="en", settings=None)
    codes = [c["code"] for c in causes]
    offline = next(c for c in causes if c["code"] == "offline")
    assert offline["confidence"] == "medium" and offline["severity"] == "warn"
    assert "dns_problem" in codes
