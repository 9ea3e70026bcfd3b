"""Who is to blame (issue 12): one test per row of the provider rule table
(reports/blame.py, HACKING.md "Diagnosis rules"), the lossy link, a name that does not
resolve, IPv6, and the neighbours of each: one provider failing vs all, clock
right vs wrong, IPv4 vs IPv6, English and Chinese."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from payprobe.reports.blame import TABLE

from tests.diagnosis_runs import HOST, RESOLVERS, URLS, Run, Tls, finding, lost

ROOT = Path(__file__).resolve().parent.parent
OTHERS = ("Alipay OpenAPI", "UnionPay Gateway", "Stripe API")


def codes(causes: list[dict[str, Any]]) -> list[str]:
    return [c["code"] for c in causes]


def outages(causes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in causes if c["code"] == "payment_service_outage"]


def the_outage(run: Run, provider: str) -> dict[str, Any]:
    causes, summary = run.diagnose()
    assert codes(causes)[:1] == ["payment_service_outage"], causes
    assert causes[0]["target"] == provider and len(outages(causes)) == 1
    assert summary["top_cause"] == "payment_service_outage"
    return causes[0]


# ------------------------------------------------------------------ the table itself


def test_rule_table_when_compared_with_docs_lists_every_row() -> None:
    doc = (ROOT / "HACKING.md").read_text(encoding="utf-8")
    for row in TABLE:
        assert f"| `{row.key}` |" in doc, row.key
    assert {row.state for row in TABLE} == {"down", "slow", "certificate", ""}


# ------------------------------------------------------------------ certificate rows


def test_outage_when_one_provider_cert_expired_and_clock_right_names_it_certificate() -> None:
    cause = the_outage(Run().cert("Stripe API", "tls.expired", not_after="2024-01-31T00:00:00Z",
                                  valid_by_reference_clock=False), "stripe")
    assert cause["confidence"] == "high" and cause["severity"] == "fail"
    assert cause["title"] == "Stripe's server certificate is misconfigured"
    assert "expired on 2024-01-31" in cause["explanation"] and "clock is right" in cause["explanation"]
    assert "tls.expired" in cause["findings"]


def test_outage_when_one_provider_cert_expired_gives_chinese_certificate_wording() -> None:
    causes, _ = Run().cert("Stripe API", "tls.expired", not_after="2024-01-31T00:00:00Z").diagnose("zh")
    assert causes[0]["title"] == "Stripe 的服务器证书配置有误"
    assert "2024-01-31" in causes[0]["explanation"] and "手机时间是准确的" in causes[0]["explanation"]


def test_outage_when_one_provider_cert_not_yet_valid_and_clock_unmeasured_is_medium() -> None:
    run = Run().cert("UnionPay Gateway", "tls.not_yet_valid", not_before="2031-01-01T00:00:00Z")
    run.clock = ("unknown", 0.0)
    cause = the_outage(run, "unionpay")
    assert cause["confidence"] == "medium" and "valid only from 2031-01-01" in cause["explanation"]


def test_clock_wrong_when_every_provider_cert_not_yet_valid_and_clock_behind_is_not_an_outage() -> None:
    run = Run()
    for name in HOST:
        run.cert(name, "tls.not_yet_valid", valid_by_reference_clock=True)
    run.clock = ("skew", 2 * 86400.0)
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "clock_wrong" and not outages(causes)


def test_inconclusive_when_every_provider_cert_expired_but_clock_right_says_what_conflicts() -> None:
    run = Run()
    for name in HOST:
        run.cert(name, "tls.expired")
    causes, summary = run.diagnose()
    assert codes(causes) == ["inconclusive"] and summary["verdict_code"] == "inconclusive"
    assert "expired" in causes[0]["explanation"] and "clock is right" in causes[0]["explanation"]
    zh, _ = run.diagnose("zh")
    assert "手机时间是准确的" in zh[0]["explanation"]


def test_outage_when_one_provider_hostname_mismatch_names_it_certificate() -> None:
    cause = the_outage(Run().cert("Alipay OpenAPI", "tls.hostname_mismatch", sans=["*.example.net"]), "alipay")
    assert cause["confidence"] == "medium" and "certificate for other names (*.example.net)" in cause["explanation"]


def test_proxy_when_every_provider_hostname_mismatch_is_not_an_outage() -> None:
    run = Run()
    for name in HOST:
        run.cert(name, "tls.hostname_mismatch", sans=["portal.example"])
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "proxy_vpn_interference" and not outages(causes)


def test_dns_when_one_provider_hostname_mismatch_and_its_name_hijacked_is_not_an_outage() -> None:
    run = Run().cert("Alipay OpenAPI", "tls.hostname_mismatch")
    run.dns_findings.append(finding("dns.hijack", "fail", HOST["Alipay OpenAPI"], resolver="system"))
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "dns_problem" and not outages(causes)


def test_outage_when_one_provider_untrusted_issuer_without_proxy_names_it_certificate() -> None:
    cause = the_outage(Run().cert("UnionPay Gateway", "tls.untrusted_issuer", issuer="CN=UnionPay Old CA"),
                       "unionpay")
    assert "UnionPay Old CA" in cause["explanation"]


@pytest.mark.parametrize("twist", ["interceptor", "local_proxy", "two_providers"])
def test_proxy_when_untrusted_issuer_is_an_interceptor_is_not_an_outage(twist: str) -> None:
    run = Run().cert("UnionPay Gateway", "tls.untrusted_issuer", issuer="CN=Charles Proxy CA",
                     interceptor="Charles Proxy" if twist == "interceptor" else None)
    if twist == "local_proxy":
        run.other_checks.append({"name": "proxy", "version": "1", "status": "warn", "duration_s": 0.1,
                                 "summary": "", "metrics": [], "error": None, "evidence": [],
                                 "findings": [finding("proxy.local_listener", "warn", "127.0.0.1:8888",
                                                      port=8888)]})
    if twist == "two_providers":
        run.cert("Stripe API", "tls.untrusted_issuer", issuer="CN=Charles Proxy CA")
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "proxy_vpn_interference" and not outages(causes)


# ------------------------------------------------------------------ down rows


def test_outage_when_one_provider_answers_502_names_it_down() -> None:
    run = Run()
    run.eps["WeChat Pay API"].status = run.eps["WeChat Pay API v3"].status = 502
    cause = the_outage(run, "wechatpay")
    assert cause["title"] == "WeChat Pay is not answering" and cause["confidence"] == "high"
    assert "server error (HTTP 502)" in cause["explanation"]


def test_proxy_when_every_provider_answers_502_is_not_an_outage() -> None:
    run = Run()
    for ep in run.eps.values():
        ep.status = 502
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "proxy_vpn_interference" and not outages(causes)
    assert "blocking" in causes[0]["explanation"]


def test_outage_when_one_provider_refuses_connections_names_it_down() -> None:
    cause = the_outage(Run().down("UnionPay Gateway", "connection_refused"), "unionpay")
    assert cause["confidence"] == "high" and "connections refused" in cause["explanation"]


def test_proxy_when_every_provider_refuses_connections_is_not_an_outage() -> None:
    run = Run()
    for name in HOST:
        run.down(name, "connection_refused")
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "proxy_vpn_interference" and not outages(causes)


def test_outage_when_one_provider_resets_connections_names_it_down() -> None:
    cause = the_outage(Run().down("Alipay OpenAPI", "connection_reset", phase="tls"), "alipay")
    assert "connections cut off" in cause["explanation"]


def test_outage_when_one_provider_blackholed_and_link_clean_names_it_down_high() -> None:
    run = Run().down("WeChat Pay API").down("WeChat Pay API v3")
    cause = the_outage(run, "wechatpay")
    assert cause["confidence"] == "high" and "does not answer connection attempts" in cause["explanation"]
    assert "network_unstable" not in codes(run.diagnose()[0])


def test_outage_when_one_provider_accepts_but_never_answers_says_it_stalls() -> None:
    cause = the_outage(Run().down("Stripe API", phase="http"), "stripe")
    assert "accepts connections but never answers" in cause["explanation"]


def test_network_unstable_when_every_provider_times_out_while_check_urls_answer() -> None:
    run = Run()
    for name in HOST:
        run.down(name)
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "network_unstable" and not outages(causes)
    assert "every payment service times out" in causes[0]["explanation"]


def test_offline_when_every_endpoint_network_unreachable_and_nothing_answers() -> None:
    run = Run()
    for name in HOST:
        run.down(name, "network_unreachable")
    run.urls = dict.fromkeys(URLS, "network_unreachable")
    run.offline_reason = "all_unreachable"
    run.system = dict.fromkeys(run.system, "dns_timeout")
    run.resolvers = {r: dict.fromkeys(a, "dns_timeout") for r, a in run.resolvers.items()}
    run.ntp = dict.fromkeys(run.ntp, "network_unreachable")
    causes, _ = run.diagnose()
    assert codes(causes) == ["offline"] and causes[0]["confidence"] == "high"


def test_outage_when_one_provider_network_unreachable_names_it_down() -> None:
    cause = the_outage(Run().down("Stripe API", "host_unreachable"), "stripe")
    assert "no route to its servers" in cause["explanation"]


def test_outage_when_one_provider_handshake_fails_names_it_down() -> None:
    cause = the_outage(Run().down("Stripe API", "tls_handshake_failed", phase="tls"), "stripe")
    assert "fails (tls_handshake_failed)" in cause["explanation"]


# ------------------------------------------------------------------ slow rows


def test_outage_when_one_provider_first_byte_slow_names_it_slow_or_overloaded() -> None:
    run = Run()
    run.eps["Stripe API"].slow = ("ttfb", 1500.0)
    cause = the_outage(run, "stripe")
    assert cause["title"] == "Stripe is slow or overloaded"
    assert cause["severity"] == "fail" and cause["confidence"] == "high"
    assert "first byte after 1500 ms" in cause["explanation"]
    zh, _ = run.diagnose("zh")
    assert zh[0]["title"] == "Stripe 响应慢或过载" and "1500 毫秒" in zh[0]["explanation"]


def test_outage_when_one_provider_connect_slow_at_warn_is_a_medium_warning() -> None:
    run = Run()
    run.eps["UnionPay Gateway"].slow = ("connect", 600.0)
    cause = the_outage(run, "unionpay")
    assert cause["severity"] == "warn" and cause["confidence"] == "medium"
    assert "connecting takes 600 ms" in cause["explanation"]


def test_outage_when_one_provider_answers_503_names_it_overloaded() -> None:
    run = Run()
    run.eps["Alipay OpenAPI"].status = 503
    cause = the_outage(run, "alipay")
    assert cause["title"] == "Alipay is slow or overloaded" and "busy (HTTP 503)" in cause["explanation"]


def test_network_unstable_when_every_provider_slow_is_not_an_outage() -> None:
    run = Run()
    for ep in run.eps.values():
        ep.slow = ("ttfb", 900.0)
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "network_unstable" and not outages(causes)


def test_no_slow_outage_when_one_provider_slow_on_a_lossy_link() -> None:
    run = _lossy(Run())
    run.eps["Stripe API"].slow = ("ttfb", 1500.0)
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "network_unstable" and not outages(causes)


# ------------------------------------------------------------------ never the provider's


def test_no_outage_when_one_provider_loses_some_samples_gives_network_unstable() -> None:
    run = Run()
    run.eps["Stripe API"].samples = [lost(), {"failure": None, "phase": None}, lost(),
                                     {"failure": None, "phase": None}]
    causes, _ = run.diagnose()
    assert not outages(causes) and codes(causes)[0] == "network_unstable"


@pytest.mark.parametrize("style", ["findings", "evidence"])
def test_dns_problem_when_one_providers_name_does_not_exist_is_not_an_outage(style: str) -> None:
    run = Run(style).unresolved("Stripe API")
    causes, summary = run.diagnose()
    assert codes(causes) == ["dns_problem"] and causes[0]["severity"] == "fail"
    assert "api.stripe.com" in causes[0]["explanation"] and "configuration" in causes[0]["explanation"]
    if style == "findings":
        assert {"endpoint.unreachable", "tls.handshake_failed"} <= set(causes[0]["findings"])


@pytest.mark.parametrize("style", ["findings", "evidence"])
def test_dns_problem_when_system_resolver_fails_one_name_others_resolve_lists_per_name_failures(
        style: str) -> None:
    run = Run(style).unresolved("Alipay OpenAPI", "dns_servfail", everywhere=False)
    causes, _ = run.diagnose()
    assert codes(causes) == ["dns_problem"] and causes[0]["confidence"] == "high"
    assert "dns.system_failure" in causes[0]["findings"]
    if style == "findings":
        assert {"endpoint.unreachable", "tls.handshake_failed"} <= set(causes[0]["findings"])


@pytest.mark.parametrize("style", ["findings", "evidence"])
def test_dns_problem_when_system_resolver_says_nxdomain_but_others_resolve_is_not_a_missing_name(
        style: str) -> None:
    run = Run(style).unresolved("UnionPay Gateway", "dns_nxdomain", everywhere=False)
    causes, _ = run.diagnose()
    assert codes(causes) == ["dns_problem"] and causes[0]["confidence"] == "high"
    assert "while other resolvers answer" in causes[0]["explanation"]
    assert "configuration" not in causes[0]["explanation"]


@pytest.mark.parametrize("style", ["findings", "evidence"])
def test_dns_problem_when_one_name_fails_at_every_resolver_says_it_is_that_names_dns(style: str) -> None:
    run = Run(style).unresolved("Stripe API", "dns_servfail")
    causes, _ = run.diagnose()
    assert codes(causes) == ["dns_problem"] and not outages(causes) and causes[0]["severity"] == "fail"
    assert "nor at the other resolvers" in causes[0]["explanation"]
    assert "while other resolvers answer" not in causes[0]["explanation"]


# ------------------------------------------------------------------ a lossy link


def _lossy(run: Run) -> Run:
    """Tries lost at random: a sample here and there, DNS queries, one check URL."""
    pattern = [[0], [1, 3], [2], [0, 2], [1]]
    for ep, drops in zip(run.eps.values(), pattern, strict=True):
        ep.samples = [lost() if i in drops else {"failure": None, "phase": None} for i in range(4)]
    run.system[HOST["UnionPay Gateway"]] = "dns_timeout"
    run.resolvers["AliDNS"][HOST["Stripe API"]] = "dns_timeout"
    run.resolvers["DNSPod"][HOST["Alipay OpenAPI"]] = "dns_timeout"
    run.urls[URLS[1]] = "generic_timeout"
    return run


def test_network_unstable_when_losses_scattered_across_layers_and_providers() -> None:
    causes, summary = _lossy(Run()).diagnose()
    assert codes(causes)[0] == "network_unstable" and summary["top_cause"] == "network_unstable"
    top = causes[0]
    assert top["confidence"] == "high"
    assert "lost at random" in top["explanation"] and "7 of 20 tries to payment servers lost" in top["explanation"]
    assert any("mobile data" in r for r in top["remedies"])
    assert not {"offline", "dns_problem", "payment_service_outage", "inconclusive"} & set(codes(causes))
    zh, _ = _lossy(Run()).diagnose("zh")
    assert "数据包随机丢失" in zh[0]["explanation"] and any("移动数据" in r for r in zh[0]["remedies"])


def test_network_unstable_when_lossy_and_no_check_url_answers_is_never_offline() -> None:
    run = _lossy(Run())
    run.urls = dict.fromkeys(URLS, "dns_timeout")
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "network_unstable" and "offline" not in codes(causes)


def test_no_outage_when_lossy_link_took_all_of_one_providers_samples() -> None:
    run = _lossy(Run())
    for name in OTHERS[:2]:
        run.eps[name].samples = [lost(), lost(), {"failure": None, "phase": None}, lost()]
    run.down("Stripe API")
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "network_unstable" and not outages(causes)


def test_no_dns_problem_when_system_timeouts_and_alternates_time_out_the_same_way() -> None:
    run = _lossy(Run())
    run.system[HOST["Stripe API"]] = "dns_timeout"     # confirmed by DNSPod: a fail finding
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "network_unstable" and "dns_problem" not in codes(causes)


def test_dns_problem_when_only_the_system_resolver_drops_queries_on_a_clean_link() -> None:
    run = Run()
    run.system[HOST["UnionPay Gateway"]] = "dns_timeout"
    run.system[HOST["Stripe API"]] = "dns_timeout"
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "dns_problem" and "network_unstable" not in codes(causes)


@pytest.mark.parametrize("answering", ["alternate_resolver", "ntp_server"])
def test_dns_problem_when_system_resolver_dead_and_something_answers_is_not_offline(answering: str) -> None:
    run = Run()
    for name in HOST:
        run.unresolved(name, "dns_timeout", everywhere=answering != "alternate_resolver")
    run.urls = dict.fromkeys(URLS, "dns_timeout")
    run.ntp = {"ntp.aliyun.com": "dns_timeout", "203.107.6.88": None}
    if answering == "ntp_server":
        run.resolvers = {r: dict.fromkeys(a, "dns_timeout") for r, a in run.resolvers.items()}
    causes, summary = run.diagnose()
    assert codes(causes)[0] == "dns_problem" and "offline" not in codes(causes)
    assert causes[0]["severity"] == "fail" and causes[0]["confidence"] == "high"
    assert "Private DNS" in causes[0]["explanation"]
    assert "203.107.6.88" in causes[0]["explanation"] or "AliDNS" in causes[0]["explanation"]
    zh, _ = run.diagnose("zh")
    assert "私人DNS" in zh[0]["explanation"]


def test_offline_when_system_resolver_dead_and_nothing_else_answers() -> None:
    run = Run()
    for name in HOST:
        run.unresolved(name, "dns_timeout")
    run.urls = dict.fromkeys(URLS, "dns_timeout")
    run.ntp = dict.fromkeys(run.ntp, "dns_timeout")
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "offline"


def test_not_offline_when_route_unreadable_but_an_endpoint_answers() -> None:
    run = Run()
    run.offline_reason = "no_route"
    run.urls = dict.fromkeys(URLS, "generic_timeout")
    causes, _ = run.diagnose()
    assert "offline" not in codes(causes)
    assert codes(causes) == ["inconclusive"] and "did." in causes[0]["explanation"]


# ------------------------------------------------------------------ IPv4 and IPv6


def _ipv6(run: Run, code: str) -> Run:
    run.conn_findings.append(finding(code, "warn", "", aaaa_names=2))
    return run


def test_network_unstable_warn_when_ipv6_broken_and_ipv4_works_with_ipv6_remedies() -> None:
    causes, summary = _ipv6(Run(), "net.ipv6_broken").diagnose()
    assert codes(causes) == ["network_unstable"] and not outages(causes)
    top = causes[0]
    assert top["severity"] == "warn" and top["confidence"] == "high"
    assert "IPv6 does not work" in top["explanation"]
    assert "router" in top["remedies"][0] and "IPv6" in top["remedies"][0]
    assert any("feel slow" in r for r in top["remedies"])
    zh, _ = _ipv6(Run(), "net.ipv6_broken").diagnose("zh")
    assert "IPv6 不通" in zh[0]["explanation"] and "路由器" in zh[0]["remedies"][0]


def test_network_unstable_warn_when_ipv6_much_slower_than_ipv4() -> None:
    causes, _ = _ipv6(Run(), "net.ipv6_slow").diagnose()
    assert codes(causes) == ["network_unstable"] and causes[0]["severity"] == "warn"
    assert "much slower than IPv4" in causes[0]["explanation"]


def test_no_cause_when_ipv4_only_and_everything_works() -> None:
    causes, summary = Run().diagnose()
    assert causes == [] and summary["verdict_code"] == "network_ok"


# ------------------------------------------------------------------ inconclusive


def test_inconclusive_when_tls_fails_on_a_provider_whose_endpoints_answer_says_so() -> None:
    run = Run()
    run.tls[HOST["Alipay OpenAPI"]] = Tls(False, "tls_handshake_failed", "handshake")
    causes, _ = run.diagnose()
    assert codes(causes) == ["inconclusive"]
    assert "endpoints check reached that provider (Alipay OpenAPI)" in causes[0]["explanation"]


def test_inconclusive_when_one_endpoint_fails_while_its_sibling_works_says_so() -> None:
    run = Run().down("WeChat Pay API", "connection_refused")
    run.tls[HOST["WeChat Pay API"]] = Tls()
    causes, _ = run.diagnose()
    assert codes(causes) == ["inconclusive"]
    assert "WeChat Pay API v3 of the same provider works" in causes[0]["explanation"]


def test_no_inconclusive_when_only_an_alternate_resolver_is_unreachable() -> None:
    run = Run()
    run.resolvers[RESOLVERS[1]] = dict.fromkeys(run.resolvers[RESOLVERS[1]], "dns_timeout")
    causes, summary = run.diagnose()
    assert causes == [] and summary["verdict_code"] == "minor"
