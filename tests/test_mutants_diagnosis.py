"""The diagnosis, pinned whole (mutation testing, docs/mutation.md).

Each scenario below is a run the field gives (a provider down, slow or with a bad
certificate, a lossy or offline link, a wrong clock, DNS, a proxy, the device) and
the test compares everything the diagnosis says about it: every cause's code,
severity, confidence, target, title, explanation, remedies and findings, and the
summary's verdict, keys and top cause. The expected values are the diagnosis as
reviewed when these tests were written: a change to a rule, a rank, a threshold or a
wording shows up here as a diff to read, and is then either a bug or a new
expectation to copy in. Unit tests for the helpers the rules share follow.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from payprobe.reports import blame, diagnosis, evidence, outage, unstable
from payprobe.reports import facts as fx
from payprobe.reports.diagnosis import diagnose
from payprobe.reports.evidence import Place
from payprobe.reports.facts import EndpointState, Facts
from payprobe.reports.link import LinkView
from payprobe.reports.summary import verdict_code

from tests.diagnosis_runs import HOST, SETTINGS, URLS, Run, finding, lost
from tests.test_diagnosis import PROVIDERS, connectivity, endpoints_check, ok_checks
from tests.test_diagnosis_blame import _lossy
from tests.test_diagnosis_path import bandwidth_check, hop, mtu_finding, path_check, with_checks
from tests.test_render import _check, _finding

Scenario = Callable[[], tuple[list[dict[str, Any]], Any]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Registers a scenario: it returns a Run, or (checks, settings)."""
    def build() -> tuple[list[dict[str, Any]], Any]:
        made = fn()
        return (made.checks(), SETTINGS) if isinstance(made, Run) else made
    SCENARIOS[fn.__name__] = build
    return fn


def _each(run: Run, how: Callable[[Run, str], Any]) -> Run:
    for name in HOST:
        how(run, name)
    return run


# ------------------------------------------------------------------ scenarios: runs in the field


@scenario
def healthy() -> Run:
    return Run()


@scenario
def one_provider_times_out() -> Run:
    return Run().down("Alipay OpenAPI")


@scenario
def one_provider_refuses() -> Run:
    return Run().down("UnionPay Gateway", "connection_refused")


@scenario
def one_provider_resets_in_tls() -> Run:
    return Run().down("Alipay OpenAPI", "connection_reset", phase="tls")


@scenario
def one_provider_stalls_after_connecting() -> Run:
    return Run().down("Stripe API", phase="http")


@scenario
def one_provider_host_unreachable() -> Run:
    return Run().down("Stripe API", "host_unreachable")


@scenario
def one_provider_handshake_fails() -> Run:
    return Run().down("Stripe API", "tls_handshake_failed", phase="tls")


@scenario
def one_provider_both_endpoints_blackholed() -> Run:
    return Run().down("WeChat Pay API").down("WeChat Pay API v3")


@scenario
def every_provider_times_out() -> Run:
    return _each(Run(), lambda r, n: r.down(n))


@scenario
def every_provider_refuses() -> Run:
    return _each(Run(), lambda r, n: r.down(n, "connection_refused"))


@scenario
def everything_unreachable() -> Run:
    run = _each(Run(), lambda r, n: r.down(n, "network_unreachable"))
    run.urls = dict.fromkeys(URLS, "network_unreachable")
    run.offline_reason = "all_unreachable"
    run.system = dict.fromkeys(run.system, "dns_timeout")
    run.resolvers = {r: dict.fromkeys(a, "dns_timeout") for r, a in run.resolvers.items()}
    run.ntp = dict.fromkeys(run.ntp, "network_unreachable")
    return run


@scenario
def one_cert_expired() -> Run:
    return Run().cert("Stripe API", "tls.expired", not_after="2024-01-31T00:00:00Z")


@scenario
def one_cert_not_yet_valid_clock_unknown() -> Run:
    run = Run().cert("UnionPay Gateway", "tls.not_yet_valid", not_before="2031-01-01T00:00:00Z")
    run.clock = ("unknown", 0.0)
    return run


@scenario
def every_cert_not_yet_valid_clock_behind() -> Run:
    run = _each(Run(), lambda r, n: r.cert(n, "tls.not_yet_valid", valid_by_reference_clock=True))
    run.clock = ("skew", 2 * 86400.0)
    return run


@scenario
def every_cert_expired_clock_right() -> Run:
    return _each(Run(), lambda r, n: r.cert(n, "tls.expired"))


@scenario
def one_hostname_mismatch() -> Run:
    return Run().cert("Alipay OpenAPI", "tls.hostname_mismatch", sans=["*.example.net"])


@scenario
def every_hostname_mismatch() -> Run:
    return _each(Run(), lambda r, n: r.cert(n, "tls.hostname_mismatch", sans=["portal.example"]))


@scenario
def hostname_mismatch_with_hijacked_name() -> Run:
    run = Run().cert("Alipay OpenAPI", "tls.hostname_mismatch")
    run.dns_findings.append(finding("dns.hijack", "fail", HOST["Alipay OpenAPI"], resolver="system"))
    return run


@scenario
def one_untrusted_issuer() -> Run:
    return Run().cert("UnionPay Gateway", "tls.untrusted_issuer", issuer="CN=UnionPay Old CA")


@scenario
def untrusted_issuer_named_interceptor() -> Run:
    return Run().cert("UnionPay Gateway", "tls.untrusted_issuer", issuer="CN=Charles Proxy CA",
                      interceptor="Charles Proxy")


@scenario
def untrusted_issuer_with_local_proxy() -> Run:
    run = Run().cert("UnionPay Gateway", "tls.untrusted_issuer", issuer="CN=Charles Proxy CA")
    run.other_checks.append(_check("proxy", "warn", "", findings=[
        finding("proxy.local_listener", "warn", "127.0.0.1:8888", port=8888)]))
    return run


@scenario
def untrusted_issuer_on_two_providers() -> Run:
    return (Run().cert("UnionPay Gateway", "tls.untrusted_issuer", issuer="CN=Charles Proxy CA")
            .cert("Stripe API", "tls.untrusted_issuer", issuer="CN=Charles Proxy CA"))


@scenario
def one_provider_answers_502() -> Run:
    run = Run()
    run.eps["WeChat Pay API"].status = run.eps["WeChat Pay API v3"].status = 502
    return run


@scenario
def every_provider_answers_502() -> Run:
    run = Run()
    for ep in run.eps.values():
        ep.status = 502
    return run


@scenario
def one_provider_answers_503() -> Run:
    run = Run()
    run.eps["Alipay OpenAPI"].status = 503
    return run


@scenario
def one_provider_first_byte_slow() -> Run:
    run = Run()
    run.eps["Stripe API"].slow = ("ttfb", 1500.0)
    return run


@scenario
def one_provider_connect_slow_warn() -> Run:
    run = Run()
    run.eps["UnionPay Gateway"].slow = ("connect", 600.0)
    return run


@scenario
def every_provider_slow() -> Run:
    run = Run()
    for ep in run.eps.values():
        ep.slow = ("ttfb", 900.0)
    return run


@scenario
def one_provider_slow_on_a_lossy_link() -> Run:
    run = _lossy(Run())
    run.eps["Stripe API"].slow = ("ttfb", 1500.0)
    return run


@scenario
def lossy_link() -> Run:
    return _lossy(Run())


@scenario
def one_provider_loses_some_samples() -> Run:
    run = Run()
    run.eps["Stripe API"].samples = [lost(), {"failure": None, "phase": None}, lost(),
                                     {"failure": None, "phase": None}]
    return run


@scenario
def one_name_missing_everywhere() -> Run:
    return Run().unresolved("Stripe API")


@scenario
def one_name_missing_everywhere_as_evidence() -> Run:
    return Run("evidence").unresolved("Stripe API")


@scenario
def system_resolver_servfail_one_name() -> Run:
    return Run().unresolved("Alipay OpenAPI", "dns_servfail", everywhere=False)


@scenario
def system_resolver_servfail_one_name_as_evidence() -> Run:
    return Run("evidence").unresolved("Alipay OpenAPI", "dns_servfail", everywhere=False)


@scenario
def system_resolver_nxdomain_one_name() -> Run:
    return Run().unresolved("UnionPay Gateway", "dns_nxdomain", everywhere=False)


@scenario
def system_resolver_dead() -> Run:
    run = Run()
    run.system = dict.fromkeys(run.system, "dns_timeout")
    for name in HOST:
        run.eps[name].resolve = "dns_timeout"
        run.tls[HOST[name]] = run.tls[HOST[name]].__class__(False, "dns_timeout", "resolve")
    return run


@scenario
def clock_far_behind() -> Run:
    run = Run()
    run.clock = ("skew", 4000.0)
    return run


@scenario
def clock_slightly_ahead() -> Run:
    run = Run()
    run.clock = ("skew", -95.0)
    return run


@scenario
def clock_behind_with_not_yet_valid_cert() -> Run:
    run = Run().cert("Alipay OpenAPI", "tls.not_yet_valid")
    run.clock = ("skew", 4000.0)
    return run


@scenario
def loss_starts_at_the_router() -> Run:
    return with_checks(path_check([hop("Alipay OpenAPI", "local", 1), hop("UnionPay Gateway", "local", 1)]))


@scenario
def loss_starts_in_the_isp() -> Run:
    return with_checks(path_check([hop("WeChat Pay API", "isp", 5, 25.0)]))


@scenario
def loss_at_one_provider_edge_while_it_answers() -> Run:
    return with_checks(path_check([hop("Alipay OpenAPI", "provider_edge", 9, 30.0)],
                                  clean=("WeChat Pay API", "UnionPay Gateway")))


@scenario
def loss_at_provider_edge_and_it_is_down() -> Run:
    run = Run().down("Stripe API", "generic_timeout")
    run.other_checks.append(path_check([hop("Stripe API", "provider_edge", 11, 100.0)]))
    return run


@scenario
def loss_at_every_provider_edge() -> Run:
    return with_checks(path_check([hop(n, "provider_edge", 9, 30.0) for n in HOST]))


@scenario
def bufferbloat() -> Run:
    return with_checks(bandwidth_check(28.0, 940.0))


@scenario
def large_packets_lost() -> Run:
    run = Run()
    run.tls_findings.append(mtu_finding("Alipay OpenAPI", "UnionPay Gateway"))
    return run


@scenario
def large_packets_lost_with_bufferbloat() -> Run:
    run = with_checks(bandwidth_check())
    run.tls_findings.append(mtu_finding("Alipay OpenAPI"))
    return run


@scenario
def tls_fails_where_the_endpoint_works() -> Run:
    run = Run()
    run.tls_findings.append(finding("tls.handshake_failed", "fail", HOST["Alipay OpenAPI"],
                                    failure="connection_reset", phase="handshake"))
    return run


@scenario
def one_of_two_endpoints_of_a_provider_down() -> Run:
    return Run().down("WeChat Pay API")


@scenario
def one_of_two_endpoints_of_a_provider_stalls() -> Run:
    return Run().down("WeChat Pay API", phase="http")


@scenario
def offline_said_but_servers_answered() -> Run:
    run = Run()
    run.offline_reason = "no_route"
    return run


@scenario
def check_urls_fail_everything_else_answers() -> Run:
    run = Run()
    run.urls = dict.fromkeys(URLS, "generic_timeout")
    return run


@scenario
def a_tls_warning_on_a_working_provider() -> Run:
    run = Run()
    run.tls_findings.append(finding("tls.weak_cipher", "warn", HOST["Stripe API"]))
    return run


@scenario
def one_provider_tls_slow() -> Run:
    run = Run()
    run.tls_findings.append(finding("tls.slow", "warn", HOST["UnionPay Gateway"], handshake_ms=950.4))
    return run


@scenario
def one_cert_expired_only_by_the_reference_clock() -> Run:
    run = Run()
    run.tls_findings.append(finding("tls.expired", "warn", HOST["Stripe API"], valid_by_reference_clock=False))
    return run


@scenario
def one_cert_expired_by_the_reference_clock_clock_unknown() -> Run:
    run = Run().cert("Stripe API", "tls.expired", not_after="2024-01-31T00:00:00Z", valid_by_reference_clock=False)
    run.clock = ("unknown", 0.0)
    return run


@scenario
def two_certs_expired_by_the_reference_clock() -> Run:
    return (Run().cert("Stripe API", "tls.expired", valid_by_reference_clock=False)
            .cert("UnionPay Gateway", "tls.expired", valid_by_reference_clock=False))


@scenario
def one_cert_expired_with_fake_ip_dns() -> Run:
    run = Run().cert("Stripe API", "tls.expired")
    run.dns_findings.append(finding("dns.fake_ip", "warn", HOST["Alipay OpenAPI"]))
    return run


@scenario
def one_hostname_mismatch_with_a_vpn() -> Run:
    run = Run().cert("Alipay OpenAPI", "tls.hostname_mismatch", sans=["a.example", "b.example", "c.example",
                                                                      "d.example"])
    run.other_checks.append(_check("proxy", "info", "", findings=[finding("vpn.interface", "info", "tun0")]))
    return run


@scenario
def loss_at_one_provider_edge_nothing_else_seen() -> Any:
    run = Run()
    return [run.checks()[0], path_check([hop("Alipay OpenAPI", "provider_edge")])], SETTINGS


@scenario
def loss_at_one_provider_edge_another_traced_clean() -> Any:
    run = Run()
    return [run.checks()[0], path_check([hop("Alipay OpenAPI", "provider_edge")], clean=("Stripe API",))], SETTINGS


@scenario
def loss_at_two_provider_edges_among_many() -> Run:
    return with_checks(path_check([hop("Alipay OpenAPI", "provider_edge", 9, 30.0),
                                   hop("UnionPay Gateway", "provider_edge", 7, 20.0)],
                                  clean=("WeChat Pay API", "Stripe API")))


@scenario
def loss_at_one_edge_two_endpoints_same_hop() -> Run:
    return with_checks(path_check([hop("WeChat Pay API", "provider_edge", 9, 30.0),
                                   hop("WeChat Pay API v3", "provider_edge", 9, 30.0)],
                                  clean=("Alipay OpenAPI",)))


@scenario
def one_provider_down_on_a_lossy_link() -> Run:
    return _lossy(Run()).down("UnionPay Gateway")


@scenario
def one_provider_refuses_on_a_lossy_link() -> Run:
    return _lossy(Run()).down("UnionPay Gateway", "connection_refused")


@scenario
def one_provider_4xx() -> Run:
    run = Run()
    run.eps["UnionPay Gateway"].status = 429
    return run


# ------------------------------------------------------------------ scenarios: hand-made checks


def _checks(*checks: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    return list(checks), None


@scenario
def offline_outranks_everything() -> Any:
    return _checks(connectivity(False, [_finding("net.offline", "fail", "no route", reason="no_route")]),
                   _check("dns", "fail", "", findings=[_finding("dns.system_failure", "fail", "x", "a.com")]),
                   _check("clock", "fail", "", findings=[_finding("clock.skew", "fail", "x", offset_s=900.0)]),
                   endpoints_check({n: ("network_unreachable", None) for n, _ in PROVIDERS}))


@scenario
def every_endpoint_network_unreachable() -> Any:
    return _checks(_check("connectivity", "fail", "", evidence=[{"what": "internet", "ok": False}]),
                   endpoints_check({n: ("network_unreachable", None) for n, _ in PROVIDERS}))


@scenario
def no_internet_but_link_up() -> Any:
    return _checks(
        _check("connectivity", "warn", "", evidence=[{"what": "internet", "ok": False}], findings=[
            _finding("net.offline", "warn", "no check URL answered", reason="all_failed")]),
        _check("dns", "fail", "", findings=[
            _finding("dns.system_failure", "fail", "fails", "openapi.alipay.com", confirmed=True)]))


@scenario
def captive_portal() -> Any:
    return _checks(
        connectivity(False, [_finding("net.captive_portal", "fail", "portal", "connect.rom.miui.com",
                                      status=302, portal_host="login.hotel.example")]),
        _check("tls", "fail", "", findings=[
            _finding("tls.untrusted_issuer", "fail", "x", "openapi.alipay.com", issuer="Portal CA"),
            _finding("tls.untrusted_issuer", "fail", "x", "api.mch.weixin.qq.com", issuer="Portal CA")]),
        endpoints_check({n: ("tls_unknown_authority", None) for n, _ in PROVIDERS[:2]}))


@scenario
def clock_two_hours_behind_with_not_yet_valid() -> Any:
    return _checks(
        connectivity(True),
        _check("clock", "fail", "", findings=[_finding("clock.skew", "fail", "x", "ntp.aliyun.com", offset_s=7200.0)]),
        _check("tls", "fail", "", findings=[
            _finding("tls.not_yet_valid", "fail", "x", "openapi.alipay.com", failure="tls_cert_not_yet_valid"),
            _finding("tls.not_yet_valid", "fail", "x", "gateway.95516.com", failure="tls_cert_not_yet_valid")]),
        endpoints_check({n: ("tls_cert_not_yet_valid", None) for n, p in PROVIDERS if p == "alipay"}))


@scenario
def clock_unknown_with_not_yet_valid() -> Any:
    return _checks(connectivity(True),
                   _check("clock", "warn", "", findings=[_finding("clock.unknown", "warn", "no reference")]),
                   _check("tls", "fail", "", findings=[_finding("tls.not_yet_valid", "fail", "x", "a.example"),
                                                       _finding("tls.not_yet_valid", "fail", "x", "b.example")]))


@scenario
def clock_right_with_not_yet_valid() -> Any:
    return _checks(connectivity(True), _check("clock", "ok", "fine"),
                   _check("tls", "fail", "", findings=[_finding("tls.not_yet_valid", "fail", "x", "a.example"),
                                                       _finding("tls.not_yet_valid", "fail", "x", "b.example")]))


@scenario
def proxy_listener_and_untrusted_issuer() -> Any:
    return _checks(
        connectivity(True),
        _check("proxy", "warn", "", findings=[_finding("proxy.local_listener", "warn", "x", "127.0.0.1:7890",
                                                       port=7890)]),
        _check("tls", "fail", "", findings=[
            _finding("tls.untrusted_issuer", "fail", "x", "openapi.alipay.com", issuer="mitmproxy"),
            _finding("tls.untrusted_issuer", "fail", "x", "api.mch.weixin.qq.com", issuer="mitmproxy")]))


@scenario
def fake_ip_dns() -> Any:
    return _checks(connectivity(True), endpoints_check(),
                   _check("dns", "warn", "", findings=[_finding("dns.fake_ip", "warn", "198.18.0.7",
                                                                "openapi.alipay.com")]))


def _dns_case(f: dict[str, Any]) -> Any:
    return _checks(connectivity(True), endpoints_check(), _check("dns", f["severity"], "", findings=[f]))


@scenario
def dns_hijack() -> Any:
    return _dns_case(_finding("dns.hijack", "fail", "x", "openapi.alipay.com"))


@scenario
def dns_system_failure_others_answer() -> Any:
    return _dns_case(_finding("dns.system_failure", "fail", "x", "openapi.alipay.com",
                              resolver_answers={"AliDNS": ["110.75.1.1"]}))


@scenario
def dns_nxdomain_rewrite() -> Any:
    return _dns_case(_finding("dns.nxdomain_rewrite", "warn", "x", "nonexistent.example"))


@scenario
def dns_slow() -> Any:
    return _dns_case(_finding("dns.slow", "warn", "x", "system"))


@scenario
def check_urls_fail_other_providers_answer() -> Any:
    return _checks(_check("connectivity", "fail", "", evidence=[{"what": "internet", "ok": False}]),
                   endpoints_check({"WeChat Pay API": ("generic_timeout", None),
                                    "WeChat Pay API v3": ("generic_timeout", None)}))


@scenario
def provider_fails_with_http_503_and_timeout() -> Any:
    return _checks(connectivity(True),
                   endpoints_check({"WeChat Pay API": ("generic_timeout", None), "WeChat Pay API v3": (None, 503)}))


@scenario
def weak_signal_and_loss() -> Any:
    return _checks(
        connectivity(True, [_finding("net.weak_signal", "warn", "x", "wifi", rssi_dbm=-82, threshold_dbm=-75)]),
        endpoints_check(findings=[_finding("endpoint.loss", "warn", "x", "Alipay OpenAPI", provider="alipay",
                                           loss_ratio=0.4)]))


@scenario
def hand_made_slow_everywhere() -> Any:
    slow = [_finding("endpoint.slow", "warn", "x", n, provider=p, p50_ms=700) for n, p in PROVIDERS]
    return _checks(connectivity(True), endpoints_check(findings=slow))


@scenario
def low_memory_and_battery() -> Any:
    return _checks(connectivity(True), endpoints_check(),
                   _check("device", "warn", "", findings=[_finding("device.low_memory", "warn", "x", available_mb=90),
                                                          _finding("device.low_battery", "warn", "x", percent=8)]))


@scenario
def every_check_fine() -> Any:
    return _checks(connectivity(True), endpoints_check(), *ok_checks("dns", "tls", "clock", "proxy", "device"))


@scenario
def a_warning_nothing_explains() -> Any:
    return _checks(connectivity(True), endpoints_check(), *ok_checks("dns", "tls", "clock"),
                   _check("proxy", "warn", "", findings=[_finding("proxy.system_proxy", "warn", "x", "10.0.0.1:8080")]))


@scenario
def a_failure_nothing_explains() -> Any:
    return _checks(connectivity(True), endpoints_check(), *ok_checks("dns", "tls", "clock"),
                   _check("proxy", "fail", "", findings=[_finding("proxy.unknown_thing", "fail", "x", "somewhere")]))


@scenario
def only_the_device_ran() -> Any:
    return _checks(*ok_checks("device"))


@scenario
def nothing_measured() -> Any:
    return _checks(_check("dns", "error", "", error="unknown_failure"), _check("tls", "timeout", ""))


@scenario
def nothing_at_all() -> Any:
    return _checks()


# The report's wording is made from these keys (payprobe.reports.wording); the texts
# themselves are pinned by the catalog and wording tests, so only the title stays here.
_CAUSE_TEXTS = ("explanation", "remedies")
_SUMMARY_TEXTS = ("ruled_out", "next_steps")
ZH_SCENARIOS = ("every_check_fine", "one_provider_answers_503", "one_of_two_endpoints_of_a_provider_down",
                "clock_far_behind", "nothing_measured")


def _offline(reason: str | None) -> Any:
    data = {"reason": reason} if reason else {}
    return _checks(connectivity(False, [_finding("net.offline", "fail", "offline", **data)]),
                   endpoints_check({n: ("generic_timeout", None) for n, _ in PROVIDERS}))


@scenario
def offline_no_interface() -> Any:
    return _offline("no_interface")


@scenario
def offline_all_unreachable() -> Any:
    return _offline("all_unreachable")


@scenario
def offline_for_an_unknown_reason() -> Any:
    return _offline("cosmic_rays")


@scenario
def offline_without_a_reason() -> Any:
    return _offline(None)


@scenario
def captive_portal_without_a_host() -> Any:
    return _checks(connectivity(False, [_finding("net.captive_portal", "fail", "portal", "connect.rom.miui.com",
                                                 status=302)]),
                   _check("dns", "warn", "", findings=[_finding("dns.nxdomain_rewrite", "warn", "x", "nx.example")]))


@scenario
def fake_ip_and_untrusted_issuer() -> Any:
    return _checks(connectivity(True),
                   _check("dns", "warn", "", findings=[_finding("dns.fake_ip", "warn", "198.18.0.7", "a.example")]),
                   _check("tls", "fail", "", findings=[
                       _finding("tls.untrusted_issuer", "fail", "x", "openapi.alipay.com", issuer="Clash CA")]),
                   endpoints_check({"Alipay OpenAPI": ("tls_unknown_authority", None)}))


@scenario
def untrusted_issuer_on_endpoints_only() -> Any:
    return _checks(connectivity(True), endpoints_check({n: ("tls_unknown_authority", None) for n, _ in PROVIDERS}))


@scenario
def system_proxy_with_failing_endpoints() -> Any:
    return _checks(connectivity(True),
                   _check("proxy", "warn", "", findings=[_finding("proxy.system", "warn", "x", "10.0.0.1:8080")]),
                   endpoints_check({"UnionPay Gateway": ("connection_reset", None)}))


@scenario
def system_proxy_with_failing_tls_only() -> Any:
    return _checks(connectivity(True),
                   _check("proxy", "warn", "", findings=[_finding("proxy.env", "warn", "x", "HTTPS_PROXY")]),
                   _check("tls", "fail", "", findings=[_finding("tls.handshake_failed", "fail", "x", "a.example",
                                                                failure="connection_reset")]))


@scenario
def system_proxy_and_nothing_failing() -> Any:
    return _checks(connectivity(True), endpoints_check(),
                   _check("proxy", "warn", "", findings=[_finding("proxy.system", "warn", "x", "10.0.0.1:8080")]))


@scenario
def vpn_default_route_with_failing_endpoints() -> Any:
    return _checks(connectivity(True),
                   _check("proxy", "ok", "", findings=[_finding("vpn.interface", "info", "x", "tun0",
                                                                default_route=True)]),
                   endpoints_check({"UnionPay Gateway": ("connection_reset", None)}))


@scenario
def vpn_without_default_route_and_failing_endpoints() -> Any:
    return _checks(connectivity(True),
                   _check("proxy", "ok", "", findings=[_finding("vpn.interface", "info", "x", "tun0")]),
                   endpoints_check({"UnionPay Gateway": ("connection_reset", None)}))


@scenario
def every_provider_blocked_mixed() -> Any:
    return _checks(connectivity(True), endpoints_check({
        "Alipay OpenAPI": ("connection_refused", None), "WeChat Pay API": (None, 502),
        "WeChat Pay API v3": ("connection_reset", None), "UnionPay Gateway": ("connection_refused", None)}))


@scenario
def every_provider_blocked_without_internet() -> Any:
    return _checks(_check("connectivity", "fail", "", evidence=[{"what": "internet", "ok": False}]),
                   endpoints_check({n: ("connection_refused", None) for n, _ in PROVIDERS}))


@scenario
def low_storage_load_and_unknown() -> Any:
    return _checks(connectivity(True), endpoints_check(),
                   _check("device", "fail", "", findings=[_finding("device.low_storage", "fail", "x", free_mb=120),
                                                          _finding("device.high_load", "warn", "x", load1=9.5),
                                                          _finding("device.low_memory", "warn", "x", other=1)]))


@scenario
def clock_behind_with_endpoint_cert_failures_only() -> Any:
    return _checks(connectivity(True),
                   _check("clock", "fail", "", findings=[_finding("clock.skew", "fail", "x", offset_s=-7200.0)]),
                   endpoints_check({n: ("tls_cert_expired", None) for n, _ in PROVIDERS[:2]}))


@scenario
def clock_unmeasured_endpoint_cert_failures_only() -> Any:
    return _checks(connectivity(True), _check("clock", "warn", "", findings=[_finding("clock.ntp_blocked", "warn", "x")]),
                   endpoints_check({n: ("tls_cert_not_yet_valid", None) for n, _ in PROVIDERS[:3]}))


@scenario
def cert_out_of_date_by_reference_clock_too() -> Any:
    return _checks(connectivity(True), _check("clock", "fail", "", findings=[
        _finding("clock.skew", "fail", "x", offset_s=4000.0)]),
        _check("tls", "fail", "", findings=[_finding("tls.expired", "fail", "x", "a.example",
                                                     valid_by_reference_clock=False)]))


@scenario
def one_name_fails_everywhere_with_servfail() -> Run:
    return Run().unresolved("Stripe API", "dns_servfail")


@scenario
def one_name_servfail_and_alternates_silent() -> Run:
    run = Run().unresolved("Stripe API", "dns_servfail", everywhere=False)
    run.resolvers = {r: dict.fromkeys(a, "dns_timeout") for r, a in run.resolvers.items()}
    return run


@scenario
def dns_slow_on_a_lossy_link() -> Run:
    run = _lossy(Run())
    run.dns_findings.append(finding("dns.slow", "warn", "system", p50_ms=900))
    return run


@scenario
def lookup_timeouts_on_a_lossy_link() -> Run:
    run = _lossy(Run())
    run.unresolved("Alipay OpenAPI", "dns_timeout", everywhere=False)
    return run


@scenario
def every_dns_sign_at_once() -> Run:
    run = Run()
    names = [HOST[n] for n in ("Alipay OpenAPI", "WeChat Pay API", "UnionPay Gateway", "Stripe API")]
    run.dns_findings += [finding("dns.hijack", "fail", n, resolver="system") for n in names]
    run.dns_findings += [finding("dns.nxdomain_rewrite", "warn", "nx.example"),
                         finding("dns.slow", "warn", "AliDNS", p50_ms=700), finding("dns.slow", "info", "DNSPod")]
    run.resolvers["DNSPod"] = dict.fromkeys(run.resolvers["DNSPod"], "dns_timeout")
    return run


@scenario
def names_not_tried_without_a_dns_check() -> Any:
    run = Run().unresolved("Alipay OpenAPI", "dns_servfail").unresolved("Stripe API", "dns_timeout")
    return [c for c in run.checks() if c["name"] != "dns"], SETTINGS


@scenario
def every_endpoint_unreachable_and_dns_fails() -> Any:
    return _checks(_check("connectivity", "fail", "", evidence=[{"what": "internet", "ok": False}]),
                   _check("dns", "fail", "", findings=[_finding("dns.hijack", "fail", "x", "openapi.alipay.com")]),
                   endpoints_check({n: ("host_unreachable", None) for n, _ in PROVIDERS}))


@scenario
def some_endpoints_unreachable_others_refused() -> Any:
    return _checks(_check("connectivity", "fail", "", evidence=[{"what": "internet", "ok": False}]),
                   endpoints_check({"Alipay OpenAPI": ("network_unreachable", None),
                                    "WeChat Pay API": ("connection_refused", None)}))


@scenario
def captive_portal_explains_everything() -> Any:
    return _checks(
        connectivity(False, [_finding("net.captive_portal", "fail", "portal", "connect.rom.miui.com", status=302,
                                      portal_host="wifi.example"),
                             _finding("net.weak_signal", "warn", "x", "wifi", rssi_dbm=-80, threshold_dbm=-75)]),
        _check("dns", "fail", "", findings=[_finding("dns.hijack", "fail", "x", "openapi.alipay.com"),
                                            _finding("dns.nxdomain_rewrite", "warn", "x", "nx.example"),
                                            _finding("dns.fake_ip", "warn", "x", "gateway.95516.com")]),
        _check("tls", "fail", "", findings=[
            _finding("tls.hostname_mismatch", "fail", "x", "openapi.alipay.com"),
            _finding("tls.handshake_failed", "fail", "x", "api.mch.weixin.qq.com", failure="connection_reset"),
            _finding("tls.untrusted_issuer", "fail", "x", "gateway.95516.com", issuer="Portal CA")]),
        endpoints_check({"UnionPay Gateway": (None, 502), "WeChat Pay API": ("generic_timeout", None)},
                        findings=[_finding("endpoint.http_error", "fail", "x", "UnionPay Gateway", http_status=502,
                                           provider="unionpay")]))


@scenario
def clock_behind_expired_cert_and_another_provider_down() -> Run:
    run = Run().cert("Alipay OpenAPI", "tls.expired").down("Stripe API", "connection_refused")
    run.clock = ("skew", 4000.0)
    return run


@scenario
def clock_unknown_two_of_four_not_yet_valid_another_down() -> Run:
    run = (Run().cert("Alipay OpenAPI", "tls.not_yet_valid").cert("UnionPay Gateway", "tls.not_yet_valid")
           .down("Stripe API", "connection_refused"))
    run.clock = ("unknown", 0.0)
    return run


@scenario
def clock_unknown_two_of_five_hosts_not_yet_valid() -> Any:
    return _checks(connectivity(True),
                   _check("clock", "warn", "", findings=[_finding("clock.unknown", "warn", "no reference")]),
                   _check("tls", "fail", "", evidence=[
                       {"what": "tls", "target": f"{h}.example", "ok": h in "cde", "failure": None} for h in "abcde"],
                          findings=[_finding("tls.not_yet_valid", "fail", "x", "a.example"),
                                    _finding("tls.not_yet_valid", "fail", "x", "b.example")]))


def _fine_with(*extra: dict[str, Any]) -> Any:
    return _checks(connectivity(True), endpoints_check(), *extra)


@scenario
def interface_errors_only() -> Any:
    return _fine_with(_check("device", "warn", "", findings=[_finding("net.link_errors", "warn", "x", "wlan0")]))


@scenario
def interface_errors_weak_signal_and_loss() -> Any:
    return _checks(
        connectivity(True, [_finding("net.weak_signal", "warn", "x", "", rssi_dbm=-85),
                            _finding("net.link_errors", "warn", "x", "wlan0")]),
        endpoints_check(findings=[_finding("endpoint.loss", "warn", "x", "Alipay OpenAPI", provider="alipay"),
                                  _finding("endpoint.loss", "fail", "x", "UnionPay Gateway", provider="unionpay",
                                           loss_ratio=0.6)]))


@scenario
def weak_cellular_signal_only() -> Any:
    return _checks(connectivity(True, [_finding("net.weak_signal", "warn", "x", "cellular", rssi_dbm=-110)]),
                   endpoints_check())


@scenario
def low_bandwidth_only() -> Any:
    return _fine_with(_check("bandwidth", "warn", "", findings=[_finding("bandwidth.low", "warn", "x", "download")]))


@scenario
def tls_slow_on_two_providers() -> Any:
    return _fine_with(_check("tls", "warn", "", findings=[
        _finding("tls.slow", "warn", "x", "openapi.alipay.com", handshake_ms=900),
        _finding("tls.slow", "warn", "x", "gateway.95516.com", handshake_ms=950)]))


@scenario
def tls_slow_on_two_hosts_of_one_provider() -> Any:
    return _fine_with(_check("tls", "warn", "", findings=[
        _finding("tls.slow", "warn", "x", "api.mch.weixin.qq.com", handshake_ms=900),
        _finding("tls.slow", "warn", "x", "api.wechatpay.cn", handshake_ms=950)]))


@scenario
def ipv6_broken() -> Any:
    return _fine_with(_check("connectivity", "warn", "", findings=[_finding("net.ipv6_broken", "warn", "x", "")]))


@scenario
def ipv6_slow_with_slow_endpoints() -> Any:
    slow = [_finding("endpoint.slow", "warn", "x", n, provider=p, p50_ms=700) for n, p in PROVIDERS[:3]]
    return _checks(connectivity(True, [_finding("net.ipv6_slow", "warn", "x", "")]),
                   endpoints_check(findings=slow))


@scenario
def slow_findings_without_endpoint_states() -> Any:
    slow = [_finding("endpoint.slow", "warn", "x", n, provider=p, p50_ms=700) for n, p in PROVIDERS]
    return _checks(connectivity(True), _check("endpoints", "warn", "", findings=slow))


@scenario
def every_endpoint_times_out_nothing_else_answers() -> Any:
    return _checks(_check("connectivity", "warn", "", evidence=[{"what": "internet", "ok": False}]),
                   endpoints_check({n: ("generic_timeout", None) for n, _ in PROVIDERS}))


@scenario
def offline_said_but_endpoints_answered() -> Any:
    return _checks(connectivity(False, [_finding("net.offline", "fail", "offline", reason="no_route")]),
                   endpoints_check())


@scenario
def offline_said_but_configured_endpoints_worked() -> Any:
    return ([connectivity(False, [_finding("net.offline", "fail", "offline", reason="no_route")]),
             _check("endpoints", "ok", "")], SETTINGS)


@scenario
def one_cert_expired_without_the_endpoints_check() -> Any:
    run = Run().cert("Stripe API", "tls.expired")
    return [c for c in run.checks() if c["name"] != "endpoints"], SETTINGS


@scenario
def one_hostname_mismatch_with_a_quiet_hijack_of_its_name() -> Run:
    run = Run().cert("Alipay OpenAPI", "tls.hostname_mismatch")
    run.dns_findings.append(finding("dns.hijack", "info", HOST["Alipay OpenAPI"], resolver="system"))
    return run


def _snapshot(checks: list[dict[str, Any]], settings: Any, lang: str, texts: bool = False) -> dict[str, Any]:
    causes, summary = diagnose(checks, lang=lang, settings=settings)
    if texts:
        return {"causes": [dict(c) for c in causes], "summary": dict(summary)}
    return {"causes": [{k: v for k, v in c.items() if k not in _CAUSE_TEXTS} for c in causes],
            "summary": {k: v for k, v in summary.items() if k not in _SUMMARY_TEXTS}}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_diagnose_when_a_known_run_is_read_says_what_was_reviewed(name):
    checks, settings = SCENARIOS[name]()
    assert _snapshot(checks, settings, "en") == EXPECTED[name]


@pytest.mark.parametrize("name", ZH_SCENARIOS)
def test_diagnose_when_asked_in_chinese_gives_the_same_causes_in_chinese(name):
    checks, settings = SCENARIOS[name]()
    # In full, texts too: the endpoints' and providers' names are said in Chinese as well.
    assert _snapshot(checks, settings, "zh", texts=True) == EXPECTED_ZH[name]


# ------------------------------------------------------------------ the shared vocabulary (facts)


def _f(code: str, severity: str = "warn", target: str = "", **data: Any) -> dict[str, Any]:
    return {"code": code, "severity": severity, "message": code, "target": target, "data": data}


def _facts(checks: list[dict[str, Any]] | None = None, settings: Any = None) -> Facts:
    return fx.gather(checks or [], settings, "en")


@pytest.mark.parametrize("severities, floor, expected", [
    ([], "warn", "warn"), ([], "info", "info"), (["info"], "info", "info"), (["info", "warn"], "info", "warn"),
    (["warn", "fail", "info"], "warn", "fail"), (["info"], "fail", "fail"), (["bogus"], "info", "info"),
])
def test_worst_when_findings_differ_gives_the_worst_but_never_below_the_floor(severities, floor, expected):
    assert fx.worst([_f("x", s) for s in severities], floor) == expected


def test_worst_when_no_floor_is_given_is_at_least_warn():
    assert fx.worst([_f("x", "info")]) == "warn"


def test_targets_when_repeated_or_empty_gives_each_once_in_order():
    found = [_f("a", target="b.example"), _f("a", target=""), _f("a", target="a.example"),
             _f("a", target="b.example"), {"code": "a", "severity": "warn", "data": {}}]
    assert fx.targets(found) == ["b.example", "a.example"]


@pytest.mark.parametrize("phase, failure, ok, expected", [
    ("resolve", None, False, True), (None, "dns_nxdomain", False, True), ("connect", "dns_timeout", False, True),
    ("connect", "generic_timeout", False, False), (None, None, False, False), ("resolve", "dns_nxdomain", True, False),
])
def test_endpoint_state_resolve_failed_when_the_name_did_not_resolve_is_true(phase, failure, ok, expected):
    assert EndpointState("e", "p", ok, failure, None, phase).resolve_failed is expected


def _clock(findings: list[dict[str, Any]] | None = None, status: str = "ok", metrics: Any = None,
           evidence: Any = None) -> dict[str, Any]:
    return _check("clock", status, "", findings=findings or [], metrics=metrics or [], evidence=evidence or [])


def _metric(value: float, source: str = "best", name: str = "clock_offset_seconds") -> dict[str, Any]:
    return {"name": name, "value": value, "unit": "s", "labels": {"source": source}}


@pytest.mark.parametrize("clock, offset", [
    (_clock([_f("clock.skew", "info", offset_s=12)]), 12.0),
    (_clock([_f("clock.skew", "info", offset_s="x")], metrics=[_metric(-3.5)]), -3.5),
    (_clock(metrics=[_metric(9.0, source="ntp"), _metric(9.0, name="other"), _metric(4.0)]), 4.0),
    (_clock(evidence=["junk", {"what": "ntp", "offset_s": 1.0}, {"what": "clock_best", "offset_s": "x"},
                      {"what": "clock_best", "offset_s": -7}]), -7.0),
    (_clock(), None),
    (None, None),
])
def test_clock_offset_s_when_the_clock_check_measured_gives_the_best_offset(clock, offset):
    facts = _facts([clock] if clock else [])
    assert fx.clock_offset_s(facts) == offset
    assert offset is None or type(fx.clock_offset_s(facts)) is float


@pytest.mark.parametrize("clock, state", [
    (_clock([_f("clock.skew", "warn", offset_s=1.0)]), "wrong"),
    (_clock([_f("clock.skew", "info", offset_s=30.0)]), "right"),
    (_clock([_f("clock.skew", "info", offset_s=-30.5)]), "wrong"),
    (_clock(metrics=[_metric(-30.0)]), "right"),
    (_clock(metrics=[_metric(31.0)]), "wrong"),
    (_clock(), "right"),
    (_clock([_f("clock.unknown", "info")]), "unknown"),
    (_clock(status="warn"), "unknown"),
    (None, "unknown"),
])
def test_clock_state_when_the_clock_check_says_gives_right_wrong_or_unknown(clock, state):
    assert fx.clock_state(_facts([clock] if clock else [])) == state


def test_clock_state_when_settings_widen_the_window_follows_them():
    import dataclasses

    from payprobe.settings import ClockConfig
    settings = dataclasses.replace(SETTINGS, clock=ClockConfig(warn_s=60.0))
    facts = _facts([_clock(metrics=[_metric(45.0)])], settings)
    assert (facts.clock_right_s, fx.clock_state(facts)) == (60.0, "right")
    assert _facts([_clock(metrics=[_metric(45.0)])]).clock_right_s == 30.0


def test_facts_of_when_a_floor_is_given_keeps_codes_at_or_above_it():
    facts = _facts([_check("dns", "warn", "", findings=[_f("dns.slow", "info"), _f("dns.slow", "warn"),
                                                         _f("dns.slow", "fail"), _f("dns.hijack", "fail"),
                                                         _f("dns.slow", "bogus")])])
    assert [f["severity"] for f in facts.of("dns.slow")] == ["warn", "fail"]
    assert [f["severity"] for f in facts.of("dns.slow", min_severity="info")] == ["info", "warn", "fail", "bogus"]
    assert [f["code"] for f in facts.of("dns.slow", "dns.hijack", min_severity="fail")] == ["dns.slow", "dns.hijack"]


def test_facts_check_status_when_a_check_ran_gives_its_status():
    facts = _facts([_check("dns", "warn", ""), {"name": "tls"}])
    assert (facts.check_status("dns"), facts.check_status("tls"), facts.check_status("clock")) == ("warn", None, None)


def test_facts_provider_when_a_finding_names_a_place_gives_its_provider():
    checks, settings = SCENARIOS["one_provider_times_out"]()
    facts = fx.gather(checks, settings, "en")
    assert facts.provider(_f("endpoint.slow", target="Alipay OpenAPI")) == "alipay"
    assert facts.provider(_f("endpoint.slow", target="Alipay OpenAPI", provider="given")) == "given"
    assert facts.provider(_f("endpoint.slow", target="Nowhere")) == "Nowhere"
    assert facts.provider(_f("path.loss_at_hop", target="x", endpoint="UnionPay Gateway")) == "unionpay"
    assert facts.provider(_f("path.loss_at_hop", target="Stripe API")) == "stripe"
    assert facts.provider(_f("path.loss_at_hop", target="Elsewhere")) == "Elsewhere"
    assert facts.provider(_f("tls.expired", target="api.wechatpay.cn")) == "wechatpay"
    assert facts.provider(_f("dns.hijack", target="gateway.95516.com")) == "unionpay"
    assert facts.provider(_f("net.weak_signal", target="api.stripe.com")) == ""
    assert facts.group(_f("tls.expired", target="api.stripe.com")) == "stripe"
    assert facts.group(_f("net.weak_signal", target="wifi")) == "host:wifi"


def test_facts_provider_when_the_path_endpoint_has_no_state_uses_the_config():
    facts = fx.gather([], SETTINGS, "en")
    assert facts.endpoints == []
    assert facts.provider(_f("path.loss_at_hop", endpoint="WeChat Pay API v3")) == "wechatpay"


def _findings_only_endpoints(*found: dict[str, Any], status: str = "fail") -> dict[str, Any]:
    """An endpoints check that gives findings but no per-endpoint evidence (an older or third-party one)."""
    return _check("endpoints", status, "", findings=list(found))


def test_gather_when_endpoints_give_only_findings_rebuilds_states_from_the_config():
    facts = fx.gather([_findings_only_endpoints(
        _f("endpoint.unreachable", "fail", "Alipay OpenAPI", failure="generic_timeout", phase="connect"),
        _f("endpoint.http_error", "fail", "UnionPay Gateway", http_status=503, failure="http_status_5xx"),
        _f("endpoint.http_error", "warn", "Stripe API", http_status=404),
        _f("endpoint.slow", "warn", "WeChat Pay API", phase="ttfb"))], SETTINGS, "en")
    assert facts.endpoints == [
        EndpointState("Alipay OpenAPI", "alipay", False, "generic_timeout", None, "connect"),
        EndpointState("WeChat Pay API", "wechatpay", True, None, None, None),
        EndpointState("WeChat Pay API v3", "wechatpay", True, None, None, None),
        EndpointState("UnionPay Gateway", "unionpay", False, "http_status_5xx", 503, None),
        EndpointState("Stripe API", "stripe", True, None, None, None)]


@pytest.mark.parametrize("status", ["error", "skipped", "timeout"])
def test_gather_when_the_endpoints_check_did_not_measure_has_no_states(status):
    found = _f("endpoint.unreachable", "fail", "Alipay OpenAPI", failure="generic_timeout")
    assert fx.gather([_findings_only_endpoints(found, status=status)], SETTINGS, "en").endpoints == []


def test_gather_when_endpoints_give_only_findings_and_no_config_has_no_states():
    found = _f("endpoint.unreachable", "fail", "Alipay OpenAPI", failure="generic_timeout")
    assert fx.gather([_findings_only_endpoints(found)], None, "en").endpoints == []


def test_gather_when_an_endpoint_has_no_provider_in_the_config_names_it_by_itself():
    from payprobe.settings import Endpoint, Settings
    settings = Settings(endpoints=[Endpoint("Solo", "https://solo.example/")])
    facts = fx.gather([_findings_only_endpoints(status="ok")], settings, "en")
    assert facts.endpoints == [EndpointState("Solo", "Solo", True, None, None, None)]
    assert (facts.endpoint_hosts, facts.endpoint_providers) == ({"Solo": "solo.example"}, {"Solo": "Solo"})


def test_gather_when_evidence_names_hosts_maps_them_to_providers():
    endpoints = _check("endpoints", "ok", "", evidence=[
        {"what": "endpoint", "endpoint": "X", "provider": "xpay", "host": "api.x.example", "ok": True},
        {"what": "endpoint", "endpoint": "Y", "provider": "", "host": "api.y.example", "ok": True},
        "not a dict"])
    facts = fx.gather([endpoints], None, "en")
    assert facts.hosts == {"api.x.example": "xpay"}
    assert facts.endpoints == [EndpointState("X", "xpay", True, None, None, None),
                               EndpointState("Y", "Y", True, None, None, None)]


@pytest.mark.parametrize("evidence, status, internet", [
    ([{"what": "internet", "ok": True}], "fail", True),
    ([{"what": "internet", "ok": False}], "ok", False),
    ([{"what": "internet", "ok": True}, {"what": "internet", "ok": False}], "warn", True),
    ([], "ok", True),
    ([], "warn", None),
])
def test_gather_when_connectivity_reports_says_whether_the_internet_answered(evidence, status, internet):
    assert fx.gather([_check("connectivity", status, "", evidence=evidence)], None, "en").internet is internet


def test_gather_when_nothing_ran_knows_nothing():
    facts = fx.gather([], None, "zh")
    assert (facts.internet, facts.endpoints, facts.lang, facts.hosts) == (None, [], "zh", {})
    assert fx.gather([], None, "klingon").lang == "en"


def test_hop_words_when_data_is_missing_says_question_marks():
    assert fx.hop_words("k", _f("path.loss_at_hop", hop=4, address="10.0.0.1", loss_pct=25)) == {
        "key": "k", "params": {"hop": 4, "address": "10.0.0.1", "loss": {"number": 25.0, "unit": "%"}}}
    assert fx.hop_words("k", {"code": "path.loss_at_hop", "severity": "warn", "data": {"hop": "4"}}) == {
        "key": "k", "params": {"hop": "?", "address": "?", "loss": "?"}}


# ------------------------------------------------------------------ the verdict


def _cause(code: str, *findings: str) -> dict[str, Any]:
    return {"code": code, "severity": "fail", "confidence": "high", "title": "", "explanation": "",
            "remedies": [], "findings": list(findings)}


NETWORK = [{"name": n, "status": "ok"} for n in ("connectivity", "dns", "tls", "clock", "endpoints")]


@pytest.mark.parametrize("causes, warned, measured, expected", [
    ([], False, [], "unknown"),
    ([_cause("dns_problem")], False, [], "unknown"),
    ([_cause("inconclusive"), _cause("dns_problem")], False, NETWORK, "cause"),
    ([_cause("inconclusive")], False, NETWORK, "inconclusive"),
    ([], False, NETWORK, "network_ok"),
    ([], True, NETWORK, "minor"),
    ([], False, NETWORK[:4], "nothing_found"),
    ([], True, NETWORK[1:], "nothing_found"),
])
def test_verdict_code_when_causes_and_checks_differ_gives_the_verdict(causes, warned, measured, expected):
    found = [_f("proxy.system_proxy", "warn")] if warned else [_f("proxy.system_proxy", "info")]
    facts = _facts([_check("proxy", "warn" if warned else "ok", "", findings=found)])
    assert verdict_code(causes, facts, measured) == expected


# ------------------------------------------------------------------ the link (loss seen elsewhere)


def _place(layer: str, name: str, provider: str = "", ok: int = 0, lossy: int = 0, dns_lossy: int = 0,
           dns_hard: int = 0) -> Place:
    place = Place(layer, name, provider)
    place.tries.update(ok=ok, lossy=lossy, dns_lossy=dns_lossy, dns_hard=dns_hard)
    return place


def test_link_loss_elsewhere_when_other_providers_lost_tries_counts_them():
    link = LinkView([_place("endpoints", "A", "alipay", ok=3, lossy=1), _place("tls", "a.example", "alipay", lossy=2),
                     _place("endpoints", "U", "unionpay", ok=2, lossy=2), _place("tls", "u.example", "unionpay", ok=1),
                     _place("dns", "system", "unionpay", lossy=5), _place("endpoints", "N", "", lossy=9)])
    assert link.loss_elsewhere("alipay") == (2, 5)
    assert link.loss_elsewhere("unionpay") == (3, 6)
    assert link.loss_elsewhere("stripe") == (5, 11)


@pytest.mark.parametrize("places, provider, lost_tries, expected", [
    # 2 providers, elsewhere 1 of 2 lost: 2 * 0.5 ** 3 = 0.25 >= 0.001
    ([("alipay", 1, 1), ("stripe", 0, 3)], "stripe", 3, True),
    # 2 * 0.5 ** 10 = 0.00195 >= 0.001; ** 11 = 0.00098 < 0.001
    ([("alipay", 1, 1), ("stripe", 0, 3)], "stripe", 10, True),
    ([("alipay", 1, 1), ("stripe", 0, 3)], "stripe", 11, False),
    ([("alipay", 4, 0), ("stripe", 0, 3)], "stripe", 3, False),      # nothing lost elsewhere
    ([("stripe", 0, 3)], "stripe", 3, False),                       # nothing tried elsewhere
    ([("alipay", 1, 1), ("stripe", 0, 3)], "stripe", 0, False),      # nothing of its own lost
])
def test_link_explains_when_loss_elsewhere_is_likely_enough_says_it_took_the_tries(places, provider, lost_tries,
                                                                                    expected):
    link = LinkView([_place("endpoints", p, p, ok=ok, lossy=lossy) for p, ok, lossy in places])
    assert link.explains(provider, lost_tries) is expected


def test_link_explains_when_places_name_no_provider_counts_one():
    link = LinkView([_place("endpoints", "x", "", ok=1, lossy=1), _place("tls", "t", "p", ok=1, lossy=1)])
    assert link.explains("other", 9) is True     # one provider: 1 * 0.5 ** 9 = 0.00195
    assert link.explains("other", 10) is False


def test_link_provider_tries_when_asked_sums_its_places():
    link = LinkView([_place("endpoints", "A", "alipay", ok=3, lossy=1, dns_lossy=1),
                     _place("tls", "a", "alipay", ok=1, lossy=2, dns_hard=2), _place("tls", "s", "stripe", ok=7)])
    assert link.provider_tries("alipay") == (4, 3, 3)
    assert link.provider_tries("none") == (0, 0, 0)


def test_link_answered_beyond_dns_when_only_the_system_resolver_answered_is_empty():
    system = _place("dns", "system", ok=2)
    other = _place("dns", "AliDNS", ok=1)
    url = _place("connectivity", "http://x/", ok=1)
    assert LinkView([system, _place("tls", "t", lossy=1)]).answered_beyond_dns() == []
    assert LinkView([system, other, url]).answered_beyond_dns() == [other, url]
    assert LinkView([system, other]).system_resolver() is system
    assert LinkView([other]).system_resolver() is None


def test_link_lossy_when_two_groups_lose_and_one_place_is_flaky_is_true():
    flaky = _place("endpoints", "A", "alipay", ok=1, lossy=1)
    assert LinkView([flaky, _place("dns", "AliDNS", dns_lossy=1)]).lossy is True
    assert LinkView([flaky, _place("endpoints", "A2", "alipay", lossy=1)]).lossy is False
    assert LinkView([_place("endpoints", "A", "alipay", lossy=1), _place("dns", "AliDNS", lossy=1)]).lossy is False
    assert LinkView([flaky, _place("dns", "AliDNS", dns_lossy=1)]).lossy_groups == ["provider:alipay", "dns:AliDNS"]


# ------------------------------------------------------------------ blame


def test_proxy_present_when_a_proxy_vpn_or_fake_ip_is_seen_is_true():
    for code in ("proxy.env", "proxy.system", "proxy.local_listener", "vpn.interface", "dns.fake_ip"):
        assert blame.proxy_present(_facts([_check("proxy", "ok", "", findings=[_f(code, "info")])])), code
    assert not blame.proxy_present(_facts([_check("proxy", "ok", "", findings=[_f("proxy.other", "fail")])]))


@pytest.mark.parametrize("edges, endpoints, expected", [
    (["a", "b", "c"], [], True),
    (["a", "b"], ["a", "b", "c", "d"], True),
    (["a", "b"], ["a", "b", "c", "d", "e"], False),
    (["a"], ["a"], False),
])
def test_edges_everywhere_when_many_providers_lose_at_their_edge_is_the_way_not_them(edges, endpoints, expected):
    facts = _facts()
    facts.endpoints = [EndpointState(p, p, True) for p in endpoints]
    assert blame.edges_everywhere(facts, {e: [] for e in edges}) is expected


def test_lost_tries_when_the_link_saw_none_counts_timeouts_and_resets():
    facts = _facts()
    case = blame.ProviderCase("p", hits=[blame.Hit("timeout", "a"), blame.Hit("reset", "b"),
                                         blame.Hit("refused", "c"), blame.Hit("timeout", "d")])
    assert blame.lost_tries(facts, case) == 3
    facts.link = LinkView([_place("endpoints", "a", "p", lossy=5)])
    assert blame.lost_tries(facts, case) == 5


@pytest.mark.parametrize("state, row", [
    (EndpointState("e", "p", False, "dns_nxdomain"), "resolve"),
    (EndpointState("e", "p", False, None, 500), "server_error"),
    (EndpointState("e", "p", False, "http_status_5xx"), "server_error"),
    (EndpointState("e", "p", False, None, 503), "overloaded"),
    (EndpointState("e", "p", False, None, 429), "overloaded"),
    (EndpointState("e", "p", False, "http_status_4xx", 404), "overloaded"),
    (EndpointState("e", "p", False, None, 499), "other"),
    (EndpointState("e", "p", False, "eof_error"), "reset"),
    (EndpointState("e", "p", False, "address_unavailable"), "unreachable"),
    (EndpointState("e", "p", False, "tls_hostname_mismatch"), "cert_name"),
    (EndpointState("e", "p", False, None), "other"),
])
def test_endpoint_row_when_an_endpoint_failed_gives_its_rule_table_row(state, row):
    assert blame.endpoint_row(state) == row


@pytest.mark.parametrize("finding_, row", [
    (_f("tls.expired", "warn"), None),
    (_f("tls.expired", "fail"), "cert_dates"),
    (_f("tls.not_yet_valid", "fail"), "cert_dates"),
    (_f("tls.untrusted_issuer", "warn"), "cert_issuer"),
    (_f("tls.slow", "warn"), "slow"),
    (_f("tls.handshake_failed", "fail", phase="resolve"), "resolve"),
    (_f("tls.handshake_failed", "fail", failure="dns_servfail"), "resolve"),
    (_f("tls.handshake_failed", "fail", failure="connection_refused"), "refused"),
    (_f("tls.handshake_failed", "fail"), "other"),
    (_f("endpoint.slow"), "slow"),
    (_f("endpoint.loss"), "partial_loss"),
    (_f("endpoint.unreachable", "fail"), None),
    ({"code": "endpoint.slow", "severity": "warn"}, "slow"),
])
def test_finding_row_when_a_finding_is_about_a_providers_servers_gives_its_row(finding_, row):
    assert blame.finding_row(finding_) == row


def test_provider_case_when_hits_and_healthy_places_differ_says_failing_and_state():
    case = blame.ProviderCase("p", hits=[blame.Hit("slow", "a"), blame.Hit("server_error", "b"),
                                         blame.Hit("partial_loss", "c")])
    assert (case.failing, case.state, case.rows) == (True, "down", {"slow", "server_error", "partial_loss"})
    case.healthy.append("d")
    assert case.failing is False
    only_loss = blame.ProviderCase("q", hits=[blame.Hit("partial_loss", "c")])
    assert (only_loss.failing, only_loss.state) == (False, "")
    f = _f("endpoint.slow")
    twice = blame.ProviderCase("r", hits=[blame.Hit("slow", "a", f), blame.Hit("slow", "b", f), blame.Hit("slow", "c")])
    assert twice.findings() == [f]


# ------------------------------------------------------------------ what a lossy link produces


@pytest.mark.parametrize("finding_, lossy", [
    (_f("endpoint.loss"), True), (_f("endpoint.slow"), True), (_f("tls.slow"), True), (_f("dns.slow"), True),
    (_f("net.offline"), True), (_f("net.offline", reason="all_failed"), True),
    (_f("net.offline", reason="no_route"), False), (_f("clock.unknown", reason="no_route"), False),
    (_f("clock.ntp_blocked"), True),
    (_f("tls.handshake_failed", failure="generic_timeout"), True),
    (_f("tls.handshake_failed", failure="connection_reset"), True),
    (_f("tls.handshake_failed", failure="connection_aborted"), True),
    (_f("tls.handshake_failed", failure="eof_error"), True),
    (_f("clock.other", failure="ntp_failure"), True),
    (_f("dns.system_failure", failure="dns_timeout"), True),
    (_f("dns.system_failure", failure="dns_servfail"), False),
    (_f("tls.handshake_failed", failure="connection_refused"), False),
    (_f("endpoint.unreachable", failures={"connection_refused": 2, "generic_timeout": 1}), True),
    (_f("endpoint.unreachable", failures={"dns_timeout": 1}), True),
    (_f("endpoint.unreachable", failures={"connection_refused": 2}), False),
    (_f("endpoint.unreachable", failures=["generic_timeout"]), False),
    ({"code": "x.y", "severity": "warn"}, False),
])
def test_lossy_finding_when_a_finding_is_what_loss_produces_is_true(finding_, lossy):
    assert unstable._lossy_finding(finding_) is lossy


@pytest.mark.parametrize("target, phrase", [
    ("wifi", {"key": "radio.wifi", "params": {}}), ("cellular", {"key": "radio.cellular", "params": {}}),
    ("wlan0", "wlan0"),
])
def test_radio_when_a_weak_signal_names_its_radio_says_it_in_words(target, phrase):
    assert unstable._radio(target) == phrase


# ------------------------------------------------------------------ the run's evidence as places


@pytest.mark.parametrize("failure, phase, kind", [
    (None, None, "ok"), ("http_status_5xx", None, "ok"), ("generic_timeout", "deadline", "cut"),
    ("dns_timeout", None, "dns_lossy"), ("dns_nxdomain", "connect", "dns_hard"),
    ("generic_timeout", "resolve", "dns_lossy"), ("connection_refused", "resolve", "dns_hard"),
    ("connection_reset", "connect", "lossy"), ("eof_error", None, "lossy"), ("ntp_failure", None, "lossy"),
    ("connection_aborted", None, "lossy"), ("connection_refused", "connect", "hard"),
])
def test_outcome_when_a_try_ended_says_how(failure, phase, kind):
    assert evidence.outcome(failure, phase) == kind


def test_host_providers_when_endpoints_are_configured_maps_hosts_and_ports():
    from payprobe.settings import Endpoint
    endpoints = [Endpoint("A", "https://a.example/x", "apay"), Endpoint("B", "http://b.example:8080/", ""),
                 Endpoint("C", "not a url", "c"), Endpoint("D", "https://a.example:444/", "other")]
    assert evidence.host_providers(endpoints) == {"a.example": "apay", "a.example:443": "apay",
                                                  "b.example": "B", "b.example:8080": "B",
                                                  "a.example:444": "other"}


@pytest.mark.parametrize("target, provider", [
    ("a.example", "apay"), ("a.example:443", "apay"), ("a.example:8443", "apay"), ("b.example:443", "bpay"),
    ("c.example", ""), ("::1", ""), ("[::1]:443", ""),
])
def test_provider_of_when_a_target_names_a_host_gives_its_provider(target, provider):
    assert evidence.provider_of(target, {"a.example": "apay", "b.example:443": "bpay"}) == provider


def _places(checks: list[dict[str, Any]], hosts: dict[str, str] | None = None) -> list[tuple[Any, ...]]:
    by_name = {c["name"]: c for c in checks}
    return [(p.layer, p.name, p.provider, {k: v for k, v in p.tries.items() if v}, p.failures)
            for p in evidence.read_places(by_name, hosts or {})]


def test_read_places_when_a_run_lost_tries_counts_each_place():
    run = _lossy(Run("evidence").unresolved("Stripe API"))
    run.eps["UnionPay Gateway"].samples[3] = {"failure": "generic_timeout", "phase": "deadline"}
    checks, _ = SCENARIOS["healthy"]()
    hosts = evidence.host_providers(SETTINGS.endpoints)
    assert _places(run.checks(), hosts) == PLACES_OF_A_LOSSY_RUN
    assert len(_places(checks, hosts)) == len(PLACES_OF_A_LOSSY_RUN)


def test_read_places_when_evidence_is_partial_reads_what_there_is():
    checks = [
        _check("connectivity", "warn", "", evidence=[
            {"what": "check_url", "url": "http://a/", "ok": False, "status": 302},
            {"what": "check_url", "url": "http://b/", "ok": False, "failure": "connection_refused"},
            {"what": "check_url", "url": "http://c/", "ok": False}, "junk"]),
        _check("dns", "warn", "", evidence=[
            {"what": "dns_query", "resolver": "AliDNS", "rcode": None, "failure": None},
            {"what": "dns_query", "resolver": "AliDNS", "rcode": None, "failure": "connection_refused"},
            {"what": "dns_query", "resolver": "AliDNS", "rcode": None, "failure": "dns_timeout"},
            {"what": "dns_query", "resolver": "AliDNS", "rcode": "SERVFAIL", "failure": None},
            {"what": "dns_query", "resolver": "AliDNS", "rcode": "NXDOMAIN"},
            {"what": "dns_query", "resolver": "DNSPod", "skipped": True, "failure": "dns_timeout"},
            {"what": "dns_query", "resolver": "system", "rcode": None, "failure": None}]),
        _check("tls", "warn", "", evidence=[
            {"what": "tls", "target": "a.example:443", "ok": True},
            {"what": "tls", "target": "b.example", "ok": False, "phase": "handshake"},
            {"what": "not_measured", "target": "c.example", "failure": "dns_nxdomain"}]),
        _check("clock", "warn", "", evidence=[{"what": "http_date", "source": "http://d/", "ok": True},
                                              {"what": "ntp", "source": "ntp.x", "ok": False}]),
        _check("endpoints", "warn", "", evidence=[
            {"what": "endpoint", "endpoint": "E", "provider": "epay", "ok": False, "failure": "connection_reset",
             "phase": "tls"},
            {"what": "endpoint", "endpoint": "F", "ok": True, "failure": "ignored"}]),
    ]
    assert _places(checks, {"a.example": "apay"}) == [
        ("connectivity", "http://a/", "", {"ok": 1}, []),
        ("connectivity", "http://b/", "", {"hard": 1}, ["connection_refused"]),
        ("connectivity", "http://c/", "", {"hard": 1}, ["unknown_failure"]),
        ("dns", "AliDNS", "", {"ok": 1, "lossy": 2, "hard": 1, "dns_hard": 1},
         ["generic_timeout", "connection_refused", "dns_timeout", "dns_failure"]),
        ("dns", "system", "", {"dns_hard": 1}, ["dns_failure"]),
        ("tls", "a.example:443", "apay", {"ok": 1}, []),
        ("tls", "b.example", "", {"dns_hard": 1}, ["dns_failure"]),
        ("tls", "c.example", "", {"dns_hard": 1}, ["dns_nxdomain"]),
        ("clock", "http://d/", "", {"ok": 1}, []),
        ("clock", "ntp.x", "", {"hard": 1}, ["unknown_failure"]),
        ("endpoints", "E", "epay", {"lossy": 1}, ["connection_reset"]),
        ("endpoints", "F", "", {"ok": 1}, []),
    ]


def test_place_group_when_it_belongs_to_nothing_is_its_layer():
    assert [Place(*a).group for a in (("tls", "t", "p"), ("dns", "AliDNS"), ("clock", "ntp"))] == [
        "provider:p", "dns:AliDNS", "clock"]


# ------------------------------------------------------------------ loss at a provider's edge


def _hop(target: str, hop_no: Any, address: Any, **data: Any) -> dict[str, Any]:
    return _f("path.loss_at_hop", "warn", target, hop=hop_no, address=address, loss_pct=30, **data)


def test_edge_items_when_endpoints_share_a_hop_names_them_together():
    found = [_hop("A", 9, "198.51.100.7", endpoint="Alipay OpenAPI"), _hop("B", 9, "198.51.100.7"),
             _hop("C", 9, "198.51.100.7", endpoint="Alipay OpenAPI"), _hop("D", 7, "198.51.100.8"),
             _hop("E", 9, "198.51.100.9"), {"code": "path.loss_at_hop", "severity": "warn", "target": "F"},
             _hop("G", 5, "x"), _hop("H", 4, "y")]
    assert outage._edge_items(found) == [
        {"key": "outage.item", "params": {
            "where": {"list": [{"endpoint": "Alipay OpenAPI"}, {"endpoint": "B"}], "sep": "list_sep"},
            "what": fx.hop_words("outage.edge_loss", found[0])}},
        {"key": "outage.item", "params": {"where": {"list": [{"endpoint": "D"}], "sep": "list_sep"},
                                          "what": fx.hop_words("outage.edge_loss", found[3])}},
        {"key": "outage.item", "params": {"where": {"list": [{"endpoint": "E"}], "sep": "list_sep"},
                                          "what": fx.hop_words("outage.edge_loss", found[4])}},
        {"key": "outage.item", "params": {"where": {"list": [{"endpoint": "F"}], "sep": "list_sep"},
                                          "what": fx.hop_words("outage.edge_loss", found[5])}},
    ]


def _path_facts(*entries: Any, endpoints: list[EndpointState] | None = None) -> Facts:
    facts = fx.gather([_check("path", "warn", "", evidence=list(entries))], SETTINGS, "en")
    facts.endpoints = endpoints or []
    return facts


def _trace(*names: str, segment: str | None = None) -> dict[str, Any]:
    onset = {"hop": 9, "address": "198.51.100.7", "segment": segment, "loss_pct": 30} if segment else None
    return {"what": "path", "endpoints": list(names), "ip_family": "ipv4", "loss_onset": onset}


@pytest.mark.parametrize("entries, name, clean", [
    ([_trace("Stripe API")], "alipay", True),
    ([_trace("Stripe API", segment="isp")], "alipay", True),
    ([_trace("Stripe API", segment="provider_edge")], "alipay", False),
    ([_trace("Alipay OpenAPI")], "alipay", False),
    ([_trace("Unknown Endpoint")], "alipay", True),
    ([_trace("Unknown Endpoint")], "Unknown Endpoint", False),
    (["junk", {"what": "tls", "endpoints": ["Stripe API"]}, _trace("Stripe API")], "alipay", True),
    (["junk", {"what": "tls", "endpoints": ["Stripe API"]}], "alipay", False),
    ([{"what": "path", "loss_onset": "?"}], "alipay", False),
    ([], "alipay", False),
])
def test_traced_clean_when_another_providers_way_was_traced_says_whether_it_lost_nothing(entries, name, clean):
    assert outage._traced_clean(_path_facts(*entries), name) is clean


def test_traced_clean_when_the_endpoint_is_known_by_its_state_uses_its_provider():
    facts = _path_facts(_trace("Elsewhere"), endpoints=[EndpointState("Elsewhere", "alipay", True)])
    facts.endpoint_providers = {}
    assert outage._traced_clean(facts, "alipay") is True    # "Elsewhere" itself is another name
    facts.endpoint_providers = {"Elsewhere": "alipay"}
    assert outage._traced_clean(facts, "alipay") is False


def test_traced_clean_when_no_path_check_ran_is_false():
    assert outage._traced_clean(fx.gather([], SETTINGS, "en"), "alipay") is False


@pytest.mark.parametrize("finding_, words", [
    (None, ("outage.slow_ttfb", "0")),
    (_f("tls.slow", handshake_ms=950.6), ("outage.slow_tls", "951")),
    (_f("tls.slow"), ("outage.slow_tls", "0")),
    (_f("endpoint.slow", phase="connect", p50_ms=612.4), ("outage.slow_connect", "612")),
    (_f("endpoint.slow", phase="ttfb", p50_ms=1500), ("outage.slow_ttfb", "1500")),
    (_f("endpoint.slow", phase="tls", p50_ms=None), ("outage.slow_ttfb", "0")),
])
def test_slow_words_when_a_provider_is_slow_says_where_and_how_slow(finding_, words):
    assert outage._slow_words(finding_) == words


# ------------------------------------------------------------------ ranking and wording the candidates


def _cand(code: str, severity: str = "fail", confidence: str = "high", **kw: Any) -> fx.Candidate:
    return fx.Candidate(code, severity, confidence, kw.pop("findings", []), **kw)


def test_rank_when_candidates_differ_puts_offline_then_severity_then_confidence_then_rule_order():
    ranked = sorted([(_cand("b", "warn", "high"), 0), (_cand("c", "fail", "low"), 1), (_cand("offline", "info", "low"), 7),
                     (_cand("d", "fail", "high"), 5), (_cand("e", "fail", "high"), 2), (_cand("f", "fail", "medium"), 0)],
                    key=lambda co: diagnosis._rank(*co))
    assert [c.code for c, _ in ranked] == ["offline", "e", "d", "f", "c", "b"]


def test_candidates_when_rules_give_lists_single_or_none_ranks_and_silences(monkeypatch):
    rules = [("none", lambda facts: None), ("one", lambda facts: _cand("one", "warn", "high")),
             ("many", lambda facts: [_cand("two", "fail", "medium", silences={"one", "three"}),
                                     _cand("three", "fail", "low")]),
             ("empty", lambda facts: []), ("four", lambda facts: _cand("four", "fail", "medium"))]
    monkeypatch.setattr(diagnosis, "RULES", rules)
    assert [c.code for c in diagnosis._candidates(_facts())] == ["two", "four"]


def test_inconclusive_when_a_rule_fired_is_none():
    assert diagnosis._inconclusive(_facts([_check("x", "fail", "", findings=[_f("x.y", "fail")])]),
                                   [_cand("a")], True) is None


@pytest.mark.parametrize("severities, measured, key", [
    (["fail", "warn", "info"], True, "inconclusive.findings"),
    (["warn"], True, None),
    (["info"], False, "inconclusive.unmeasured"),
    ([], False, "inconclusive.unmeasured"),
    ([], True, None),
])
def test_inconclusive_when_nothing_fired_says_why_or_nothing(severities, measured, key):
    found = [_f(f"z.code{i}", s) for i, s in enumerate(severities)]
    cand = diagnosis._inconclusive(_facts([_check("x", "fail", "", findings=found)]), [], measured)
    if key is None:
        assert cand is None
        return
    assert (cand.code, cand.severity, cand.confidence, cand.params["detail"]["key"]) == (
        "inconclusive", "info", "low", key)
    assert cand.findings == [f for f in found if f["severity"] != "info"]
    if key == "inconclusive.findings":
        assert cand.params["detail"]["params"] == {"codes": {"list": ["z.code0", "z.code1"], "sep": "list_sep"}}


def test_to_cause_when_a_variant_has_its_own_remedies_puts_the_candidates_first_and_drops_repeats():
    from payprobe.reports.phrase import Voice
    cand = _cand("payment_service_outage", "warn", "medium", variant="slow", target="alipay",
                 remedies=["switch_network", "wait_busy"], params={"detail": "d"},
                 title_params={"provider": {"provider": "alipay"}},
                 findings=[_f("endpoint.slow"), _f("endpoint.slow"), _f("tls.slow")])
    cause = diagnosis._to_cause(cand, Voice("en"))
    assert cause["remedy_keys"] == ["switch_network", "wait_busy", "other_method", "contact_support"]
    assert len(cause["remedies"]) == 4
    assert (cause["code"], cause["severity"], cause["confidence"], cause["target"], cause["variant"]) == (
        "payment_service_outage", "warn", "medium", "alipay", "slow")
    assert cause["findings"] == ["endpoint.slow", "tls.slow"]
    assert cause["params"] == {"detail": "d", "provider": {"provider": "alipay"}}
    assert cause["title"] == "Alipay is slow or overloaded"


def test_to_cause_when_there_is_no_variant_uses_the_causes_remedies_and_no_target():
    from payprobe.reports.phrase import Voice
    cause = diagnosis._to_cause(_cand("inconclusive", "info", "low", params={"detail": ""}), Voice("en"))
    assert cause["remedy_keys"] == ["switch_network", "app_update_cache", "contact_support"]
    assert "target" not in cause and "variant" not in cause
    unknown_variant = diagnosis._to_cause(_cand("payment_service_outage", variant="nope"), Voice("en"))
    assert unknown_variant["remedy_keys"] == ["wait_retry", "other_method", "contact_support"]


def test_summarize_when_a_cause_blames_a_checks_findings_does_not_rule_that_check_out():
    from payprobe.reports.summary import summarize
    checks = [{"name": n, "status": "ok"} for n in ("connectivity", "dns", "tls", "clock", "proxy", "endpoints",
                                                     "device", "bandwidth")]
    facts = _facts(checks)
    causes = [_cause("inconclusive", "net.offline"), _cause("dns_problem", "dns.hijack", "endpoint.unreachable")]
    summary = summarize(causes, facts, checks)
    assert summary["ruled_out_keys"] == ["connectivity", "tls", "clock", "proxy", "device"]
    assert (summary["verdict_code"], summary["top_cause"], summary["network_ok"]) == ("cause", "dns_problem", False)
    assert summary["next_step_keys"] == ["follow_remedies"] and summary["next_steps_intro"] == ""
    assert summary["verdict_params"] == {
        "checks": {"list": [{"check": c["name"]} for c in checks], "sep": "list_sep"},
        "missing": {"list": [], "sep": "list_sep"}}


@pytest.mark.parametrize("measured, code, network_ok, steps, intro", [
    ([], "unknown", False, ["contact"], False),
    (NETWORK, "network_ok", True, ["real_name", "limits", "restriction", "bank_risk", "app_outdated", "contact"], True),
    (NETWORK[:2], "nothing_found", False,
     ["real_name", "limits", "restriction", "bank_risk", "app_outdated", "contact"], True),
])
def test_summarize_when_nothing_was_found_says_what_to_check_next(measured, code, network_ok, steps, intro):
    from payprobe.reports.summary import summarize
    summary = summarize([], _facts(measured), measured)
    assert (summary["verdict_code"], summary["network_ok"], summary["top_cause"]) == (code, network_ok, None)
    assert summary["next_step_keys"] == steps
    assert bool(summary["next_steps_intro"]) is intro
    assert summary["verdict_params"]["missing"]["list"] == [
        {"check": n} for n in ("connectivity", "dns", "tls", "clock", "endpoints") if n not in
        [m["name"] for m in measured]]


def test_summarize_when_a_check_failed_does_not_rule_it_out():
    from payprobe.reports.summary import summarize
    checks = [{"name": "dns", "status": "warn"}, {"name": "tls", "status": "ok"}, {"name": "other", "status": "ok"}]
    assert summarize([], _facts(checks), checks)["ruled_out_keys"] == ["tls"]


def test_endpoint_states_when_the_phase_is_not_in_the_item_takes_it_from_samples_or_findings():
    evidence_ = [
        {"what": "endpoint_samples", "endpoint": "A", "resolve_failure": "dns_nxdomain"},
        {"what": "endpoint_samples", "endpoint": "B", "resolve_failure": None},
        {"what": "endpoint_samples", "endpoint": "D", "resolve_failure": "dns_timeout"},
        {"what": "endpoint", "endpoint": "A", "provider": "apay", "ok": False, "failure": "dns_nxdomain"},
        {"what": "endpoint", "endpoint": "B", "ok": False, "failure": "generic_timeout", "http_status": None},
        {"what": "endpoint", "endpoint": "C", "provider": "cpay", "ok": True, "http_status": 200},
        {"what": "endpoint", "endpoint": "D", "ok": False, "failure": "x", "phase": "tls"},
        {"what": "other", "endpoint": "E"},
    ]
    found = [_f("endpoint.unreachable", "fail", "B", phase="http"), _f("endpoint.slow", "warn", "C", phase="ttfb"),
             _f("endpoint.unreachable", "fail", "A", phase="connect")]
    assert fx._endpoint_states(evidence_, found) == [
        EndpointState("A", "apay", False, "dns_nxdomain", None, "resolve"),
        EndpointState("B", "B", False, "generic_timeout", None, "http"),
        EndpointState("C", "cpay", True, None, 200, None),
        EndpointState("D", "D", False, "x", None, "tls")]


def test_unresolved_when_names_did_not_resolve_lists_each_with_its_name_and_failure():
    from payprobe.reports import rule_dns
    tls = _check("tls", "fail", "", findings=[
        _f("tls.handshake_failed", "fail", "api.x.example", failure="dns_servfail"),
        _f("tls.handshake_failed", "fail", "api.y.example", failure="generic_timeout", phase="resolve"),
        _f("tls.handshake_failed", "fail", "api.z.example", failure="connection_reset", phase="connect"),
        _f("tls.handshake_failed", "fail", "api.w.example")],
        evidence=[{"what": "not_measured", "target": "t.example"}, "junk",
                  {"what": "not_measured", "target": "u.example:443", "host": "u.example", "failure": "dns_timeout"},
                  {"what": "tls", "target": "v.example"}])
    endpoints = _check("endpoints", "fail", "", findings=[
        _f("endpoint.unreachable", "fail", "Stripe API", failure="dns_nxdomain", host="api.stripe.example"),
        _f("endpoint.unreachable", "fail", "Alipay OpenAPI", phase="resolve"),
        _f("endpoint.unreachable", "fail", "Nameless", failure="dns_timeout"),
        _f("endpoint.unreachable", "info", "Quiet", failure="dns_timeout")],
        evidence=[{"what": "not_measured", "target": "UnionPay Gateway"}])
    facts = fx.gather([tls, endpoints], SETTINGS, "en")
    assert [(u.name, u.failure, u.finding is not None) for u in rule_dns.unresolved(facts)] == [
        ("api.x.example", "dns_servfail", True), ("api.y.example", "generic_timeout", True),
        ("api.stripe.example", "dns_nxdomain", True), ("openapi.alipay.com", "", True),
        ("Nameless", "dns_timeout", True),
        ("t.example", "dns_failure", False), ("u.example", "dns_timeout", False),
        ("UnionPay Gateway", "dns_failure", False)]


def test_read_places_when_items_lack_names_or_carry_phases_reads_them_as_written():
    checks = [
        _check("dns", "warn", "", evidence=[
            {"what": "dns_query", "rcode": "SERVFAIL", "failure": "generic_timeout"},
            {"what": "dns_query", "resolver": "system", "rcode": None, "failure": "generic_timeout"},
            {"what": "dns_query", "resolver": "X", "rcode": None, "failure": "connection_refused"}]),
        _check("tls", "warn", "", evidence=[
            {"what": "tls", "ok": False, "failure": "generic_timeout", "phase": "resolve"},
            {"what": "not_measured", "target": "n.example", "failure": "generic_timeout"},
            {"what": "tls", "target": "c.example", "ok": False, "failure": "generic_timeout"}]),
        _check("endpoints", "warn", "", evidence=[
            {"what": "endpoint_samples", "resolve_failure": "generic_timeout", "samples": ["junk"]},
            {"what": "endpoint_samples", "endpoint": "S", "provider": None,
             "samples": [{"failure": "generic_timeout", "phase": "resolve"}, {"failure": None}]}]),
    ]
    assert _places(checks) == [
        ("dns", "", "", {"dns_lossy": 1}, ["generic_timeout"]),
        ("dns", "system", "", {"dns_lossy": 1}, ["generic_timeout"]),
        ("dns", "X", "", {"hard": 1}, ["connection_refused"]),
        ("tls", "", "", {"dns_lossy": 1}, ["generic_timeout"]),
        ("tls", "n.example", "", {"dns_lossy": 1}, ["generic_timeout"]),
        ("tls", "c.example", "", {"lossy": 1}, ["generic_timeout"]),
        ("endpoints", "", "", {"dns_lossy": 1}, ["generic_timeout"]),
        ("endpoints", "S", "", {"ok": 1, "dns_lossy": 1}, ["generic_timeout"]),
    ]
    summary_only = [_check("endpoints", "warn", "", evidence=[
        {"what": "endpoint", "ok": False, "failure": "generic_timeout", "phase": "resolve"},
        {"what": "endpoint", "endpoint": "T", "ok": False, "failure": "generic_timeout"}])]
    assert _places(summary_only) == [("endpoints", "", "", {"dns_lossy": 1}, ["generic_timeout"]),
                                     ("endpoints", "T", "", {"lossy": 1}, ["generic_timeout"])]


def test_host_providers_when_endpoints_lack_fields_falls_back_to_the_name():
    endpoints = [SimpleNamespace(url="http://a.example/", name="A"), SimpleNamespace(name="nourl"),
                 SimpleNamespace(url="https://b.example/"), SimpleNamespace(url="https://c.example/", provider="",
                                                                               name="C")]
    assert evidence.host_providers(endpoints) == {"a.example": "A", "a.example:80": "A", "b.example": "",
                                                  "b.example:443": "", "c.example": "C", "c.example:443": "C"}


def test_facts_provider_when_a_finding_has_no_target_is_about_no_provider():
    facts = fx.gather([], SETTINGS, "en")
    for code in ("endpoint.slow", "path.loss_at_hop", "tls.expired", "dns.hijack"):
        assert facts.provider({"code": code, "severity": "warn", "data": {}}) == "", code
    assert facts.group({"code": "net.weak_signal", "severity": "warn", "data": {}}) == "host:"


def test_cert_blame_when_the_clock_is_wrong_blames_no_provider():
    facts = _facts([_clock([_f("clock.skew", "fail", offset_s=4000.0)])])
    dated = blame.ProviderCase("p", hits=[blame.Hit("cert_dates", "a.example", _f("tls.expired", "fail", "a.example"))])
    assert blame.cert_blame(facts, dated) is None
    unknown = _facts([_clock([_f("clock.unknown", "warn")], status="warn")])
    assert blame.cert_blame(unknown, dated) == "medium"
    assert blame.cert_blame(_facts([_clock()]), dated) == "high"


# ------------------------------------------------------------------ expected (reviewed)

EXPECTED: dict[str, dict[str, Any]] = {'a_failure_nothing_explains': {'causes': [{'code': 'inconclusive',
                                            'severity': 'info',
                                            'confidence': 'low',
                                            'title': 'No clear network cause',
                                            'findings': ['proxy.unknown_thing'],
                                            'params': {'detail': {'key': 'inconclusive.findings',
                                                                  'params': {'codes': {'list': ['proxy.unknown_thing'],
                                                                                       'sep': 'list_sep'}}}},
                                            'remedy_keys': ['switch_network',
                                                            'app_update_cache',
                                                            'contact_support']}],
                                'summary': {'verdict': 'No clear network cause was found.',
                                            'verdict_code': 'inconclusive',
                                            'network_ok': False,
                                            'top_cause': None,
                                            'next_steps_intro': 'A network probe cannot see these; check them next:',
                                            'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                   {'check': 'endpoints'},
                                                                                   {'check': 'dns'},
                                                                                   {'check': 'tls'},
                                                                                   {'check': 'clock'},
                                                                                   {'check': 'proxy'}],
                                                                          'sep': 'list_sep'},
                                                               'missing': {'list': [], 'sep': 'list_sep'}},
                                            'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock', 'endpoints'],
                                            'next_step_keys': ['real_name',
                                                               'limits',
                                                               'restriction',
                                                               'bank_risk',
                                                               'app_outdated',
                                                               'contact']}},
 'a_tls_warning_on_a_working_provider': {'causes': [{'code': 'inconclusive',
                                                     'severity': 'info',
                                                     'confidence': 'low',
                                                     'title': 'No clear network cause',
                                                     'findings': ['tls.weak_cipher'],
                                                     'params': {'detail': {'key': 'inconclusive.conflict',
                                                                           'params': {'conflicts': {'list': [{'key': 'conflict.tls_vs_endpoints',
                                                                                                              'params': {'target': 'api.stripe.com',
                                                                                                                         'failure': 'tls.weak_cipher',
                                                                                                                         'other': {'list': [{'endpoint': 'Stripe '
                                                                                                                                                         'API'}],
                                                                                                                                   'sep': 'list_sep'}}}],
                                                                                                    'sep': 'sentence_sep'}}}},
                                                     'remedy_keys': ['switch_network',
                                                                     'app_update_cache',
                                                                     'contact_support']}],
                                         'summary': {'verdict': 'No clear network cause was found.',
                                                     'verdict_code': 'inconclusive',
                                                     'network_ok': False,
                                                     'top_cause': None,
                                                     'next_steps_intro': 'A network probe cannot see these; check '
                                                                         'them next:',
                                                     'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                            {'check': 'dns'},
                                                                                            {'check': 'tls'},
                                                                                            {'check': 'clock'},
                                                                                            {'check': 'endpoints'}],
                                                                                   'sep': 'list_sep'},
                                                                        'missing': {'list': [], 'sep': 'list_sep'}},
                                                     'ruled_out_keys': ['connectivity', 'dns', 'clock', 'endpoints'],
                                                     'next_step_keys': ['real_name',
                                                                        'limits',
                                                                        'restriction',
                                                                        'bank_risk',
                                                                        'app_outdated',
                                                                        'contact']}},
 'a_warning_nothing_explains': {'causes': [],
                                'summary': {'verdict': 'Your network works; the checks noticed minor issues (below) '
                                                       'that are unlikely to stop a payment on their own.',
                                            'verdict_code': 'minor',
                                            'network_ok': True,
                                            'top_cause': None,
                                            'next_steps_intro': 'A network probe cannot see these; check them next:',
                                            'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                   {'check': 'endpoints'},
                                                                                   {'check': 'dns'},
                                                                                   {'check': 'tls'},
                                                                                   {'check': 'clock'},
                                                                                   {'check': 'proxy'}],
                                                                          'sep': 'list_sep'},
                                                               'missing': {'list': [], 'sep': 'list_sep'}},
                                            'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock', 'endpoints'],
                                            'next_step_keys': ['real_name',
                                                               'limits',
                                                               'restriction',
                                                               'bank_risk',
                                                               'app_outdated',
                                                               'contact']}},
 'bufferbloat': {'causes': [{'code': 'network_unstable',
                             'severity': 'warn',
                             'confidence': 'medium',
                             'title': 'The connection is slow or unstable',
                             'findings': ['net.bufferbloat'],
                             'params': {'detail': {'key': 'unstable.prefix',
                                                   'params': {'items': {'list': [{'key': 'unstable.bufferbloat',
                                                                                  'params': {'idle': {'number': 28.0,
                                                                                                      'unit': 'ms'},
                                                                                             'loaded': {'number': 940.0,
                                                                                                        'unit': 'ms'}}}],
                                                                        'sep': 'clause_sep'}}}},
                             'remedy_keys': ['pause_traffic',
                                             'router_sqm',
                                             'switch_network',
                                             'close_background',
                                             'retry_later']}],
                 'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                             'verdict_code': 'cause',
                             'network_ok': False,
                             'top_cause': 'network_unstable',
                             'next_steps_intro': '',
                             'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                    {'check': 'dns'},
                                                                    {'check': 'tls'},
                                                                    {'check': 'clock'},
                                                                    {'check': 'bandwidth'},
                                                                    {'check': 'endpoints'}],
                                                           'sep': 'list_sep'},
                                                'missing': {'list': [], 'sep': 'list_sep'}},
                             'ruled_out_keys': ['dns', 'tls', 'clock', 'endpoints'],
                             'next_step_keys': ['follow_remedies']}},
 'captive_portal': {'causes': [{'code': 'captive_portal',
                                'severity': 'fail',
                                'confidence': 'high',
                                'title': 'This Wi-Fi wants you to sign in first',
                                'findings': ['net.captive_portal', 'tls.untrusted_issuer', 'endpoint.unreachable'],
                                'target': 'login.hotel.example',
                                'params': {'target': 'login.hotel.example'},
                                'remedy_keys': ['portal_login', 'switch_network']}],
                    'summary': {'verdict': 'Most likely cause: This Wi-Fi wants you to sign in first.',
                                'verdict_code': 'cause',
                                'network_ok': False,
                                'top_cause': 'captive_portal',
                                'next_steps_intro': '',
                                'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                       {'check': 'tls'},
                                                                       {'check': 'endpoints'}],
                                                              'sep': 'list_sep'},
                                                   'missing': {'list': [{'check': 'dns'}, {'check': 'clock'}],
                                                               'sep': 'list_sep'}},
                                'ruled_out_keys': [],
                                'next_step_keys': ['follow_remedies']}},
 'captive_portal_explains_everything': {'causes': [{'code': 'captive_portal',
                                                    'severity': 'fail',
                                                    'confidence': 'high',
                                                    'title': 'This Wi-Fi wants you to sign in first',
                                                    'findings': ['net.captive_portal',
                                                                 'dns.hijack',
                                                                 'dns.nxdomain_rewrite',
                                                                 'tls.hostname_mismatch',
                                                                 'tls.handshake_failed',
                                                                 'tls.untrusted_issuer',
                                                                 'endpoint.unreachable',
                                                                 'endpoint.http_error'],
                                                    'target': 'wifi.example',
                                                    'params': {'target': 'wifi.example'},
                                                    'remedy_keys': ['portal_login', 'switch_network']}],
                                        'summary': {'verdict': 'Most likely cause: This Wi-Fi wants you to sign in '
                                                               'first.',
                                                    'verdict_code': 'cause',
                                                    'network_ok': False,
                                                    'top_cause': 'captive_portal',
                                                    'next_steps_intro': '',
                                                    'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                           {'check': 'dns'},
                                                                                           {'check': 'tls'},
                                                                                           {'check': 'endpoints'}],
                                                                                  'sep': 'list_sep'},
                                                                       'missing': {'list': [{'check': 'clock'}],
                                                                                   'sep': 'list_sep'}},
                                                    'ruled_out_keys': [],
                                                    'next_step_keys': ['follow_remedies']}},
 'captive_portal_without_a_host': {'causes': [{'code': 'captive_portal',
                                               'severity': 'fail',
                                               'confidence': 'high',
                                               'title': 'This Wi-Fi wants you to sign in first',
                                               'findings': ['net.captive_portal', 'dns.nxdomain_rewrite'],
                                               'target': 'connect.rom.miui.com',
                                               'params': {'target': 'connect.rom.miui.com'},
                                               'remedy_keys': ['portal_login', 'switch_network']}],
                                   'summary': {'verdict': 'Most likely cause: This Wi-Fi wants you to sign in first.',
                                               'verdict_code': 'cause',
                                               'network_ok': False,
                                               'top_cause': 'captive_portal',
                                               'next_steps_intro': '',
                                               'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                      {'check': 'dns'}],
                                                                             'sep': 'list_sep'},
                                                                  'missing': {'list': [{'check': 'tls'},
                                                                                       {'check': 'clock'},
                                                                                       {'check': 'endpoints'}],
                                                                              'sep': 'list_sep'}},
                                               'ruled_out_keys': [],
                                               'next_step_keys': ['follow_remedies']}},
 'cert_out_of_date_by_reference_clock_too': {'causes': [{'code': 'clock_wrong',
                                                         'severity': 'fail',
                                                         'confidence': 'high',
                                                         'title': "The phone's clock is wrong",
                                                         'findings': ['clock.skew'],
                                                         'params': {'offset': {'key': 'clock.behind',
                                                                               'params': {'amount': {'duration_s': 4000.0}}},
                                                                    'tls_detail': ''},
                                                         'remedy_keys': ['auto_time']}],
                                             'summary': {'verdict': "Most likely cause: The phone's clock is wrong.",
                                                         'verdict_code': 'cause',
                                                         'network_ok': False,
                                                         'top_cause': 'clock_wrong',
                                                         'next_steps_intro': '',
                                                         'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                {'check': 'clock'},
                                                                                                {'check': 'tls'}],
                                                                                       'sep': 'list_sep'},
                                                                            'missing': {'list': [{'check': 'dns'},
                                                                                                 {'check': 'endpoints'}],
                                                                                        'sep': 'list_sep'}},
                                                         'ruled_out_keys': ['connectivity'],
                                                         'next_step_keys': ['follow_remedies']}},
 'check_urls_fail_everything_else_answers': {'causes': [{'code': 'inconclusive',
                                                         'severity': 'info',
                                                         'confidence': 'low',
                                                         'title': 'No clear network cause',
                                                         'findings': ['net.offline'],
                                                         'params': {'detail': {'key': 'inconclusive.conflict',
                                                                               'params': {'conflicts': {'list': [{'key': 'conflict.offline',
                                                                                                                  'params': {'what': {'list': ['AliDNS',
                                                                                                                                               'DNSPod',
                                                                                                                                               'openapi.alipay.com'],
                                                                                                                                      'sep': 'list_sep'}}}],
                                                                                                        'sep': 'sentence_sep'}}}},
                                                         'remedy_keys': ['switch_network',
                                                                         'app_update_cache',
                                                                         'contact_support']}],
                                             'summary': {'verdict': 'No clear network cause was found.',
                                                         'verdict_code': 'inconclusive',
                                                         'network_ok': False,
                                                         'top_cause': None,
                                                         'next_steps_intro': 'A network probe cannot see these; '
                                                                             'check them next:',
                                                         'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                {'check': 'dns'},
                                                                                                {'check': 'tls'},
                                                                                                {'check': 'clock'},
                                                                                                {'check': 'endpoints'}],
                                                                                       'sep': 'list_sep'},
                                                                            'missing': {'list': [],
                                                                                        'sep': 'list_sep'}},
                                                         'ruled_out_keys': ['dns', 'tls', 'clock', 'endpoints'],
                                                         'next_step_keys': ['real_name',
                                                                            'limits',
                                                                            'restriction',
                                                                            'bank_risk',
                                                                            'app_outdated',
                                                                            'contact']}},
 'check_urls_fail_other_providers_answer': {'causes': [{'code': 'payment_service_outage',
                                                        'severity': 'fail',
                                                        'confidence': 'medium',
                                                        'title': 'WeChat Pay is not answering',
                                                        'findings': ['endpoint.unreachable'],
                                                        'target': 'wechatpay',
                                                        'variant': 'down',
                                                        'params': {'provider': {'provider': 'wechatpay'},
                                                                   'detail': {'list': [{'key': 'outage.item',
                                                                                        'params': {'where': {'list': [{'endpoint': 'WeChat '
                                                                                                                                   'Pay '
                                                                                                                                   'API'},
                                                                                                                      {'endpoint': 'WeChat '
                                                                                                                                   'Pay '
                                                                                                                                   'API '
                                                                                                                                   'v3'}],
                                                                                                             'sep': 'list_sep'},
                                                                                                   'what': {'key': 'outage.timeout',
                                                                                                            'params': {'failure': 'generic_timeout',
                                                                                                                       'status': None}}}}],
                                                                              'sep': 'list_sep'},
                                                                   'clock_note': ''},
                                                        'remedy_keys': ['wait_retry',
                                                                        'other_method',
                                                                        'contact_support']}],
                                            'summary': {'verdict': 'Most likely cause: WeChat Pay is not answering.',
                                                        'verdict_code': 'cause',
                                                        'network_ok': False,
                                                        'top_cause': 'payment_service_outage',
                                                        'next_steps_intro': '',
                                                        'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                               {'check': 'endpoints'}],
                                                                                      'sep': 'list_sep'},
                                                                           'missing': {'list': [{'check': 'dns'},
                                                                                                {'check': 'tls'},
                                                                                                {'check': 'clock'}],
                                                                                       'sep': 'list_sep'}},
                                                        'ruled_out_keys': [],
                                                        'next_step_keys': ['follow_remedies']}},
 'clock_behind_expired_cert_and_another_provider_down': {'causes': [{'code': 'clock_wrong',
                                                                     'severity': 'fail',
                                                                     'confidence': 'high',
                                                                     'title': "The phone's clock is wrong",
                                                                     'findings': ['clock.skew',
                                                                                  'tls.expired',
                                                                                  'endpoint.unreachable'],
                                                                     'params': {'offset': {'key': 'clock.behind',
                                                                                           'params': {'amount': {'duration_s': 4000.0}}},
                                                                                'tls_detail': {'key': 'clock.tls',
                                                                                               'params': {'tls_state': {'key': 'tls.expired',
                                                                                                                        'params': {}}}}},
                                                                     'remedy_keys': ['auto_time']}],
                                                         'summary': {'verdict': "Most likely cause: The phone's "
                                                                                'clock is wrong.',
                                                                     'verdict_code': 'cause',
                                                                     'network_ok': False,
                                                                     'top_cause': 'clock_wrong',
                                                                     'next_steps_intro': '',
                                                                     'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                            {'check': 'dns'},
                                                                                                            {'check': 'tls'},
                                                                                                            {'check': 'clock'},
                                                                                                            {'check': 'endpoints'}],
                                                                                                   'sep': 'list_sep'},
                                                                                        'missing': {'list': [],
                                                                                                    'sep': 'list_sep'}},
                                                                     'ruled_out_keys': ['connectivity', 'dns'],
                                                                     'next_step_keys': ['follow_remedies']}},
 'clock_behind_with_endpoint_cert_failures_only': {'causes': [{'code': 'clock_wrong',
                                                               'severity': 'fail',
                                                               'confidence': 'high',
                                                               'title': "The phone's clock is wrong",
                                                               'findings': ['clock.skew', 'endpoint.unreachable'],
                                                               'params': {'offset': {'key': 'clock.ahead',
                                                                                     'params': {'amount': {'duration_s': -7200.0}}},
                                                                          'tls_detail': {'key': 'clock.tls',
                                                                                         'params': {'tls_state': {'key': 'tls.expired',
                                                                                                                  'params': {}}}}},
                                                               'remedy_keys': ['auto_time']}],
                                                   'summary': {'verdict': "Most likely cause: The phone's clock is "
                                                                          'wrong.',
                                                               'verdict_code': 'cause',
                                                               'network_ok': False,
                                                               'top_cause': 'clock_wrong',
                                                               'next_steps_intro': '',
                                                               'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                      {'check': 'clock'},
                                                                                                      {'check': 'endpoints'}],
                                                                                             'sep': 'list_sep'},
                                                                                  'missing': {'list': [{'check': 'dns'},
                                                                                                       {'check': 'tls'}],
                                                                                              'sep': 'list_sep'}},
                                                               'ruled_out_keys': ['connectivity'],
                                                               'next_step_keys': ['follow_remedies']}},
 'clock_behind_with_not_yet_valid_cert': {'causes': [{'code': 'clock_wrong',
                                                      'severity': 'fail',
                                                      'confidence': 'high',
                                                      'title': "The phone's clock is wrong",
                                                      'findings': ['clock.skew',
                                                                   'tls.not_yet_valid',
                                                                   'endpoint.unreachable'],
                                                      'params': {'offset': {'key': 'clock.behind',
                                                                            'params': {'amount': {'duration_s': 4000.0}}},
                                                                 'tls_detail': {'key': 'clock.tls',
                                                                                'params': {'tls_state': {'key': 'tls.not_yet_valid',
                                                                                                         'params': {}}}}},
                                                      'remedy_keys': ['auto_time']}],
                                          'summary': {'verdict': "Most likely cause: The phone's clock is wrong.",
                                                      'verdict_code': 'cause',
                                                      'network_ok': False,
                                                      'top_cause': 'clock_wrong',
                                                      'next_steps_intro': '',
                                                      'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                             {'check': 'dns'},
                                                                                             {'check': 'tls'},
                                                                                             {'check': 'clock'},
                                                                                             {'check': 'endpoints'}],
                                                                                    'sep': 'list_sep'},
                                                                         'missing': {'list': [], 'sep': 'list_sep'}},
                                                      'ruled_out_keys': ['connectivity', 'dns'],
                                                      'next_step_keys': ['follow_remedies']}},
 'clock_far_behind': {'causes': [{'code': 'clock_wrong',
                                  'severity': 'fail',
                                  'confidence': 'high',
                                  'title': "The phone's clock is wrong",
                                  'findings': ['clock.skew'],
                                  'params': {'offset': {'key': 'clock.behind',
                                                        'params': {'amount': {'duration_s': 4000.0}}},
                                             'tls_detail': ''},
                                  'remedy_keys': ['auto_time']}],
                      'summary': {'verdict': "Most likely cause: The phone's clock is wrong.",
                                  'verdict_code': 'cause',
                                  'network_ok': False,
                                  'top_cause': 'clock_wrong',
                                  'next_steps_intro': '',
                                  'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                         {'check': 'dns'},
                                                                         {'check': 'tls'},
                                                                         {'check': 'clock'},
                                                                         {'check': 'endpoints'}],
                                                                'sep': 'list_sep'},
                                                     'missing': {'list': [], 'sep': 'list_sep'}},
                                  'ruled_out_keys': ['connectivity', 'dns', 'tls', 'endpoints'],
                                  'next_step_keys': ['follow_remedies']}},
 'clock_right_with_not_yet_valid': {'causes': [{'code': 'inconclusive',
                                                'severity': 'info',
                                                'confidence': 'low',
                                                'title': 'No clear network cause',
                                                'findings': ['tls.not_yet_valid'],
                                                'params': {'detail': {'key': 'inconclusive.conflict',
                                                                      'params': {'conflicts': {'list': [{'key': 'conflict.dates',
                                                                                                         'params': {'state': {'key': 'tls.not_yet_valid',
                                                                                                                              'params': {}},
                                                                                                                    'names': {'list': ['a.example',
                                                                                                                                       'b.example'],
                                                                                                                              'sep': 'list_sep'},
                                                                                                                    'offset': {'duration_s': 0.0}}}],
                                                                                               'sep': 'sentence_sep'}}}},
                                                'remedy_keys': ['switch_network',
                                                                'app_update_cache',
                                                                'contact_support']}],
                                    'summary': {'verdict': 'No clear network cause was found.',
                                                'verdict_code': 'inconclusive',
                                                'network_ok': False,
                                                'top_cause': None,
                                                'next_steps_intro': 'A network probe cannot see these; check them '
                                                                    'next:',
                                                'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                       {'check': 'clock'},
                                                                                       {'check': 'tls'}],
                                                                              'sep': 'list_sep'},
                                                                   'missing': {'list': [{'check': 'dns'},
                                                                                        {'check': 'endpoints'}],
                                                                               'sep': 'list_sep'}},
                                                'ruled_out_keys': ['connectivity', 'clock'],
                                                'next_step_keys': ['real_name',
                                                                   'limits',
                                                                   'restriction',
                                                                   'bank_risk',
                                                                   'app_outdated',
                                                                   'contact']}},
 'clock_slightly_ahead': {'causes': [{'code': 'clock_wrong',
                                      'severity': 'warn',
                                      'confidence': 'high',
                                      'title': "The phone's clock is wrong",
                                      'findings': ['clock.skew'],
                                      'params': {'offset': {'key': 'clock.ahead',
                                                            'params': {'amount': {'duration_s': -95.0}}},
                                                 'tls_detail': ''},
                                      'remedy_keys': ['auto_time']}],
                          'summary': {'verdict': "Most likely cause: The phone's clock is wrong.",
                                      'verdict_code': 'cause',
                                      'network_ok': False,
                                      'top_cause': 'clock_wrong',
                                      'next_steps_intro': '',
                                      'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                             {'check': 'dns'},
                                                                             {'check': 'tls'},
                                                                             {'check': 'clock'},
                                                                             {'check': 'endpoints'}],
                                                                    'sep': 'list_sep'},
                                                         'missing': {'list': [], 'sep': 'list_sep'}},
                                      'ruled_out_keys': ['connectivity', 'dns', 'tls', 'endpoints'],
                                      'next_step_keys': ['follow_remedies']}},
 'clock_two_hours_behind_with_not_yet_valid': {'causes': [{'code': 'clock_wrong',
                                                           'severity': 'fail',
                                                           'confidence': 'high',
                                                           'title': "The phone's clock is wrong",
                                                           'findings': ['clock.skew',
                                                                        'tls.not_yet_valid',
                                                                        'endpoint.unreachable'],
                                                           'params': {'offset': {'key': 'clock.behind',
                                                                                 'params': {'amount': {'duration_s': 7200.0}}},
                                                                      'tls_detail': {'key': 'clock.tls',
                                                                                     'params': {'tls_state': {'key': 'tls.not_yet_valid',
                                                                                                              'params': {}}}}},
                                                           'remedy_keys': ['auto_time']}],
                                               'summary': {'verdict': "Most likely cause: The phone's clock is "
                                                                      'wrong.',
                                                           'verdict_code': 'cause',
                                                           'network_ok': False,
                                                           'top_cause': 'clock_wrong',
                                                           'next_steps_intro': '',
                                                           'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                  {'check': 'clock'},
                                                                                                  {'check': 'tls'},
                                                                                                  {'check': 'endpoints'}],
                                                                                         'sep': 'list_sep'},
                                                                              'missing': {'list': [{'check': 'dns'}],
                                                                                          'sep': 'list_sep'}},
                                                           'ruled_out_keys': ['connectivity'],
                                                           'next_step_keys': ['follow_remedies']}},
 'clock_unknown_two_of_five_hosts_not_yet_valid': {'causes': [{'code': 'inconclusive',
                                                               'severity': 'info',
                                                               'confidence': 'low',
                                                               'title': 'No clear network cause',
                                                               'findings': ['clock.unknown', 'tls.not_yet_valid'],
                                                               'params': {'detail': {'key': 'inconclusive.findings',
                                                                                     'params': {'codes': {'list': ['clock.unknown',
                                                                                                                   'tls.not_yet_valid'],
                                                                                                          'sep': 'list_sep'}}}},
                                                               'remedy_keys': ['switch_network',
                                                                               'app_update_cache',
                                                                               'contact_support']}],
                                                   'summary': {'verdict': 'No clear network cause was found.',
                                                               'verdict_code': 'inconclusive',
                                                               'network_ok': False,
                                                               'top_cause': None,
                                                               'next_steps_intro': 'A network probe cannot see '
                                                                                   'these; check them next:',
                                                               'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                      {'check': 'clock'},
                                                                                                      {'check': 'tls'}],
                                                                                             'sep': 'list_sep'},
                                                                                  'missing': {'list': [{'check': 'dns'},
                                                                                                       {'check': 'endpoints'}],
                                                                                              'sep': 'list_sep'}},
                                                               'ruled_out_keys': ['connectivity'],
                                                               'next_step_keys': ['real_name',
                                                                                  'limits',
                                                                                  'restriction',
                                                                                  'bank_risk',
                                                                                  'app_outdated',
                                                                                  'contact']}},
 'clock_unknown_two_of_four_not_yet_valid_another_down': {'causes': [{'code': 'payment_service_outage',
                                                                      'severity': 'fail',
                                                                      'confidence': 'high',
                                                                      'title': 'Stripe is not answering',
                                                                      'findings': ['tls.handshake_failed',
                                                                                   'endpoint.unreachable'],
                                                                      'target': 'stripe',
                                                                      'variant': 'down',
                                                                      'params': {'provider': {'provider': 'stripe'},
                                                                                 'detail': {'list': [{'key': 'outage.item',
                                                                                                      'params': {'where': {'list': [{'endpoint': 'Stripe '
                                                                                                                                                 'API'}],
                                                                                                                           'sep': 'list_sep'},
                                                                                                                 'what': {'key': 'outage.refused',
                                                                                                                          'params': {'failure': 'connection_refused',
                                                                                                                                     'status': None}}}}],
                                                                                            'sep': 'list_sep'},
                                                                                 'clock_note': ''},
                                                                      'remedy_keys': ['wait_retry',
                                                                                      'other_method',
                                                                                      'contact_support']},
                                                                     {'code': 'clock_wrong',
                                                                      'severity': 'fail',
                                                                      'confidence': 'medium',
                                                                      'title': "The phone's clock is wrong",
                                                                      'findings': ['tls.not_yet_valid',
                                                                                   'endpoint.unreachable',
                                                                                   'clock.unknown'],
                                                                      'params': {'offset': {'key': 'clock.unmeasured',
                                                                                            'params': {}},
                                                                                 'tls_detail': {'key': 'clock.tls_unmeasured',
                                                                                                'params': {'tls_state': {'key': 'tls.not_yet_valid',
                                                                                                                         'params': {}}}}},
                                                                      'remedy_keys': ['auto_time']}],
                                                          'summary': {'verdict': 'Most likely cause: Stripe is not '
                                                                                 'answering.',
                                                                      'verdict_code': 'cause',
                                                                      'network_ok': False,
                                                                      'top_cause': 'payment_service_outage',
                                                                      'next_steps_intro': '',
                                                                      'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                             {'check': 'dns'},
                                                                                                             {'check': 'tls'},
                                                                                                             {'check': 'clock'},
                                                                                                             {'check': 'endpoints'}],
                                                                                                    'sep': 'list_sep'},
                                                                                         'missing': {'list': [],
                                                                                                     'sep': 'list_sep'}},
                                                                      'ruled_out_keys': ['connectivity', 'dns'],
                                                                      'next_step_keys': ['follow_remedies']}},
 'clock_unknown_with_not_yet_valid': {'causes': [{'code': 'clock_wrong',
                                                  'severity': 'fail',
                                                  'confidence': 'medium',
                                                  'title': "The phone's clock is wrong",
                                                  'findings': ['tls.not_yet_valid', 'clock.unknown'],
                                                  'params': {'offset': {'key': 'clock.unmeasured', 'params': {}},
                                                             'tls_detail': {'key': 'clock.tls_unmeasured',
                                                                            'params': {'tls_state': {'key': 'tls.not_yet_valid',
                                                                                                     'params': {}}}}},
                                                  'remedy_keys': ['auto_time']}],
                                      'summary': {'verdict': "Most likely cause: The phone's clock is wrong.",
                                                  'verdict_code': 'cause',
                                                  'network_ok': False,
                                                  'top_cause': 'clock_wrong',
                                                  'next_steps_intro': '',
                                                  'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                         {'check': 'clock'},
                                                                                         {'check': 'tls'}],
                                                                                'sep': 'list_sep'},
                                                                     'missing': {'list': [{'check': 'dns'},
                                                                                          {'check': 'endpoints'}],
                                                                                 'sep': 'list_sep'}},
                                                  'ruled_out_keys': ['connectivity'],
                                                  'next_step_keys': ['follow_remedies']}},
 'clock_unmeasured_endpoint_cert_failures_only': {'causes': [{'code': 'clock_wrong',
                                                              'severity': 'fail',
                                                              'confidence': 'medium',
                                                              'title': "The phone's clock is wrong",
                                                              'findings': ['endpoint.unreachable',
                                                                           'clock.ntp_blocked'],
                                                              'params': {'offset': {'key': 'clock.unmeasured',
                                                                                    'params': {}},
                                                                         'tls_detail': {'key': 'clock.tls_unmeasured',
                                                                                        'params': {'tls_state': {'key': 'tls.not_yet_valid',
                                                                                                                 'params': {}}}}},
                                                              'remedy_keys': ['auto_time']}],
                                                  'summary': {'verdict': "Most likely cause: The phone's clock is "
                                                                         'wrong.',
                                                              'verdict_code': 'cause',
                                                              'network_ok': False,
                                                              'top_cause': 'clock_wrong',
                                                              'next_steps_intro': '',
                                                              'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                     {'check': 'clock'},
                                                                                                     {'check': 'endpoints'}],
                                                                                            'sep': 'list_sep'},
                                                                                 'missing': {'list': [{'check': 'dns'},
                                                                                                      {'check': 'tls'}],
                                                                                             'sep': 'list_sep'}},
                                                              'ruled_out_keys': ['connectivity'],
                                                              'next_step_keys': ['follow_remedies']}},
 'dns_hijack': {'causes': [{'code': 'dns_problem',
                            'severity': 'fail',
                            'confidence': 'high',
                            'title': 'Name lookups (DNS) are failing or wrong',
                            'findings': ['dns.hijack'],
                            'params': {'detail': {'list': [{'key': 'dns.hijack',
                                                            'params': {'names': {'list': ['openapi.alipay.com'],
                                                                                 'sep': 'list_sep'}}}],
                                                  'sep': 'sentence_sep'}},
                            'remedy_keys': ['set_dns', 'router_dns', 'switch_network']}],
                'summary': {'verdict': 'Most likely cause: Name lookups (DNS) are failing or wrong.',
                            'verdict_code': 'cause',
                            'network_ok': False,
                            'top_cause': 'dns_problem',
                            'next_steps_intro': '',
                            'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                   {'check': 'endpoints'},
                                                                   {'check': 'dns'}],
                                                          'sep': 'list_sep'},
                                               'missing': {'list': [{'check': 'tls'}, {'check': 'clock'}],
                                                           'sep': 'list_sep'}},
                            'ruled_out_keys': ['connectivity', 'endpoints'],
                            'next_step_keys': ['follow_remedies']}},
 'dns_nxdomain_rewrite': {'causes': [{'code': 'dns_problem',
                                      'severity': 'warn',
                                      'confidence': 'medium',
                                      'title': 'Name lookups (DNS) are failing or wrong',
                                      'findings': ['dns.nxdomain_rewrite'],
                                      'params': {'detail': {'list': [{'key': 'dns.nxdomain_rewrite', 'params': {}}],
                                                            'sep': 'sentence_sep'}},
                                      'remedy_keys': ['set_dns', 'router_dns', 'switch_network']}],
                          'summary': {'verdict': 'Most likely cause: Name lookups (DNS) are failing or wrong.',
                                      'verdict_code': 'cause',
                                      'network_ok': False,
                                      'top_cause': 'dns_problem',
                                      'next_steps_intro': '',
                                      'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                             {'check': 'endpoints'},
                                                                             {'check': 'dns'}],
                                                                    'sep': 'list_sep'},
                                                         'missing': {'list': [{'check': 'tls'}, {'check': 'clock'}],
                                                                     'sep': 'list_sep'}},
                                      'ruled_out_keys': ['connectivity', 'endpoints'],
                                      'next_step_keys': ['follow_remedies']}},
 'dns_slow': {'causes': [{'code': 'dns_problem',
                          'severity': 'warn',
                          'confidence': 'medium',
                          'title': 'Name lookups (DNS) are failing or wrong',
                          'findings': ['dns.slow'],
                          'params': {'detail': {'list': [{'key': 'dns.slow',
                                                          'params': {'names': {'list': ['system'],
                                                                               'sep': 'list_sep'}}}],
                                                'sep': 'sentence_sep'}},
                          'remedy_keys': ['set_dns', 'router_dns', 'switch_network']}],
              'summary': {'verdict': 'Most likely cause: Name lookups (DNS) are failing or wrong.',
                          'verdict_code': 'cause',
                          'network_ok': False,
                          'top_cause': 'dns_problem',
                          'next_steps_intro': '',
                          'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                 {'check': 'endpoints'},
                                                                 {'check': 'dns'}],
                                                        'sep': 'list_sep'},
                                             'missing': {'list': [{'check': 'tls'}, {'check': 'clock'}],
                                                         'sep': 'list_sep'}},
                          'ruled_out_keys': ['connectivity', 'endpoints'],
                          'next_step_keys': ['follow_remedies']}},
 'dns_slow_on_a_lossy_link': {'causes': [{'code': 'network_unstable',
                                          'severity': 'fail',
                                          'confidence': 'high',
                                          'title': 'The connection is slow or unstable',
                                          'findings': ['endpoint.loss', 'dns.slow', 'dns.system_failure'],
                                          'params': {'detail': {'key': 'unstable.prefix',
                                                                'params': {'items': {'list': [{'key': 'unstable.lossy_link',
                                                                                               'params': {'what': {'list': [{'key': 'unstable.samples_lost',
                                                                                                                             'params': {'lost': 7,
                                                                                                                                        'tried': 20}},
                                                                                                                            {'key': 'unstable.lookups_lost',
                                                                                                                             'params': {'count': 3,
                                                                                                                                        'where': {'list': [{'key': 'unstable.system_dns',
                                                                                                                                                            'params': {}},
                                                                                                                                                           'AliDNS',
                                                                                                                                                           'DNSPod'],
                                                                                                                                                  'sep': 'list_sep'}}},
                                                                                                                            {'key': 'unstable.connectivity_lost',
                                                                                                                             'params': {'failed': 1,
                                                                                                                                        'total': 3}}],
                                                                                                                   'sep': 'list_sep_outer'}}}],
                                                                                     'sep': 'clause_sep'}}}},
                                          'remedy_keys': ['switch_network', 'close_background', 'retry_later']}],
                              'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                                          'verdict_code': 'cause',
                                          'network_ok': False,
                                          'top_cause': 'network_unstable',
                                          'next_steps_intro': '',
                                          'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                 {'check': 'dns'},
                                                                                 {'check': 'tls'},
                                                                                 {'check': 'clock'},
                                                                                 {'check': 'endpoints'}],
                                                                        'sep': 'list_sep'},
                                                             'missing': {'list': [], 'sep': 'list_sep'}},
                                          'ruled_out_keys': ['connectivity', 'tls', 'clock'],
                                          'next_step_keys': ['follow_remedies']}},
 'dns_system_failure_others_answer': {'causes': [{'code': 'dns_problem',
                                                  'severity': 'fail',
                                                  'confidence': 'high',
                                                  'title': 'Name lookups (DNS) are failing or wrong',
                                                  'findings': ['dns.system_failure'],
                                                  'params': {'detail': {'list': [{'key': 'dns.system_failure',
                                                                                  'params': {'names': {'list': ['openapi.alipay.com'],
                                                                                                       'sep': 'list_sep'}}}],
                                                                        'sep': 'sentence_sep'}},
                                                  'remedy_keys': ['set_dns', 'router_dns', 'switch_network']}],
                                      'summary': {'verdict': 'Most likely cause: Name lookups (DNS) are failing or '
                                                             'wrong.',
                                                  'verdict_code': 'cause',
                                                  'network_ok': False,
                                                  'top_cause': 'dns_problem',
                                                  'next_steps_intro': '',
                                                  'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                         {'check': 'endpoints'},
                                                                                         {'check': 'dns'}],
                                                                                'sep': 'list_sep'},
                                                                     'missing': {'list': [{'check': 'tls'},
                                                                                          {'check': 'clock'}],
                                                                                 'sep': 'list_sep'}},
                                                  'ruled_out_keys': ['connectivity', 'endpoints'],
                                                  'next_step_keys': ['follow_remedies']}},
 'every_cert_expired_clock_right': {'causes': [{'code': 'inconclusive',
                                                'severity': 'info',
                                                'confidence': 'low',
                                                'title': 'No clear network cause',
                                                'findings': ['tls.expired', 'endpoint.unreachable'],
                                                'params': {'detail': {'key': 'inconclusive.conflict',
                                                                      'params': {'conflicts': {'list': [{'key': 'conflict.dates',
                                                                                                         'params': {'state': {'key': 'tls.expired',
                                                                                                                              'params': {}},
                                                                                                                    'names': {'list': ['openapi.alipay.com',
                                                                                                                                       'api.mch.weixin.qq.com',
                                                                                                                                       'api.wechatpay.cn'],
                                                                                                                              'sep': 'list_sep'},
                                                                                                                    'offset': {'duration_s': 0.02}}}],
                                                                                               'sep': 'sentence_sep'}}}},
                                                'remedy_keys': ['switch_network',
                                                                'app_update_cache',
                                                                'contact_support']}],
                                    'summary': {'verdict': 'No clear network cause was found.',
                                                'verdict_code': 'inconclusive',
                                                'network_ok': False,
                                                'top_cause': None,
                                                'next_steps_intro': 'A network probe cannot see these; check them '
                                                                    'next:',
                                                'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                       {'check': 'dns'},
                                                                                       {'check': 'tls'},
                                                                                       {'check': 'clock'},
                                                                                       {'check': 'endpoints'}],
                                                                              'sep': 'list_sep'},
                                                                   'missing': {'list': [], 'sep': 'list_sep'}},
                                                'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                                'next_step_keys': ['real_name',
                                                                   'limits',
                                                                   'restriction',
                                                                   'bank_risk',
                                                                   'app_outdated',
                                                                   'contact']}},
 'every_cert_not_yet_valid_clock_behind': {'causes': [{'code': 'clock_wrong',
                                                       'severity': 'fail',
                                                       'confidence': 'high',
                                                       'title': "The phone's clock is wrong",
                                                       'findings': ['clock.skew',
                                                                    'tls.not_yet_valid',
                                                                    'endpoint.unreachable'],
                                                       'params': {'offset': {'key': 'clock.behind',
                                                                             'params': {'amount': {'duration_s': 172800.0}}},
                                                                  'tls_detail': {'key': 'clock.tls',
                                                                                 'params': {'tls_state': {'key': 'tls.not_yet_valid',
                                                                                                          'params': {}}}}},
                                                       'remedy_keys': ['auto_time']}],
                                           'summary': {'verdict': "Most likely cause: The phone's clock is wrong.",
                                                       'verdict_code': 'cause',
                                                       'network_ok': False,
                                                       'top_cause': 'clock_wrong',
                                                       'next_steps_intro': '',
                                                       'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                              {'check': 'dns'},
                                                                                              {'check': 'tls'},
                                                                                              {'check': 'clock'},
                                                                                              {'check': 'endpoints'}],
                                                                                     'sep': 'list_sep'},
                                                                          'missing': {'list': [], 'sep': 'list_sep'}},
                                                       'ruled_out_keys': ['connectivity', 'dns'],
                                                       'next_step_keys': ['follow_remedies']}},
 'every_check_fine': {'causes': [],
                      'summary': {'verdict': 'Your network is fine: the internet, DNS, secure connections, the clock '
                                             'and the payment services all checked out. The payment failure is most '
                                             'likely not a network problem.',
                                  'verdict_code': 'network_ok',
                                  'network_ok': True,
                                  'top_cause': None,
                                  'next_steps_intro': 'A network probe cannot see these; check them next:',
                                  'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                         {'check': 'endpoints'},
                                                                         {'check': 'dns'},
                                                                         {'check': 'tls'},
                                                                         {'check': 'clock'},
                                                                         {'check': 'proxy'},
                                                                         {'check': 'device'}],
                                                                'sep': 'list_sep'},
                                                     'missing': {'list': [], 'sep': 'list_sep'}},
                                  'ruled_out_keys': ['connectivity',
                                                     'dns',
                                                     'tls',
                                                     'clock',
                                                     'proxy',
                                                     'endpoints',
                                                     'device'],
                                  'next_step_keys': ['real_name',
                                                     'limits',
                                                     'restriction',
                                                     'bank_risk',
                                                     'app_outdated',
                                                     'contact']}},
 'every_dns_sign_at_once': {'causes': [{'code': 'dns_problem',
                                        'severity': 'fail',
                                        'confidence': 'high',
                                        'title': 'Name lookups (DNS) are failing or wrong',
                                        'findings': ['dns.hijack',
                                                     'dns.nxdomain_rewrite',
                                                     'dns.slow',
                                                     'dns.resolver_unreachable'],
                                        'params': {'detail': {'list': [{'key': 'dns.hijack',
                                                                        'params': {'names': {'list': ['openapi.alipay.com',
                                                                                                      'api.mch.weixin.qq.com',
                                                                                                      'gateway.95516.com'],
                                                                                             'sep': 'list_sep'}}},
                                                                       {'key': 'dns.nxdomain_rewrite', 'params': {}},
                                                                       {'key': 'dns.slow',
                                                                        'params': {'names': {'list': ['AliDNS'],
                                                                                             'sep': 'list_sep'}}}],
                                                              'sep': 'sentence_sep'}},
                                        'remedy_keys': ['set_dns', 'router_dns', 'switch_network']}],
                            'summary': {'verdict': 'Most likely cause: Name lookups (DNS) are failing or wrong.',
                                        'verdict_code': 'cause',
                                        'network_ok': False,
                                        'top_cause': 'dns_problem',
                                        'next_steps_intro': '',
                                        'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                               {'check': 'dns'},
                                                                               {'check': 'tls'},
                                                                               {'check': 'clock'},
                                                                               {'check': 'endpoints'}],
                                                                      'sep': 'list_sep'},
                                                           'missing': {'list': [], 'sep': 'list_sep'}},
                                        'ruled_out_keys': ['connectivity', 'tls', 'clock', 'endpoints'],
                                        'next_step_keys': ['follow_remedies']}},
 'every_endpoint_network_unreachable': {'causes': [{'code': 'offline',
                                                    'severity': 'fail',
                                                    'confidence': 'high',
                                                    'title': 'No internet connection',
                                                    'findings': ['endpoint.unreachable'],
                                                    'params': {'detail': {'key': 'offline.all_unreachable',
                                                                          'params': {}}},
                                                    'remedy_keys': ['check_connection', 'switch_network']}],
                                        'summary': {'verdict': 'Most likely cause: No internet connection.',
                                                    'verdict_code': 'cause',
                                                    'network_ok': False,
                                                    'top_cause': 'offline',
                                                    'next_steps_intro': '',
                                                    'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                           {'check': 'endpoints'}],
                                                                                  'sep': 'list_sep'},
                                                                       'missing': {'list': [{'check': 'dns'},
                                                                                            {'check': 'tls'},
                                                                                            {'check': 'clock'}],
                                                                                   'sep': 'list_sep'}},
                                                    'ruled_out_keys': [],
                                                    'next_step_keys': ['follow_remedies']}},
 'every_endpoint_times_out_nothing_else_answers': {'causes': [{'code': 'network_unstable',
                                                               'severity': 'fail',
                                                               'confidence': 'medium',
                                                               'title': 'The connection is slow or unstable',
                                                               'findings': ['endpoint.unreachable'],
                                                               'params': {'detail': {'key': 'unstable.prefix',
                                                                                     'params': {'items': {'list': [{'key': 'unstable.timeouts',
                                                                                                                    'params': {}}],
                                                                                                          'sep': 'clause_sep'}}}},
                                                               'remedy_keys': ['switch_network',
                                                                               'close_background',
                                                                               'retry_later']}],
                                                   'summary': {'verdict': 'Most likely cause: The connection is slow '
                                                                          'or unstable.',
                                                               'verdict_code': 'cause',
                                                               'network_ok': False,
                                                               'top_cause': 'network_unstable',
                                                               'next_steps_intro': '',
                                                               'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                      {'check': 'endpoints'}],
                                                                                             'sep': 'list_sep'},
                                                                                  'missing': {'list': [{'check': 'dns'},
                                                                                                       {'check': 'tls'},
                                                                                                       {'check': 'clock'}],
                                                                                              'sep': 'list_sep'}},
                                                               'ruled_out_keys': [],
                                                               'next_step_keys': ['follow_remedies']}},
 'every_endpoint_unreachable_and_dns_fails': {'causes': [{'code': 'offline',
                                                          'severity': 'fail',
                                                          'confidence': 'high',
                                                          'title': 'No internet connection',
                                                          'findings': ['endpoint.unreachable'],
                                                          'params': {'detail': {'key': 'offline.all_unreachable',
                                                                                'params': {}}},
                                                          'remedy_keys': ['check_connection', 'switch_network']}],
                                              'summary': {'verdict': 'Most likely cause: No internet connection.',
                                                          'verdict_code': 'cause',
                                                          'network_ok': False,
                                                          'top_cause': 'offline',
                                                          'next_steps_intro': '',
                                                          'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                 {'check': 'dns'},
                                                                                                 {'check': 'endpoints'}],
                                                                                        'sep': 'list_sep'},
                                                                             'missing': {'list': [{'check': 'tls'},
                                                                                                  {'check': 'clock'}],
                                                                                         'sep': 'list_sep'}},
                                                          'ruled_out_keys': [],
                                                          'next_step_keys': ['follow_remedies']}},
 'every_hostname_mismatch': {'causes': [{'code': 'proxy_vpn_interference',
                                         'severity': 'fail',
                                         'confidence': 'medium',
                                         'title': 'A VPN or proxy is interfering',
                                         'findings': ['tls.hostname_mismatch'],
                                         'params': {'detail': {'list': [{'key': 'proxy.untrusted',
                                                                         'params': {'count': 5, 'issuer': '?'}}],
                                                               'sep': 'sentence_sep'}},
                                         'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']}],
                             'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                                         'verdict_code': 'cause',
                                         'network_ok': False,
                                         'top_cause': 'proxy_vpn_interference',
                                         'next_steps_intro': '',
                                         'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                {'check': 'dns'},
                                                                                {'check': 'tls'},
                                                                                {'check': 'clock'},
                                                                                {'check': 'endpoints'}],
                                                                       'sep': 'list_sep'},
                                                            'missing': {'list': [], 'sep': 'list_sep'}},
                                         'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                         'next_step_keys': ['follow_remedies']}},
 'every_provider_answers_502': {'causes': [{'code': 'proxy_vpn_interference',
                                            'severity': 'fail',
                                            'confidence': 'medium',
                                            'title': 'A VPN or proxy is interfering',
                                            'findings': ['endpoint.http_error'],
                                            'params': {'detail': {'key': 'proxy.blocked',
                                                                  'params': {'failures': {'list': ['http_status_5xx'],
                                                                                          'sep': 'list_sep'}}}},
                                            'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']}],
                                'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                                            'verdict_code': 'cause',
                                            'network_ok': False,
                                            'top_cause': 'proxy_vpn_interference',
                                            'next_steps_intro': '',
                                            'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                   {'check': 'dns'},
                                                                                   {'check': 'tls'},
                                                                                   {'check': 'clock'},
                                                                                   {'check': 'endpoints'}],
                                                                          'sep': 'list_sep'},
                                                               'missing': {'list': [], 'sep': 'list_sep'}},
                                            'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock'],
                                            'next_step_keys': ['follow_remedies']}},
 'every_provider_blocked_mixed': {'causes': [{'code': 'proxy_vpn_interference',
                                              'severity': 'fail',
                                              'confidence': 'medium',
                                              'title': 'A VPN or proxy is interfering',
                                              'findings': ['endpoint.unreachable'],
                                              'params': {'detail': {'key': 'proxy.blocked',
                                                                    'params': {'failures': {'list': ['HTTP 502',
                                                                                                     'connection_refused',
                                                                                                     'connection_reset'],
                                                                                            'sep': 'list_sep'}}}},
                                              'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']}],
                                  'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                                              'verdict_code': 'cause',
                                              'network_ok': False,
                                              'top_cause': 'proxy_vpn_interference',
                                              'next_steps_intro': '',
                                              'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                     {'check': 'endpoints'}],
                                                                            'sep': 'list_sep'},
                                                                 'missing': {'list': [{'check': 'dns'},
                                                                                      {'check': 'tls'},
                                                                                      {'check': 'clock'}],
                                                                             'sep': 'list_sep'}},
                                              'ruled_out_keys': ['connectivity'],
                                              'next_step_keys': ['follow_remedies']}},
 'every_provider_blocked_without_internet': {'causes': [{'code': 'inconclusive',
                                                         'severity': 'info',
                                                         'confidence': 'low',
                                                         'title': 'No clear network cause',
                                                         'findings': ['endpoint.unreachable'],
                                                         'params': {'detail': {'key': 'inconclusive.findings',
                                                                               'params': {'codes': {'list': ['endpoint.unreachable'],
                                                                                                    'sep': 'list_sep'}}}},
                                                         'remedy_keys': ['switch_network',
                                                                         'app_update_cache',
                                                                         'contact_support']}],
                                             'summary': {'verdict': 'No clear network cause was found.',
                                                         'verdict_code': 'inconclusive',
                                                         'network_ok': False,
                                                         'top_cause': None,
                                                         'next_steps_intro': 'A network probe cannot see these; '
                                                                             'check them next:',
                                                         'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                {'check': 'endpoints'}],
                                                                                       'sep': 'list_sep'},
                                                                            'missing': {'list': [{'check': 'dns'},
                                                                                                 {'check': 'tls'},
                                                                                                 {'check': 'clock'}],
                                                                                        'sep': 'list_sep'}},
                                                         'ruled_out_keys': [],
                                                         'next_step_keys': ['real_name',
                                                                            'limits',
                                                                            'restriction',
                                                                            'bank_risk',
                                                                            'app_outdated',
                                                                            'contact']}},
 'every_provider_refuses': {'causes': [{'code': 'proxy_vpn_interference',
                                        'severity': 'fail',
                                        'confidence': 'medium',
                                        'title': 'A VPN or proxy is interfering',
                                        'findings': ['tls.handshake_failed', 'endpoint.unreachable'],
                                        'params': {'detail': {'key': 'proxy.blocked',
                                                              'params': {'failures': {'list': ['connection_refused'],
                                                                                      'sep': 'list_sep'}}}},
                                        'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']}],
                            'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                                        'verdict_code': 'cause',
                                        'network_ok': False,
                                        'top_cause': 'proxy_vpn_interference',
                                        'next_steps_intro': '',
                                        'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                               {'check': 'dns'},
                                                                               {'check': 'tls'},
                                                                               {'check': 'clock'},
                                                                               {'check': 'endpoints'}],
                                                                      'sep': 'list_sep'},
                                                           'missing': {'list': [], 'sep': 'list_sep'}},
                                        'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                        'next_step_keys': ['follow_remedies']}},
 'every_provider_slow': {'causes': [{'code': 'network_unstable',
                                     'severity': 'warn',
                                     'confidence': 'medium',
                                     'title': 'The connection is slow or unstable',
                                     'findings': ['endpoint.slow'],
                                     'params': {'detail': {'key': 'unstable.prefix',
                                                           'params': {'items': {'list': [{'key': 'unstable.slow',
                                                                                          'params': {'count': 5,
                                                                                                     'total': 5}}],
                                                                                'sep': 'clause_sep'}}}},
                                     'remedy_keys': ['switch_network', 'close_background', 'retry_later']}],
                         'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                                     'verdict_code': 'cause',
                                     'network_ok': False,
                                     'top_cause': 'network_unstable',
                                     'next_steps_intro': '',
                                     'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                            {'check': 'dns'},
                                                                            {'check': 'tls'},
                                                                            {'check': 'clock'},
                                                                            {'check': 'endpoints'}],
                                                                   'sep': 'list_sep'},
                                                        'missing': {'list': [], 'sep': 'list_sep'}},
                                     'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock'],
                                     'next_step_keys': ['follow_remedies']}},
 'every_provider_times_out': {'causes': [{'code': 'network_unstable',
                                          'severity': 'fail',
                                          'confidence': 'medium',
                                          'title': 'The connection is slow or unstable',
                                          'findings': ['tls.handshake_failed', 'endpoint.unreachable'],
                                          'params': {'detail': {'key': 'unstable.prefix',
                                                                'params': {'items': {'list': [{'key': 'unstable.path',
                                                                                               'params': {}}],
                                                                                     'sep': 'clause_sep'}}}},
                                          'remedy_keys': ['switch_network', 'close_background', 'retry_later']}],
                              'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                                          'verdict_code': 'cause',
                                          'network_ok': False,
                                          'top_cause': 'network_unstable',
                                          'next_steps_intro': '',
                                          'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                 {'check': 'dns'},
                                                                                 {'check': 'tls'},
                                                                                 {'check': 'clock'},
                                                                                 {'check': 'endpoints'}],
                                                                        'sep': 'list_sep'},
                                                             'missing': {'list': [], 'sep': 'list_sep'}},
                                          'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                          'next_step_keys': ['follow_remedies']}},
 'everything_unreachable': {'causes': [{'code': 'offline',
                                        'severity': 'fail',
                                        'confidence': 'high',
                                        'title': 'No internet connection',
                                        'findings': ['net.offline'],
                                        'params': {'detail': {'key': 'offline.all_unreachable', 'params': {}}},
                                        'remedy_keys': ['check_connection', 'switch_network']}],
                            'summary': {'verdict': 'Most likely cause: No internet connection.',
                                        'verdict_code': 'cause',
                                        'network_ok': False,
                                        'top_cause': 'offline',
                                        'next_steps_intro': '',
                                        'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                               {'check': 'dns'},
                                                                               {'check': 'tls'},
                                                                               {'check': 'clock'},
                                                                               {'check': 'endpoints'}],
                                                                      'sep': 'list_sep'},
                                                           'missing': {'list': [], 'sep': 'list_sep'}},
                                        'ruled_out_keys': ['clock'],
                                        'next_step_keys': ['follow_remedies']}},
 'fake_ip_and_untrusted_issuer': {'causes': [{'code': 'proxy_vpn_interference',
                                              'severity': 'fail',
                                              'confidence': 'high',
                                              'title': 'A VPN or proxy is interfering',
                                              'findings': ['dns.fake_ip', 'tls.untrusted_issuer'],
                                              'params': {'detail': {'list': [{'key': 'proxy.fake_ip', 'params': {}},
                                                                             {'key': 'proxy.untrusted',
                                                                              'params': {'count': 2,
                                                                                         'issuer': {'list': ['Clash '
                                                                                                             'CA'],
                                                                                                    'sep': 'list_sep'}}}],
                                                                    'sep': 'sentence_sep'}},
                                              'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']}],
                                  'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                                              'verdict_code': 'cause',
                                              'network_ok': False,
                                              'top_cause': 'proxy_vpn_interference',
                                              'next_steps_intro': '',
                                              'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                     {'check': 'dns'},
                                                                                     {'check': 'tls'},
                                                                                     {'check': 'endpoints'}],
                                                                            'sep': 'list_sep'},
                                                                 'missing': {'list': [{'check': 'clock'}],
                                                                             'sep': 'list_sep'}},
                                              'ruled_out_keys': ['connectivity'],
                                              'next_step_keys': ['follow_remedies']}},
 'fake_ip_dns': {'causes': [{'code': 'proxy_vpn_interference',
                             'severity': 'warn',
                             'confidence': 'high',
                             'title': 'A VPN or proxy is interfering',
                             'findings': ['dns.fake_ip'],
                             'params': {'detail': {'list': [{'key': 'proxy.fake_ip', 'params': {}}],
                                                   'sep': 'sentence_sep'}},
                             'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']}],
                 'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                             'verdict_code': 'cause',
                             'network_ok': False,
                             'top_cause': 'proxy_vpn_interference',
                             'next_steps_intro': '',
                             'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                    {'check': 'endpoints'},
                                                                    {'check': 'dns'}],
                                                           'sep': 'list_sep'},
                                                'missing': {'list': [{'check': 'tls'}, {'check': 'clock'}],
                                                            'sep': 'list_sep'}},
                             'ruled_out_keys': ['connectivity', 'endpoints'],
                             'next_step_keys': ['follow_remedies']}},
 'hand_made_slow_everywhere': {'causes': [{'code': 'network_unstable',
                                           'severity': 'warn',
                                           'confidence': 'medium',
                                           'title': 'The connection is slow or unstable',
                                           'findings': ['endpoint.slow'],
                                           'params': {'detail': {'key': 'unstable.prefix',
                                                                 'params': {'items': {'list': [{'key': 'unstable.slow',
                                                                                                'params': {'count': 4,
                                                                                                           'total': 4}}],
                                                                                      'sep': 'clause_sep'}}}},
                                           'remedy_keys': ['switch_network', 'close_background', 'retry_later']}],
                               'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                                           'verdict_code': 'cause',
                                           'network_ok': False,
                                           'top_cause': 'network_unstable',
                                           'next_steps_intro': '',
                                           'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                  {'check': 'endpoints'}],
                                                                         'sep': 'list_sep'},
                                                              'missing': {'list': [{'check': 'dns'},
                                                                                   {'check': 'tls'},
                                                                                   {'check': 'clock'}],
                                                                          'sep': 'list_sep'}},
                                           'ruled_out_keys': ['connectivity'],
                                           'next_step_keys': ['follow_remedies']}},
 'healthy': {'causes': [],
             'summary': {'verdict': 'Your network is fine: the internet, DNS, secure connections, the clock and the '
                                    'payment services all checked out. The payment failure is most likely not a '
                                    'network problem.',
                         'verdict_code': 'network_ok',
                         'network_ok': True,
                         'top_cause': None,
                         'next_steps_intro': 'A network probe cannot see these; check them next:',
                         'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                {'check': 'dns'},
                                                                {'check': 'tls'},
                                                                {'check': 'clock'},
                                                                {'check': 'endpoints'}],
                                                       'sep': 'list_sep'},
                                            'missing': {'list': [], 'sep': 'list_sep'}},
                         'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock', 'endpoints'],
                         'next_step_keys': ['real_name',
                                            'limits',
                                            'restriction',
                                            'bank_risk',
                                            'app_outdated',
                                            'contact']}},
 'hostname_mismatch_with_hijacked_name': {'causes': [{'code': 'dns_problem',
                                                      'severity': 'fail',
                                                      'confidence': 'high',
                                                      'title': 'Name lookups (DNS) are failing or wrong',
                                                      'findings': ['dns.hijack'],
                                                      'params': {'detail': {'list': [{'key': 'dns.hijack',
                                                                                      'params': {'names': {'list': ['openapi.alipay.com'],
                                                                                                           'sep': 'list_sep'}}}],
                                                                            'sep': 'sentence_sep'}},
                                                      'remedy_keys': ['set_dns', 'router_dns', 'switch_network']}],
                                          'summary': {'verdict': 'Most likely cause: Name lookups (DNS) are failing '
                                                                 'or wrong.',
                                                      'verdict_code': 'cause',
                                                      'network_ok': False,
                                                      'top_cause': 'dns_problem',
                                                      'next_steps_intro': '',
                                                      'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                             {'check': 'dns'},
                                                                                             {'check': 'tls'},
                                                                                             {'check': 'clock'},
                                                                                             {'check': 'endpoints'}],
                                                                                    'sep': 'list_sep'},
                                                                         'missing': {'list': [], 'sep': 'list_sep'}},
                                                      'ruled_out_keys': ['connectivity', 'clock'],
                                                      'next_step_keys': ['follow_remedies']}},
 'interface_errors_only': {'causes': [{'code': 'network_unstable',
                                       'severity': 'warn',
                                       'confidence': 'medium',
                                       'title': 'The connection is slow or unstable',
                                       'findings': ['net.link_errors'],
                                       'params': {'detail': {'key': 'unstable.prefix',
                                                             'params': {'items': {'list': [{'key': 'unstable.link_errors',
                                                                                            'params': {}}],
                                                                                  'sep': 'clause_sep'}}}},
                                       'remedy_keys': ['switch_network', 'close_background', 'retry_later']}],
                           'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                                       'verdict_code': 'cause',
                                       'network_ok': False,
                                       'top_cause': 'network_unstable',
                                       'next_steps_intro': '',
                                       'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                              {'check': 'endpoints'},
                                                                              {'check': 'device'}],
                                                                     'sep': 'list_sep'},
                                                          'missing': {'list': [{'check': 'dns'},
                                                                               {'check': 'tls'},
                                                                               {'check': 'clock'}],
                                                                      'sep': 'list_sep'}},
                                       'ruled_out_keys': ['endpoints'],
                                       'next_step_keys': ['follow_remedies']}},
 'interface_errors_weak_signal_and_loss': {'causes': [{'code': 'network_unstable',
                                                       'severity': 'fail',
                                                       'confidence': 'high',
                                                       'title': 'The connection is slow or unstable',
                                                       'findings': ['endpoint.loss',
                                                                    'net.weak_signal',
                                                                    'net.link_errors'],
                                                       'params': {'detail': {'key': 'unstable.prefix',
                                                                             'params': {'items': {'list': [{'key': 'unstable.loss',
                                                                                                            'params': {'value': {'number': 60,
                                                                                                                                 'unit': '%'}}},
                                                                                                           {'key': 'unstable.weak_signal',
                                                                                                            'params': {'target': '',
                                                                                                                       'value': {'number': -85.0,
                                                                                                                                 'unit': 'dBm'}}},
                                                                                                           {'key': 'unstable.link_errors',
                                                                                                            'params': {}}],
                                                                                                  'sep': 'clause_sep'}}}},
                                                       'remedy_keys': ['switch_network',
                                                                       'close_background',
                                                                       'retry_later']}],
                                           'summary': {'verdict': 'Most likely cause: The connection is slow or '
                                                                  'unstable.',
                                                       'verdict_code': 'cause',
                                                       'network_ok': False,
                                                       'top_cause': 'network_unstable',
                                                       'next_steps_intro': '',
                                                       'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                              {'check': 'endpoints'}],
                                                                                     'sep': 'list_sep'},
                                                                          'missing': {'list': [{'check': 'dns'},
                                                                                               {'check': 'tls'},
                                                                                               {'check': 'clock'}],
                                                                                      'sep': 'list_sep'}},
                                                       'ruled_out_keys': [],
                                                       'next_step_keys': ['follow_remedies']}},
 'ipv6_broken': {'causes': [{'code': 'network_unstable',
                             'severity': 'warn',
                             'confidence': 'high',
                             'title': 'The connection is slow or unstable',
                             'findings': ['net.ipv6_broken'],
                             'params': {'detail': {'key': 'unstable.prefix',
                                                   'params': {'items': {'list': [{'key': 'unstable.ipv6_broken',
                                                                                  'params': {}}],
                                                                        'sep': 'clause_sep'}}}},
                             'remedy_keys': ['ipv6_router',
                                             'switch_network',
                                             'ipv6_fallback',
                                             'close_background',
                                             'retry_later']}],
                 'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                             'verdict_code': 'cause',
                             'network_ok': False,
                             'top_cause': 'network_unstable',
                             'next_steps_intro': '',
                             'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                    {'check': 'endpoints'},
                                                                    {'check': 'connectivity'}],
                                                           'sep': 'list_sep'},
                                                'missing': {'list': [{'check': 'dns'},
                                                                     {'check': 'tls'},
                                                                     {'check': 'clock'}],
                                                            'sep': 'list_sep'}},
                             'ruled_out_keys': ['endpoints'],
                             'next_step_keys': ['follow_remedies']}},
 'ipv6_slow_with_slow_endpoints': {'causes': [{'code': 'network_unstable',
                                               'severity': 'warn',
                                               'confidence': 'high',
                                               'title': 'The connection is slow or unstable',
                                               'findings': ['endpoint.slow', 'net.ipv6_slow'],
                                               'params': {'detail': {'key': 'unstable.prefix',
                                                                     'params': {'items': {'list': [{'key': 'unstable.slow',
                                                                                                    'params': {'count': 3,
                                                                                                               'total': 4}},
                                                                                                   {'key': 'unstable.ipv6_slow',
                                                                                                    'params': {}}],
                                                                                          'sep': 'clause_sep'}}}},
                                               'remedy_keys': ['ipv6_router',
                                                               'switch_network',
                                                               'ipv6_fallback',
                                                               'close_background',
                                                               'retry_later']}],
                                   'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                                               'verdict_code': 'cause',
                                               'network_ok': False,
                                               'top_cause': 'network_unstable',
                                               'next_steps_intro': '',
                                               'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                      {'check': 'endpoints'}],
                                                                             'sep': 'list_sep'},
                                                                  'missing': {'list': [{'check': 'dns'},
                                                                                       {'check': 'tls'},
                                                                                       {'check': 'clock'}],
                                                                              'sep': 'list_sep'}},
                                               'ruled_out_keys': [],
                                               'next_step_keys': ['follow_remedies']}},
 'large_packets_lost': {'causes': [{'code': 'network_unstable',
                                    'severity': 'warn',
                                    'confidence': 'high',
                                    'title': 'This network drops large packets',
                                    'findings': ['net.mtu_blackhole'],
                                    'variant': 'mtu',
                                    'params': {'detail': {'key': 'unstable.mtu_only',
                                                          'params': {'targets': {'list': ['openapi.alipay.com',
                                                                                          'gateway.95516.com'],
                                                                                 'sep': 'list_sep'},
                                                                     'mss': {'list': ['1240'], 'sep': 'list_sep'}}}},
                                    'remedy_keys': ['mtu_router', 'vpn_off', 'switch_network']}],
                        'summary': {'verdict': 'Most likely cause: This network drops large packets.',
                                    'verdict_code': 'cause',
                                    'network_ok': False,
                                    'top_cause': 'network_unstable',
                                    'next_steps_intro': '',
                                    'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                           {'check': 'dns'},
                                                                           {'check': 'tls'},
                                                                           {'check': 'clock'},
                                                                           {'check': 'endpoints'}],
                                                                  'sep': 'list_sep'},
                                                       'missing': {'list': [], 'sep': 'list_sep'}},
                                    'ruled_out_keys': ['dns', 'clock', 'endpoints'],
                                    'next_step_keys': ['follow_remedies']}},
 'large_packets_lost_with_bufferbloat': {'causes': [{'code': 'network_unstable',
                                                     'severity': 'warn',
                                                     'confidence': 'high',
                                                     'title': 'The connection is slow or unstable',
                                                     'findings': ['net.bufferbloat', 'net.mtu_blackhole'],
                                                     'params': {'detail': {'key': 'unstable.prefix',
                                                                           'params': {'items': {'list': [{'key': 'unstable.bufferbloat',
                                                                                                          'params': {'idle': {'number': 30.0,
                                                                                                                              'unit': 'ms'},
                                                                                                                     'loaded': {'number': 900.0,
                                                                                                                                'unit': 'ms'}}},
                                                                                                         {'key': 'unstable.mtu_blackhole',
                                                                                                          'params': {'targets': {'list': ['openapi.alipay.com'],
                                                                                                                                 'sep': 'list_sep'},
                                                                                                                     'mss': {'list': ['1240'],
                                                                                                                             'sep': 'list_sep'}}}],
                                                                                                'sep': 'clause_sep'}}}},
                                                     'remedy_keys': ['pause_traffic',
                                                                     'router_sqm',
                                                                     'switch_network',
                                                                     'mtu_router',
                                                                     'vpn_off',
                                                                     'close_background',
                                                                     'retry_later']}],
                                         'summary': {'verdict': 'Most likely cause: The connection is slow or '
                                                                'unstable.',
                                                     'verdict_code': 'cause',
                                                     'network_ok': False,
                                                     'top_cause': 'network_unstable',
                                                     'next_steps_intro': '',
                                                     'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                            {'check': 'dns'},
                                                                                            {'check': 'tls'},
                                                                                            {'check': 'clock'},
                                                                                            {'check': 'bandwidth'},
                                                                                            {'check': 'endpoints'}],
                                                                                   'sep': 'list_sep'},
                                                                        'missing': {'list': [], 'sep': 'list_sep'}},
                                                     'ruled_out_keys': ['dns', 'clock', 'endpoints'],
                                                     'next_step_keys': ['follow_remedies']}},
 'lookup_timeouts_on_a_lossy_link': {'causes': [{'code': 'network_unstable',
                                                 'severity': 'fail',
                                                 'confidence': 'high',
                                                 'title': 'The connection is slow or unstable',
                                                 'findings': ['endpoint.loss',
                                                              'dns.system_failure',
                                                              'tls.handshake_failed',
                                                              'endpoint.unreachable'],
                                                 'params': {'detail': {'key': 'unstable.prefix',
                                                                       'params': {'items': {'list': [{'key': 'unstable.lossy_link',
                                                                                                      'params': {'what': {'list': [{'key': 'unstable.samples_lost',
                                                                                                                                    'params': {'lost': 6,
                                                                                                                                               'tried': 16}},
                                                                                                                                   {'key': 'unstable.lookups_lost',
                                                                                                                                    'params': {'count': 6,
                                                                                                                                               'where': {'list': [{'key': 'unstable.system_dns',
                                                                                                                                                                   'params': {}},
                                                                                                                                                                  'AliDNS',
                                                                                                                                                                  'DNSPod'],
                                                                                                                                                         'sep': 'list_sep'}}},
                                                                                                                                   {'key': 'unstable.tls_lost',
                                                                                                                                    'params': {'failed': 1,
                                                                                                                                               'total': 5}},
                                                                                                                                   {'key': 'unstable.connectivity_lost',
                                                                                                                                    'params': {'failed': 1,
                                                                                                                                               'total': 3}}],
                                                                                                                          'sep': 'list_sep_outer'}}}],
                                                                                            'sep': 'clause_sep'}}}},
                                                 'remedy_keys': ['switch_network',
                                                                 'close_background',
                                                                 'retry_later']}],
                                     'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                                                 'verdict_code': 'cause',
                                                 'network_ok': False,
                                                 'top_cause': 'network_unstable',
                                                 'next_steps_intro': '',
                                                 'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                        {'check': 'dns'},
                                                                                        {'check': 'tls'},
                                                                                        {'check': 'clock'},
                                                                                        {'check': 'endpoints'}],
                                                                               'sep': 'list_sep'},
                                                                    'missing': {'list': [], 'sep': 'list_sep'}},
                                                 'ruled_out_keys': ['connectivity', 'clock'],
                                                 'next_step_keys': ['follow_remedies']}},
 'loss_at_every_provider_edge': {'causes': [{'code': 'network_unstable',
                                             'severity': 'warn',
                                             'confidence': 'medium',
                                             'title': 'The connection is slow or unstable',
                                             'findings': ['path.loss_at_hop'],
                                             'params': {'detail': {'key': 'unstable.prefix',
                                                                   'params': {'items': {'list': [{'key': 'unstable.hop_edges',
                                                                                                  'params': {'names': {'list': [{'provider': 'alipay'},
                                                                                                                                {'provider': 'stripe'},
                                                                                                                                {'provider': 'unionpay'},
                                                                                                                                {'provider': 'wechatpay'}],
                                                                                                                       'sep': 'list_sep'}}}],
                                                                                        'sep': 'clause_sep'}}}},
                                             'remedy_keys': ['switch_network',
                                                             'call_isp',
                                                             'close_background',
                                                             'retry_later']}],
                                 'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                                             'verdict_code': 'cause',
                                             'network_ok': False,
                                             'top_cause': 'network_unstable',
                                             'next_steps_intro': '',
                                             'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                    {'check': 'dns'},
                                                                                    {'check': 'tls'},
                                                                                    {'check': 'clock'},
                                                                                    {'check': 'path'},
                                                                                    {'check': 'endpoints'}],
                                                                           'sep': 'list_sep'},
                                                                'missing': {'list': [], 'sep': 'list_sep'}},
                                             'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock', 'endpoints'],
                                             'next_step_keys': ['follow_remedies']}},
 'loss_at_one_edge_two_endpoints_same_hop': {'causes': [{'code': 'payment_service_outage',
                                                         'severity': 'warn',
                                                         'confidence': 'medium',
                                                         'title': "WeChat Pay's network is losing packets",
                                                         'findings': ['path.loss_at_hop'],
                                                         'target': 'wechatpay',
                                                         'variant': 'edge_loss',
                                                         'params': {'provider': {'provider': 'wechatpay'},
                                                                    'detail': {'list': [{'key': 'outage.item',
                                                                                         'params': {'where': {'list': [{'endpoint': 'WeChat '
                                                                                                                                    'Pay '
                                                                                                                                    'API'},
                                                                                                                       {'endpoint': 'WeChat '
                                                                                                                                    'Pay '
                                                                                                                                    'API '
                                                                                                                                    'v3'}],
                                                                                                              'sep': 'list_sep'},
                                                                                                    'what': {'key': 'outage.edge_loss',
                                                                                                             'params': {'hop': 9,
                                                                                                                        'address': '198.51.100.7',
                                                                                                                        'loss': {'number': 30.0,
                                                                                                                                 'unit': '%'}}}}}],
                                                                               'sep': 'list_sep_outer'}},
                                                         'remedy_keys': ['wait_notice',
                                                                         'other_method',
                                                                         'contact_support']}],
                                             'summary': {'verdict': "Most likely cause: WeChat Pay's network is "
                                                                    'losing packets.',
                                                         'verdict_code': 'cause',
                                                         'network_ok': False,
                                                         'top_cause': 'payment_service_outage',
                                                         'next_steps_intro': '',
                                                         'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                {'check': 'dns'},
                                                                                                {'check': 'tls'},
                                                                                                {'check': 'clock'},
                                                                                                {'check': 'path'},
                                                                                                {'check': 'endpoints'}],
                                                                                       'sep': 'list_sep'},
                                                                            'missing': {'list': [],
                                                                                        'sep': 'list_sep'}},
                                                         'ruled_out_keys': ['connectivity',
                                                                            'dns',
                                                                            'tls',
                                                                            'clock',
                                                                            'endpoints'],
                                                         'next_step_keys': ['follow_remedies']}},
 'loss_at_one_provider_edge_another_traced_clean': {'causes': [{'code': 'payment_service_outage',
                                                                'severity': 'warn',
                                                                'confidence': 'medium',
                                                                'title': "Alipay's network is losing packets",
                                                                'findings': ['path.loss_at_hop'],
                                                                'target': 'alipay',
                                                                'variant': 'edge_loss',
                                                                'params': {'provider': {'provider': 'alipay'},
                                                                           'detail': {'list': [{'key': 'outage.item',
                                                                                                'params': {'where': {'list': [{'endpoint': 'Alipay '
                                                                                                                                           'OpenAPI'}],
                                                                                                                     'sep': 'list_sep'},
                                                                                                           'what': {'key': 'outage.edge_loss',
                                                                                                                    'params': {'hop': 4,
                                                                                                                               'address': '198.51.100.7',
                                                                                                                               'loss': {'number': 40.0,
                                                                                                                                        'unit': '%'}}}}}],
                                                                                      'sep': 'list_sep_outer'}},
                                                                'remedy_keys': ['wait_notice',
                                                                                'other_method',
                                                                                'contact_support']}],
                                                    'summary': {'verdict': "Most likely cause: Alipay's network is "
                                                                           'losing packets.',
                                                                'verdict_code': 'cause',
                                                                'network_ok': False,
                                                                'top_cause': 'payment_service_outage',
                                                                'next_steps_intro': '',
                                                                'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                       {'check': 'path'}],
                                                                                              'sep': 'list_sep'},
                                                                                   'missing': {'list': [{'check': 'dns'},
                                                                                                        {'check': 'tls'},
                                                                                                        {'check': 'clock'},
                                                                                                        {'check': 'endpoints'}],
                                                                                               'sep': 'list_sep'}},
                                                                'ruled_out_keys': ['connectivity'],
                                                                'next_step_keys': ['follow_remedies']}},
 'loss_at_one_provider_edge_nothing_else_seen': {'causes': [],
                                                 'summary': {'verdict': 'No problem found in the checks that ran '
                                                                        '(connectivity, path); the network checks '
                                                                        'that did not run (dns, tls, clock, '
                                                                        'endpoints) rule nothing out.',
                                                             'verdict_code': 'nothing_found',
                                                             'network_ok': False,
                                                             'top_cause': None,
                                                             'next_steps_intro': 'A network probe cannot see these; '
                                                                                 'check them next:',
                                                             'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                    {'check': 'path'}],
                                                                                           'sep': 'list_sep'},
                                                                                'missing': {'list': [{'check': 'dns'},
                                                                                                     {'check': 'tls'},
                                                                                                     {'check': 'clock'},
                                                                                                     {'check': 'endpoints'}],
                                                                                            'sep': 'list_sep'}},
                                                             'ruled_out_keys': ['connectivity'],
                                                             'next_step_keys': ['real_name',
                                                                                'limits',
                                                                                'restriction',
                                                                                'bank_risk',
                                                                                'app_outdated',
                                                                                'contact']}},
 'loss_at_one_provider_edge_while_it_answers': {'causes': [{'code': 'payment_service_outage',
                                                            'severity': 'warn',
                                                            'confidence': 'medium',
                                                            'title': "Alipay's network is losing packets",
                                                            'findings': ['path.loss_at_hop'],
                                                            'target': 'alipay',
                                                            'variant': 'edge_loss',
                                                            'params': {'provider': {'provider': 'alipay'},
                                                                       'detail': {'list': [{'key': 'outage.item',
                                                                                            'params': {'where': {'list': [{'endpoint': 'Alipay '
                                                                                                                                       'OpenAPI'}],
                                                                                                                 'sep': 'list_sep'},
                                                                                                       'what': {'key': 'outage.edge_loss',
                                                                                                                'params': {'hop': 9,
                                                                                                                           'address': '198.51.100.7',
                                                                                                                           'loss': {'number': 30.0,
                                                                                                                                    'unit': '%'}}}}}],
                                                                                  'sep': 'list_sep_outer'}},
                                                            'remedy_keys': ['wait_notice',
                                                                            'other_method',
                                                                            'contact_support']}],
                                                'summary': {'verdict': "Most likely cause: Alipay's network is "
                                                                       'losing packets.',
                                                            'verdict_code': 'cause',
                                                            'network_ok': False,
                                                            'top_cause': 'payment_service_outage',
                                                            'next_steps_intro': '',
                                                            'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                   {'check': 'dns'},
                                                                                                   {'check': 'tls'},
                                                                                                   {'check': 'clock'},
                                                                                                   {'check': 'path'},
                                                                                                   {'check': 'endpoints'}],
                                                                                          'sep': 'list_sep'},
                                                                               'missing': {'list': [],
                                                                                           'sep': 'list_sep'}},
                                                            'ruled_out_keys': ['connectivity',
                                                                               'dns',
                                                                               'tls',
                                                                               'clock',
                                                                               'endpoints'],
                                                            'next_step_keys': ['follow_remedies']}},
 'loss_at_provider_edge_and_it_is_down': {'causes': [{'code': 'payment_service_outage',
                                                      'severity': 'fail',
                                                      'confidence': 'high',
                                                      'title': 'Stripe is not answering',
                                                      'findings': ['tls.handshake_failed',
                                                                   'endpoint.unreachable',
                                                                   'path.loss_at_hop'],
                                                      'target': 'stripe',
                                                      'variant': 'down',
                                                      'params': {'provider': {'provider': 'stripe'},
                                                                 'detail': {'list': [{'list': [{'key': 'outage.item',
                                                                                                'params': {'where': {'list': [{'endpoint': 'Stripe '
                                                                                                                                           'API'}],
                                                                                                                     'sep': 'list_sep'},
                                                                                                           'what': {'key': 'outage.timeout_connect',
                                                                                                                    'params': {'failure': 'generic_timeout',
                                                                                                                               'status': None}}}}],
                                                                                      'sep': 'list_sep'},
                                                                                     {'key': 'outage.item',
                                                                                      'params': {'where': {'list': [{'endpoint': 'Stripe '
                                                                                                                                 'API'}],
                                                                                                           'sep': 'list_sep'},
                                                                                                 'what': {'key': 'outage.edge_loss',
                                                                                                          'params': {'hop': 11,
                                                                                                                     'address': '198.51.100.7',
                                                                                                                     'loss': {'number': 100.0,
                                                                                                                              'unit': '%'}}}}}],
                                                                            'sep': 'list_sep_outer'},
                                                                 'clock_note': ''},
                                                      'remedy_keys': ['wait_retry',
                                                                      'other_method',
                                                                      'contact_support']}],
                                          'summary': {'verdict': 'Most likely cause: Stripe is not answering.',
                                                      'verdict_code': 'cause',
                                                      'network_ok': False,
                                                      'top_cause': 'payment_service_outage',
                                                      'next_steps_intro': '',
                                                      'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                             {'check': 'dns'},
                                                                                             {'check': 'tls'},
                                                                                             {'check': 'clock'},
                                                                                             {'check': 'path'},
                                                                                             {'check': 'endpoints'}],
                                                                                    'sep': 'list_sep'},
                                                                         'missing': {'list': [], 'sep': 'list_sep'}},
                                                      'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                                      'next_step_keys': ['follow_remedies']}},
 'loss_at_two_provider_edges_among_many': {'causes': [{'code': 'network_unstable',
                                                       'severity': 'warn',
                                                       'confidence': 'medium',
                                                       'title': 'The connection is slow or unstable',
                                                       'findings': ['path.loss_at_hop'],
                                                       'params': {'detail': {'key': 'unstable.prefix',
                                                                             'params': {'items': {'list': [{'key': 'unstable.hop_edges',
                                                                                                            'params': {'names': {'list': [{'provider': 'alipay'},
                                                                                                                                          {'provider': 'unionpay'}],
                                                                                                                                 'sep': 'list_sep'}}}],
                                                                                                  'sep': 'clause_sep'}}}},
                                                       'remedy_keys': ['switch_network',
                                                                       'call_isp',
                                                                       'close_background',
                                                                       'retry_later']}],
                                           'summary': {'verdict': 'Most likely cause: The connection is slow or '
                                                                  'unstable.',
                                                       'verdict_code': 'cause',
                                                       'network_ok': False,
                                                       'top_cause': 'network_unstable',
                                                       'next_steps_intro': '',
                                                       'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                              {'check': 'dns'},
                                                                                              {'check': 'tls'},
                                                                                              {'check': 'clock'},
                                                                                              {'check': 'path'},
                                                                                              {'check': 'endpoints'}],
                                                                                     'sep': 'list_sep'},
                                                                          'missing': {'list': [], 'sep': 'list_sep'}},
                                                       'ruled_out_keys': ['connectivity',
                                                                          'dns',
                                                                          'tls',
                                                                          'clock',
                                                                          'endpoints'],
                                                       'next_step_keys': ['follow_remedies']}},
 'loss_starts_at_the_router': {'causes': [{'code': 'network_unstable',
                                           'severity': 'warn',
                                           'confidence': 'medium',
                                           'title': 'The connection is slow or unstable',
                                           'findings': ['path.loss_at_hop'],
                                           'params': {'detail': {'key': 'unstable.prefix',
                                                                 'params': {'items': {'list': [{'key': 'unstable.hop_local',
                                                                                                'params': {'hop': 1,
                                                                                                           'address': '192.168.1.1',
                                                                                                           'loss': {'number': 40.0,
                                                                                                                    'unit': '%'}}}],
                                                                                      'sep': 'clause_sep'}}}},
                                           'remedy_keys': ['wifi_router',
                                                           'switch_network',
                                                           'close_background',
                                                           'retry_later']}],
                               'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                                           'verdict_code': 'cause',
                                           'network_ok': False,
                                           'top_cause': 'network_unstable',
                                           'next_steps_intro': '',
                                           'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                  {'check': 'dns'},
                                                                                  {'check': 'tls'},
                                                                                  {'check': 'clock'},
                                                                                  {'check': 'path'},
                                                                                  {'check': 'endpoints'}],
                                                                         'sep': 'list_sep'},
                                                              'missing': {'list': [], 'sep': 'list_sep'}},
                                           'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock', 'endpoints'],
                                           'next_step_keys': ['follow_remedies']}},
 'loss_starts_in_the_isp': {'causes': [{'code': 'network_unstable',
                                        'severity': 'warn',
                                        'confidence': 'medium',
                                        'title': 'The connection is slow or unstable',
                                        'findings': ['path.loss_at_hop'],
                                        'params': {'detail': {'key': 'unstable.prefix',
                                                              'params': {'items': {'list': [{'key': 'unstable.hop_isp',
                                                                                             'params': {'hop': 5,
                                                                                                        'address': '203.0.113.9',
                                                                                                        'loss': {'number': 25.0,
                                                                                                                 'unit': '%'}}}],
                                                                                   'sep': 'clause_sep'}}}},
                                        'remedy_keys': ['switch_network',
                                                        'call_isp',
                                                        'close_background',
                                                        'retry_later']}],
                            'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                                        'verdict_code': 'cause',
                                        'network_ok': False,
                                        'top_cause': 'network_unstable',
                                        'next_steps_intro': '',
                                        'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                               {'check': 'dns'},
                                                                               {'check': 'tls'},
                                                                               {'check': 'clock'},
                                                                               {'check': 'path'},
                                                                               {'check': 'endpoints'}],
                                                                      'sep': 'list_sep'},
                                                           'missing': {'list': [], 'sep': 'list_sep'}},
                                        'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock', 'endpoints'],
                                        'next_step_keys': ['follow_remedies']}},
 'lossy_link': {'causes': [{'code': 'network_unstable',
                            'severity': 'fail',
                            'confidence': 'high',
                            'title': 'The connection is slow or unstable',
                            'findings': ['endpoint.loss', 'dns.system_failure'],
                            'params': {'detail': {'key': 'unstable.prefix',
                                                  'params': {'items': {'list': [{'key': 'unstable.lossy_link',
                                                                                 'params': {'what': {'list': [{'key': 'unstable.samples_lost',
                                                                                                               'params': {'lost': 7,
                                                                                                                          'tried': 20}},
                                                                                                              {'key': 'unstable.lookups_lost',
                                                                                                               'params': {'count': 3,
                                                                                                                          'where': {'list': [{'key': 'unstable.system_dns',
                                                                                                                                              'params': {}},
                                                                                                                                             'AliDNS',
                                                                                                                                             'DNSPod'],
                                                                                                                                    'sep': 'list_sep'}}},
                                                                                                              {'key': 'unstable.connectivity_lost',
                                                                                                               'params': {'failed': 1,
                                                                                                                          'total': 3}}],
                                                                                                     'sep': 'list_sep_outer'}}}],
                                                                       'sep': 'clause_sep'}}}},
                            'remedy_keys': ['switch_network', 'close_background', 'retry_later']}],
                'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                            'verdict_code': 'cause',
                            'network_ok': False,
                            'top_cause': 'network_unstable',
                            'next_steps_intro': '',
                            'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                   {'check': 'dns'},
                                                                   {'check': 'tls'},
                                                                   {'check': 'clock'},
                                                                   {'check': 'endpoints'}],
                                                          'sep': 'list_sep'},
                                               'missing': {'list': [], 'sep': 'list_sep'}},
                            'ruled_out_keys': ['connectivity', 'tls', 'clock'],
                            'next_step_keys': ['follow_remedies']}},
 'low_bandwidth_only': {'causes': [{'code': 'network_unstable',
                                    'severity': 'warn',
                                    'confidence': 'medium',
                                    'title': 'The connection is slow or unstable',
                                    'findings': ['bandwidth.low'],
                                    'params': {'detail': {'key': 'unstable.prefix',
                                                          'params': {'items': {'list': [{'key': 'unstable.bandwidth',
                                                                                         'params': {}}],
                                                                               'sep': 'clause_sep'}}}},
                                    'remedy_keys': ['switch_network', 'close_background', 'retry_later']}],
                        'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                                    'verdict_code': 'cause',
                                    'network_ok': False,
                                    'top_cause': 'network_unstable',
                                    'next_steps_intro': '',
                                    'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                           {'check': 'endpoints'},
                                                                           {'check': 'bandwidth'}],
                                                                  'sep': 'list_sep'},
                                                       'missing': {'list': [{'check': 'dns'},
                                                                            {'check': 'tls'},
                                                                            {'check': 'clock'}],
                                                                   'sep': 'list_sep'}},
                                    'ruled_out_keys': ['connectivity', 'endpoints'],
                                    'next_step_keys': ['follow_remedies']}},
 'low_memory_and_battery': {'causes': [{'code': 'device_resources',
                                        'severity': 'warn',
                                        'confidence': 'medium',
                                        'title': 'The phone is short of resources',
                                        'findings': ['device.low_memory', 'device.low_battery'],
                                        'params': {'detail': {'key': 'device.prefix',
                                                              'params': {'items': {'list': [{'key': 'device.low_memory',
                                                                                             'params': {'value': {'number': 90.0,
                                                                                                                  'unit': 'MB'}}},
                                                                                            {'key': 'device.low_battery',
                                                                                             'params': {'value': {'number': 8.0,
                                                                                                                  'unit': '%'}}}],
                                                                                   'sep': 'clause_sep'}}}},
                                        'remedy_keys': ['free_resources', 'app_update_cache']}],
                            'summary': {'verdict': 'Most likely cause: The phone is short of resources.',
                                        'verdict_code': 'cause',
                                        'network_ok': False,
                                        'top_cause': 'device_resources',
                                        'next_steps_intro': '',
                                        'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                               {'check': 'endpoints'},
                                                                               {'check': 'device'}],
                                                                      'sep': 'list_sep'},
                                                           'missing': {'list': [{'check': 'dns'},
                                                                                {'check': 'tls'},
                                                                                {'check': 'clock'}],
                                                                       'sep': 'list_sep'}},
                                        'ruled_out_keys': ['connectivity', 'endpoints'],
                                        'next_step_keys': ['follow_remedies']}},
 'low_storage_load_and_unknown': {'causes': [{'code': 'device_resources',
                                              'severity': 'fail',
                                              'confidence': 'medium',
                                              'title': 'The phone is short of resources',
                                              'findings': ['device.low_storage',
                                                           'device.high_load',
                                                           'device.low_memory'],
                                              'params': {'detail': {'key': 'device.prefix',
                                                                    'params': {'items': {'list': [{'key': 'device.low_storage',
                                                                                                   'params': {'value': {'number': 120.0,
                                                                                                                        'unit': 'MB'}}},
                                                                                                  {'key': 'device.high_load',
                                                                                                   'params': {'value': {'number': 9.5,
                                                                                                                        'unit': ''}}},
                                                                                                  {'key': 'device.low_memory',
                                                                                                   'params': {'value': '?'}}],
                                                                                         'sep': 'clause_sep'}}}},
                                              'remedy_keys': ['free_resources', 'app_update_cache']}],
                                  'summary': {'verdict': 'Most likely cause: The phone is short of resources.',
                                              'verdict_code': 'cause',
                                              'network_ok': False,
                                              'top_cause': 'device_resources',
                                              'next_steps_intro': '',
                                              'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                     {'check': 'endpoints'},
                                                                                     {'check': 'device'}],
                                                                            'sep': 'list_sep'},
                                                                 'missing': {'list': [{'check': 'dns'},
                                                                                      {'check': 'tls'},
                                                                                      {'check': 'clock'}],
                                                                             'sep': 'list_sep'}},
                                              'ruled_out_keys': ['connectivity', 'endpoints'],
                                              'next_step_keys': ['follow_remedies']}},
 'names_not_tried_without_a_dns_check': {'causes': [{'code': 'dns_problem',
                                                     'severity': 'fail',
                                                     'confidence': 'medium',
                                                     'title': 'Name lookups (DNS) are failing or wrong',
                                                     'findings': ['tls.handshake_failed', 'endpoint.unreachable'],
                                                     'params': {'detail': {'list': [{'key': 'dns.lookups_fail',
                                                                                     'params': {'names': {'list': ['openapi.alipay.com',
                                                                                                                   'api.stripe.com'],
                                                                                                          'sep': 'list_sep'}}}],
                                                                           'sep': 'sentence_sep'}},
                                                     'remedy_keys': ['set_dns', 'router_dns', 'switch_network']}],
                                         'summary': {'verdict': 'Most likely cause: Name lookups (DNS) are failing '
                                                                'or wrong.',
                                                     'verdict_code': 'cause',
                                                     'network_ok': False,
                                                     'top_cause': 'dns_problem',
                                                     'next_steps_intro': '',
                                                     'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                            {'check': 'tls'},
                                                                                            {'check': 'clock'},
                                                                                            {'check': 'endpoints'}],
                                                                                   'sep': 'list_sep'},
                                                                        'missing': {'list': [{'check': 'dns'}],
                                                                                    'sep': 'list_sep'}},
                                                     'ruled_out_keys': ['connectivity', 'clock'],
                                                     'next_step_keys': ['follow_remedies']}},
 'no_internet_but_link_up': {'causes': [{'code': 'offline',
                                         'severity': 'warn',
                                         'confidence': 'medium',
                                         'title': 'Connected, but no internet',
                                         'findings': ['net.offline'],
                                         'variant': 'link_up',
                                         'params': {'detail': {'key': 'offline.all_failed', 'params': {}}},
                                         'remedy_keys': ['check_connection', 'switch_network']},
                                        {'code': 'dns_problem',
                                         'severity': 'fail',
                                         'confidence': 'high',
                                         'title': 'Name lookups (DNS) are failing or wrong',
                                         'findings': ['dns.system_failure'],
                                         'params': {'detail': {'list': [{'key': 'dns.system_failure',
                                                                         'params': {'names': {'list': ['openapi.alipay.com'],
                                                                                              'sep': 'list_sep'}}}],
                                                               'sep': 'sentence_sep'}},
                                         'remedy_keys': ['set_dns', 'router_dns', 'switch_network']}],
                             'summary': {'verdict': 'Most likely cause: Connected, but no internet.',
                                         'verdict_code': 'cause',
                                         'network_ok': False,
                                         'top_cause': 'offline',
                                         'next_steps_intro': '',
                                         'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                {'check': 'dns'}],
                                                                       'sep': 'list_sep'},
                                                            'missing': {'list': [{'check': 'tls'},
                                                                                 {'check': 'clock'},
                                                                                 {'check': 'endpoints'}],
                                                                        'sep': 'list_sep'}},
                                         'ruled_out_keys': [],
                                         'next_step_keys': ['follow_remedies']}},
 'nothing_at_all': {'causes': [{'code': 'inconclusive',
                                'severity': 'info',
                                'confidence': 'low',
                                'title': 'No clear network cause',
                                'findings': [],
                                'params': {'detail': {'key': 'inconclusive.unmeasured', 'params': {}}},
                                'remedy_keys': ['switch_network', 'app_update_cache', 'contact_support']}],
                    'summary': {'verdict': 'The checks could not run, so nothing can be said about the network.',
                                'verdict_code': 'unknown',
                                'network_ok': False,
                                'top_cause': None,
                                'next_steps_intro': '',
                                'verdict_params': {'checks': {'list': [], 'sep': 'list_sep'},
                                                   'missing': {'list': [{'check': 'connectivity'},
                                                                        {'check': 'dns'},
                                                                        {'check': 'tls'},
                                                                        {'check': 'clock'},
                                                                        {'check': 'endpoints'}],
                                                               'sep': 'list_sep'}},
                                'ruled_out_keys': [],
                                'next_step_keys': ['contact']}},
 'nothing_measured': {'causes': [{'code': 'inconclusive',
                                  'severity': 'info',
                                  'confidence': 'low',
                                  'title': 'No clear network cause',
                                  'findings': [],
                                  'params': {'detail': {'key': 'inconclusive.unmeasured', 'params': {}}},
                                  'remedy_keys': ['switch_network', 'app_update_cache', 'contact_support']}],
                      'summary': {'verdict': 'The checks could not run, so nothing can be said about the network.',
                                  'verdict_code': 'unknown',
                                  'network_ok': False,
                                  'top_cause': None,
                                  'next_steps_intro': '',
                                  'verdict_params': {'checks': {'list': [], 'sep': 'list_sep'},
                                                     'missing': {'list': [{'check': 'connectivity'},
                                                                          {'check': 'dns'},
                                                                          {'check': 'tls'},
                                                                          {'check': 'clock'},
                                                                          {'check': 'endpoints'}],
                                                                 'sep': 'list_sep'}},
                                  'ruled_out_keys': [],
                                  'next_step_keys': ['contact']}},
 'offline_all_unreachable': {'causes': [{'code': 'offline',
                                         'severity': 'fail',
                                         'confidence': 'high',
                                         'title': 'No internet connection',
                                         'findings': ['net.offline'],
                                         'params': {'detail': {'key': 'offline.all_unreachable', 'params': {}}},
                                         'remedy_keys': ['check_connection', 'switch_network']}],
                             'summary': {'verdict': 'Most likely cause: No internet connection.',
                                         'verdict_code': 'cause',
                                         'network_ok': False,
                                         'top_cause': 'offline',
                                         'next_steps_intro': '',
                                         'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                {'check': 'endpoints'}],
                                                                       'sep': 'list_sep'},
                                                            'missing': {'list': [{'check': 'dns'},
                                                                                 {'check': 'tls'},
                                                                                 {'check': 'clock'}],
                                                                        'sep': 'list_sep'}},
                                         'ruled_out_keys': [],
                                         'next_step_keys': ['follow_remedies']}},
 'offline_for_an_unknown_reason': {'causes': [{'code': 'offline',
                                               'severity': 'fail',
                                               'confidence': 'high',
                                               'title': 'No internet connection',
                                               'findings': ['net.offline'],
                                               'params': {'detail': {'key': 'offline.no_route', 'params': {}}},
                                               'remedy_keys': ['check_connection', 'switch_network']}],
                                   'summary': {'verdict': 'Most likely cause: No internet connection.',
                                               'verdict_code': 'cause',
                                               'network_ok': False,
                                               'top_cause': 'offline',
                                               'next_steps_intro': '',
                                               'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                      {'check': 'endpoints'}],
                                                                             'sep': 'list_sep'},
                                                                  'missing': {'list': [{'check': 'dns'},
                                                                                       {'check': 'tls'},
                                                                                       {'check': 'clock'}],
                                                                              'sep': 'list_sep'}},
                                               'ruled_out_keys': [],
                                               'next_step_keys': ['follow_remedies']}},
 'offline_no_interface': {'causes': [{'code': 'offline',
                                      'severity': 'fail',
                                      'confidence': 'high',
                                      'title': 'No internet connection',
                                      'findings': ['net.offline'],
                                      'params': {'detail': {'key': 'offline.no_interface', 'params': {}}},
                                      'remedy_keys': ['check_connection', 'switch_network']}],
                          'summary': {'verdict': 'Most likely cause: No internet connection.',
                                      'verdict_code': 'cause',
                                      'network_ok': False,
                                      'top_cause': 'offline',
                                      'next_steps_intro': '',
                                      'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                             {'check': 'endpoints'}],
                                                                    'sep': 'list_sep'},
                                                         'missing': {'list': [{'check': 'dns'},
                                                                              {'check': 'tls'},
                                                                              {'check': 'clock'}],
                                                                     'sep': 'list_sep'}},
                                      'ruled_out_keys': [],
                                      'next_step_keys': ['follow_remedies']}},
 'offline_outranks_everything': {'causes': [{'code': 'offline',
                                             'severity': 'fail',
                                             'confidence': 'high',
                                             'title': 'No internet connection',
                                             'findings': ['net.offline'],
                                             'params': {'detail': {'key': 'offline.no_route', 'params': {}}},
                                             'remedy_keys': ['check_connection', 'switch_network']},
                                            {'code': 'clock_wrong',
                                             'severity': 'fail',
                                             'confidence': 'high',
                                             'title': "The phone's clock is wrong",
                                             'findings': ['clock.skew'],
                                             'params': {'offset': {'key': 'clock.behind',
                                                                   'params': {'amount': {'duration_s': 900.0}}},
                                                        'tls_detail': ''},
                                             'remedy_keys': ['auto_time']}],
                                 'summary': {'verdict': 'Most likely cause: No internet connection.',
                                             'verdict_code': 'cause',
                                             'network_ok': False,
                                             'top_cause': 'offline',
                                             'next_steps_intro': '',
                                             'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                    {'check': 'dns'},
                                                                                    {'check': 'clock'},
                                                                                    {'check': 'endpoints'}],
                                                                           'sep': 'list_sep'},
                                                                'missing': {'list': [{'check': 'tls'}],
                                                                            'sep': 'list_sep'}},
                                             'ruled_out_keys': [],
                                             'next_step_keys': ['follow_remedies']}},
 'offline_said_but_configured_endpoints_worked': {'causes': [{'code': 'inconclusive',
                                                              'severity': 'info',
                                                              'confidence': 'low',
                                                              'title': 'No clear network cause',
                                                              'findings': ['net.offline'],
                                                              'params': {'detail': {'key': 'inconclusive.conflict',
                                                                                    'params': {'conflicts': {'list': [{'key': 'conflict.offline',
                                                                                                                       'params': {'what': {'list': [{'endpoint': 'Alipay '
                                                                                                                                                                 'OpenAPI'},
                                                                                                                                                    {'endpoint': 'WeChat '
                                                                                                                                                                 'Pay '
                                                                                                                                                                 'API'},
                                                                                                                                                    {'endpoint': 'WeChat '
                                                                                                                                                                 'Pay '
                                                                                                                                                                 'API '
                                                                                                                                                                 'v3'}],
                                                                                                                                           'sep': 'list_sep'}}}],
                                                                                                             'sep': 'sentence_sep'}}}},
                                                              'remedy_keys': ['switch_network',
                                                                              'app_update_cache',
                                                                              'contact_support']}],
                                                  'summary': {'verdict': 'No clear network cause was found.',
                                                              'verdict_code': 'inconclusive',
                                                              'network_ok': False,
                                                              'top_cause': None,
                                                              'next_steps_intro': 'A network probe cannot see these; '
                                                                                  'check them next:',
                                                              'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                     {'check': 'endpoints'}],
                                                                                            'sep': 'list_sep'},
                                                                                 'missing': {'list': [{'check': 'dns'},
                                                                                                      {'check': 'tls'},
                                                                                                      {'check': 'clock'}],
                                                                                             'sep': 'list_sep'}},
                                                              'ruled_out_keys': ['endpoints'],
                                                              'next_step_keys': ['real_name',
                                                                                 'limits',
                                                                                 'restriction',
                                                                                 'bank_risk',
                                                                                 'app_outdated',
                                                                                 'contact']}},
 'offline_said_but_endpoints_answered': {'causes': [{'code': 'inconclusive',
                                                     'severity': 'info',
                                                     'confidence': 'low',
                                                     'title': 'No clear network cause',
                                                     'findings': ['net.offline'],
                                                     'params': {'detail': {'key': 'inconclusive.conflict',
                                                                           'params': {'conflicts': {'list': [{'key': 'conflict.offline',
                                                                                                              'params': {'what': {'list': [{'endpoint': 'Alipay '
                                                                                                                                                        'OpenAPI'},
                                                                                                                                           {'endpoint': 'WeChat '
                                                                                                                                                        'Pay '
                                                                                                                                                        'API'},
                                                                                                                                           {'endpoint': 'WeChat '
                                                                                                                                                        'Pay '
                                                                                                                                                        'API '
                                                                                                                                                        'v3'}],
                                                                                                                                  'sep': 'list_sep'}}}],
                                                                                                    'sep': 'sentence_sep'}}}},
                                                     'remedy_keys': ['switch_network',
                                                                     'app_update_cache',
                                                                     'contact_support']}],
                                         'summary': {'verdict': 'No clear network cause was found.',
                                                     'verdict_code': 'inconclusive',
                                                     'network_ok': False,
                                                     'top_cause': None,
                                                     'next_steps_intro': 'A network probe cannot see these; check '
                                                                         'them next:',
                                                     'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                            {'check': 'endpoints'}],
                                                                                   'sep': 'list_sep'},
                                                                        'missing': {'list': [{'check': 'dns'},
                                                                                             {'check': 'tls'},
                                                                                             {'check': 'clock'}],
                                                                                    'sep': 'list_sep'}},
                                                     'ruled_out_keys': ['endpoints'],
                                                     'next_step_keys': ['real_name',
                                                                        'limits',
                                                                        'restriction',
                                                                        'bank_risk',
                                                                        'app_outdated',
                                                                        'contact']}},
 'offline_said_but_servers_answered': {'causes': [{'code': 'inconclusive',
                                                   'severity': 'info',
                                                   'confidence': 'low',
                                                   'title': 'No clear network cause',
                                                   'findings': ['net.offline'],
                                                   'params': {'detail': {'key': 'inconclusive.conflict',
                                                                         'params': {'conflicts': {'list': [{'key': 'conflict.offline',
                                                                                                            'params': {'what': {'list': ['AliDNS',
                                                                                                                                         'DNSPod',
                                                                                                                                         'openapi.alipay.com'],
                                                                                                                                'sep': 'list_sep'}}}],
                                                                                                  'sep': 'sentence_sep'}}}},
                                                   'remedy_keys': ['switch_network',
                                                                   'app_update_cache',
                                                                   'contact_support']}],
                                       'summary': {'verdict': 'No clear network cause was found.',
                                                   'verdict_code': 'inconclusive',
                                                   'network_ok': False,
                                                   'top_cause': None,
                                                   'next_steps_intro': 'A network probe cannot see these; check them '
                                                                       'next:',
                                                   'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                          {'check': 'dns'},
                                                                                          {'check': 'tls'},
                                                                                          {'check': 'clock'},
                                                                                          {'check': 'endpoints'}],
                                                                                 'sep': 'list_sep'},
                                                                      'missing': {'list': [], 'sep': 'list_sep'}},
                                                   'ruled_out_keys': ['dns', 'tls', 'clock', 'endpoints'],
                                                   'next_step_keys': ['real_name',
                                                                      'limits',
                                                                      'restriction',
                                                                      'bank_risk',
                                                                      'app_outdated',
                                                                      'contact']}},
 'offline_without_a_reason': {'causes': [{'code': 'offline',
                                          'severity': 'fail',
                                          'confidence': 'high',
                                          'title': 'No internet connection',
                                          'findings': ['net.offline'],
                                          'params': {'detail': {'key': 'offline.no_route', 'params': {}}},
                                          'remedy_keys': ['check_connection', 'switch_network']}],
                              'summary': {'verdict': 'Most likely cause: No internet connection.',
                                          'verdict_code': 'cause',
                                          'network_ok': False,
                                          'top_cause': 'offline',
                                          'next_steps_intro': '',
                                          'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                 {'check': 'endpoints'}],
                                                                        'sep': 'list_sep'},
                                                             'missing': {'list': [{'check': 'dns'},
                                                                                  {'check': 'tls'},
                                                                                  {'check': 'clock'}],
                                                                         'sep': 'list_sep'}},
                                          'ruled_out_keys': [],
                                          'next_step_keys': ['follow_remedies']}},
 'one_cert_expired': {'causes': [{'code': 'payment_service_outage',
                                  'severity': 'fail',
                                  'confidence': 'high',
                                  'title': "Stripe's server certificate is misconfigured",
                                  'findings': ['tls.expired', 'endpoint.unreachable'],
                                  'target': 'stripe',
                                  'variant': 'certificate',
                                  'params': {'provider': {'provider': 'stripe'},
                                             'detail': {'list': [{'key': 'outage.item',
                                                                  'params': {'where': {'list': ['api.stripe.com'],
                                                                                       'sep': 'list_sep'},
                                                                             'what': {'key': 'outage.cert_expired',
                                                                                      'params': {'failure': 'tls_cert_expired',
                                                                                                 'status': '',
                                                                                                 'date': '2024-01-31'}}}}],
                                                        'sep': 'list_sep'},
                                             'clock_note': {'key': 'outage.clock_right', 'params': {}}},
                                  'remedy_keys': ['wait_provider_fix',
                                                  'no_cert_bypass',
                                                  'other_method',
                                                  'contact_support']}],
                      'summary': {'verdict': "Most likely cause: Stripe's server certificate is misconfigured.",
                                  'verdict_code': 'cause',
                                  'network_ok': False,
                                  'top_cause': 'payment_service_outage',
                                  'next_steps_intro': '',
                                  'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                         {'check': 'dns'},
                                                                         {'check': 'tls'},
                                                                         {'check': 'clock'},
                                                                         {'check': 'endpoints'}],
                                                                'sep': 'list_sep'},
                                                     'missing': {'list': [], 'sep': 'list_sep'}},
                                  'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                  'next_step_keys': ['follow_remedies']}},
 'one_cert_expired_by_the_reference_clock_clock_unknown': {'causes': [{'code': 'payment_service_outage',
                                                                       'severity': 'fail',
                                                                       'confidence': 'high',
                                                                       'title': "Stripe's server certificate is "
                                                                                'misconfigured',
                                                                       'findings': ['tls.expired',
                                                                                    'endpoint.unreachable'],
                                                                       'target': 'stripe',
                                                                       'variant': 'certificate',
                                                                       'params': {'provider': {'provider': 'stripe'},
                                                                                  'detail': {'list': [{'key': 'outage.item',
                                                                                                       'params': {'where': {'list': ['api.stripe.com'],
                                                                                                                            'sep': 'list_sep'},
                                                                                                                  'what': {'key': 'outage.cert_expired',
                                                                                                                           'params': {'failure': 'tls_cert_expired',
                                                                                                                                      'status': '',
                                                                                                                                      'date': '2024-01-31'}}}}],
                                                                                             'sep': 'list_sep'},
                                                                                  'clock_note': ''},
                                                                       'remedy_keys': ['wait_provider_fix',
                                                                                       'no_cert_bypass',
                                                                                       'other_method',
                                                                                       'contact_support']}],
                                                           'summary': {'verdict': "Most likely cause: Stripe's "
                                                                                  'server certificate is '
                                                                                  'misconfigured.',
                                                                       'verdict_code': 'cause',
                                                                       'network_ok': False,
                                                                       'top_cause': 'payment_service_outage',
                                                                       'next_steps_intro': '',
                                                                       'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                              {'check': 'dns'},
                                                                                                              {'check': 'tls'},
                                                                                                              {'check': 'clock'},
                                                                                                              {'check': 'endpoints'}],
                                                                                                     'sep': 'list_sep'},
                                                                                          'missing': {'list': [],
                                                                                                      'sep': 'list_sep'}},
                                                                       'ruled_out_keys': ['connectivity', 'dns'],
                                                                       'next_step_keys': ['follow_remedies']}},
 'one_cert_expired_only_by_the_reference_clock': {'causes': [{'code': 'inconclusive',
                                                              'severity': 'info',
                                                              'confidence': 'low',
                                                              'title': 'No clear network cause',
                                                              'findings': ['tls.expired'],
                                                              'params': {'detail': {'key': 'inconclusive.conflict',
                                                                                    'params': {'conflicts': {'list': [{'key': 'conflict.dates',
                                                                                                                       'params': {'state': {'key': 'tls.expired',
                                                                                                                                            'params': {}},
                                                                                                                                  'names': {'list': ['api.stripe.com'],
                                                                                                                                            'sep': 'list_sep'},
                                                                                                                                  'offset': {'duration_s': 0.02}}},
                                                                                                                      {'key': 'conflict.tls_vs_endpoints',
                                                                                                                       'params': {'target': 'api.stripe.com',
                                                                                                                                  'failure': 'tls.expired',
                                                                                                                                  'other': {'list': [{'endpoint': 'Stripe '
                                                                                                                                                                  'API'}],
                                                                                                                                            'sep': 'list_sep'}}}],
                                                                                                             'sep': 'sentence_sep'}}}},
                                                              'remedy_keys': ['switch_network',
                                                                              'app_update_cache',
                                                                              'contact_support']}],
                                                  'summary': {'verdict': 'No clear network cause was found.',
                                                              'verdict_code': 'inconclusive',
                                                              'network_ok': False,
                                                              'top_cause': None,
                                                              'next_steps_intro': 'A network probe cannot see these; '
                                                                                  'check them next:',
                                                              'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                     {'check': 'dns'},
                                                                                                     {'check': 'tls'},
                                                                                                     {'check': 'clock'},
                                                                                                     {'check': 'endpoints'}],
                                                                                            'sep': 'list_sep'},
                                                                                 'missing': {'list': [],
                                                                                             'sep': 'list_sep'}},
                                                              'ruled_out_keys': ['connectivity',
                                                                                 'dns',
                                                                                 'clock',
                                                                                 'endpoints'],
                                                              'next_step_keys': ['real_name',
                                                                                 'limits',
                                                                                 'restriction',
                                                                                 'bank_risk',
                                                                                 'app_outdated',
                                                                                 'contact']}},
 'one_cert_expired_with_fake_ip_dns': {'causes': [{'code': 'proxy_vpn_interference',
                                                   'severity': 'warn',
                                                   'confidence': 'high',
                                                   'title': 'A VPN or proxy is interfering',
                                                   'findings': ['dns.fake_ip'],
                                                   'params': {'detail': {'list': [{'key': 'proxy.fake_ip',
                                                                                   'params': {}}],
                                                                         'sep': 'sentence_sep'}},
                                                   'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']}],
                                       'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                                                   'verdict_code': 'cause',
                                                   'network_ok': False,
                                                   'top_cause': 'proxy_vpn_interference',
                                                   'next_steps_intro': '',
                                                   'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                          {'check': 'dns'},
                                                                                          {'check': 'tls'},
                                                                                          {'check': 'clock'},
                                                                                          {'check': 'endpoints'}],
                                                                                 'sep': 'list_sep'},
                                                                      'missing': {'list': [], 'sep': 'list_sep'}},
                                                   'ruled_out_keys': ['connectivity', 'clock'],
                                                   'next_step_keys': ['follow_remedies']}},
 'one_cert_expired_without_the_endpoints_check': {'causes': [{'code': 'payment_service_outage',
                                                              'severity': 'fail',
                                                              'confidence': 'high',
                                                              'title': "Stripe's server certificate is misconfigured",
                                                              'findings': ['tls.expired'],
                                                              'target': 'stripe',
                                                              'variant': 'certificate',
                                                              'params': {'provider': {'provider': 'stripe'},
                                                                         'detail': {'list': [{'key': 'outage.item',
                                                                                              'params': {'where': {'list': ['api.stripe.com'],
                                                                                                                   'sep': 'list_sep'},
                                                                                                         'what': {'key': 'outage.cert_expired',
                                                                                                                  'params': {'failure': 'tls_cert_expired',
                                                                                                                             'status': '',
                                                                                                                             'date': '?'}}}}],
                                                                                    'sep': 'list_sep'},
                                                                         'clock_note': {'key': 'outage.clock_right',
                                                                                        'params': {}}},
                                                              'remedy_keys': ['wait_provider_fix',
                                                                              'no_cert_bypass',
                                                                              'other_method',
                                                                              'contact_support']}],
                                                  'summary': {'verdict': "Most likely cause: Stripe's server "
                                                                         'certificate is misconfigured.',
                                                              'verdict_code': 'cause',
                                                              'network_ok': False,
                                                              'top_cause': 'payment_service_outage',
                                                              'next_steps_intro': '',
                                                              'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                     {'check': 'dns'},
                                                                                                     {'check': 'tls'},
                                                                                                     {'check': 'clock'}],
                                                                                            'sep': 'list_sep'},
                                                                                 'missing': {'list': [{'check': 'endpoints'}],
                                                                                             'sep': 'list_sep'}},
                                                              'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                                              'next_step_keys': ['follow_remedies']}},
 'one_cert_not_yet_valid_clock_unknown': {'causes': [{'code': 'payment_service_outage',
                                                      'severity': 'fail',
                                                      'confidence': 'medium',
                                                      'title': "UnionPay's server certificate is misconfigured",
                                                      'findings': ['tls.not_yet_valid', 'endpoint.unreachable'],
                                                      'target': 'unionpay',
                                                      'variant': 'certificate',
                                                      'params': {'provider': {'provider': 'unionpay'},
                                                                 'detail': {'list': [{'key': 'outage.item',
                                                                                      'params': {'where': {'list': ['gateway.95516.com'],
                                                                                                           'sep': 'list_sep'},
                                                                                                 'what': {'key': 'outage.cert_not_yet_valid',
                                                                                                          'params': {'failure': 'tls_cert_not_yet_valid',
                                                                                                                     'status': '',
                                                                                                                     'date': '2031-01-01'}}}}],
                                                                            'sep': 'list_sep'},
                                                                 'clock_note': ''},
                                                      'remedy_keys': ['wait_provider_fix',
                                                                      'no_cert_bypass',
                                                                      'other_method',
                                                                      'contact_support']}],
                                          'summary': {'verdict': "Most likely cause: UnionPay's server certificate "
                                                                 'is misconfigured.',
                                                      'verdict_code': 'cause',
                                                      'network_ok': False,
                                                      'top_cause': 'payment_service_outage',
                                                      'next_steps_intro': '',
                                                      'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                             {'check': 'dns'},
                                                                                             {'check': 'tls'},
                                                                                             {'check': 'clock'},
                                                                                             {'check': 'endpoints'}],
                                                                                    'sep': 'list_sep'},
                                                                         'missing': {'list': [], 'sep': 'list_sep'}},
                                                      'ruled_out_keys': ['connectivity', 'dns'],
                                                      'next_step_keys': ['follow_remedies']}},
 'one_hostname_mismatch': {'causes': [{'code': 'payment_service_outage',
                                       'severity': 'fail',
                                       'confidence': 'medium',
                                       'title': "Alipay's server certificate is misconfigured",
                                       'findings': ['tls.hostname_mismatch', 'endpoint.unreachable'],
                                       'target': 'alipay',
                                       'variant': 'certificate',
                                       'params': {'provider': {'provider': 'alipay'},
                                                  'detail': {'list': [{'key': 'outage.item',
                                                                       'params': {'where': {'list': ['openapi.alipay.com'],
                                                                                            'sep': 'list_sep'},
                                                                                  'what': {'key': 'outage.cert_name',
                                                                                           'params': {'failure': 'tls_hostname_mismatch',
                                                                                                      'status': '',
                                                                                                      'names': {'list': ['*.example.net'],
                                                                                                                'sep': 'list_sep'}}}}}],
                                                             'sep': 'list_sep'},
                                                  'clock_note': ''},
                                       'remedy_keys': ['wait_provider_fix',
                                                       'no_cert_bypass',
                                                       'other_method',
                                                       'contact_support']}],
                           'summary': {'verdict': "Most likely cause: Alipay's server certificate is misconfigured.",
                                       'verdict_code': 'cause',
                                       'network_ok': False,
                                       'top_cause': 'payment_service_outage',
                                       'next_steps_intro': '',
                                       'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                              {'check': 'dns'},
                                                                              {'check': 'tls'},
                                                                              {'check': 'clock'},
                                                                              {'check': 'endpoints'}],
                                                                     'sep': 'list_sep'},
                                                          'missing': {'list': [], 'sep': 'list_sep'}},
                                       'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                       'next_step_keys': ['follow_remedies']}},
 'one_hostname_mismatch_with_a_quiet_hijack_of_its_name': {'causes': [{'code': 'inconclusive',
                                                                       'severity': 'info',
                                                                       'confidence': 'low',
                                                                       'title': 'No clear network cause',
                                                                       'findings': ['tls.hostname_mismatch',
                                                                                    'endpoint.unreachable'],
                                                                       'params': {'detail': {'key': 'inconclusive.findings',
                                                                                             'params': {'codes': {'list': ['endpoint.unreachable',
                                                                                                                           'tls.hostname_mismatch'],
                                                                                                                  'sep': 'list_sep'}}}},
                                                                       'remedy_keys': ['switch_network',
                                                                                       'app_update_cache',
                                                                                       'contact_support']}],
                                                           'summary': {'verdict': 'No clear network cause was found.',
                                                                       'verdict_code': 'inconclusive',
                                                                       'network_ok': False,
                                                                       'top_cause': None,
                                                                       'next_steps_intro': 'A network probe cannot '
                                                                                           'see these; check them '
                                                                                           'next:',
                                                                       'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                              {'check': 'dns'},
                                                                                                              {'check': 'tls'},
                                                                                                              {'check': 'clock'},
                                                                                                              {'check': 'endpoints'}],
                                                                                                     'sep': 'list_sep'},
                                                                                          'missing': {'list': [],
                                                                                                      'sep': 'list_sep'}},
                                                                       'ruled_out_keys': ['connectivity',
                                                                                          'dns',
                                                                                          'clock'],
                                                                       'next_step_keys': ['real_name',
                                                                                          'limits',
                                                                                          'restriction',
                                                                                          'bank_risk',
                                                                                          'app_outdated',
                                                                                          'contact']}},
 'one_hostname_mismatch_with_a_vpn': {'causes': [{'code': 'proxy_vpn_interference',
                                                  'severity': 'fail',
                                                  'confidence': 'medium',
                                                  'title': 'A VPN or proxy is interfering',
                                                  'findings': ['tls.hostname_mismatch', 'vpn.interface'],
                                                  'params': {'detail': {'list': [{'key': 'proxy.untrusted',
                                                                                  'params': {'count': 1,
                                                                                             'issuer': '?'}},
                                                                                 {'key': 'proxy.present',
                                                                                  'params': {'what': {'list': ['tun0'],
                                                                                                      'sep': 'list_sep'}}}],
                                                                        'sep': 'sentence_sep'}},
                                                  'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']}],
                                      'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                                                  'verdict_code': 'cause',
                                                  'network_ok': False,
                                                  'top_cause': 'proxy_vpn_interference',
                                                  'next_steps_intro': '',
                                                  'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                         {'check': 'dns'},
                                                                                         {'check': 'tls'},
                                                                                         {'check': 'clock'},
                                                                                         {'check': 'endpoints'}],
                                                                                'sep': 'list_sep'},
                                                                     'missing': {'list': [], 'sep': 'list_sep'}},
                                                  'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                                  'next_step_keys': ['follow_remedies']}},
 'one_name_fails_everywhere_with_servfail': {'causes': [{'code': 'dns_problem',
                                                         'severity': 'fail',
                                                         'confidence': 'medium',
                                                         'title': 'Name lookups (DNS) are failing or wrong',
                                                         'findings': ['dns.system_failure',
                                                                      'tls.handshake_failed',
                                                                      'endpoint.unreachable'],
                                                         'params': {'detail': {'list': [{'key': 'dns.fails_everywhere',
                                                                                         'params': {'names': {'list': ['api.stripe.com'],
                                                                                                              'sep': 'list_sep'}}}],
                                                                               'sep': 'sentence_sep'}},
                                                         'remedy_keys': ['set_dns', 'router_dns', 'switch_network']}],
                                             'summary': {'verdict': 'Most likely cause: Name lookups (DNS) are '
                                                                    'failing or wrong.',
                                                         'verdict_code': 'cause',
                                                         'network_ok': False,
                                                         'top_cause': 'dns_problem',
                                                         'next_steps_intro': '',
                                                         'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                {'check': 'dns'},
                                                                                                {'check': 'tls'},
                                                                                                {'check': 'clock'},
                                                                                                {'check': 'endpoints'}],
                                                                                       'sep': 'list_sep'},
                                                                            'missing': {'list': [],
                                                                                        'sep': 'list_sep'}},
                                                         'ruled_out_keys': ['connectivity', 'clock'],
                                                         'next_step_keys': ['follow_remedies']}},
 'one_name_missing_everywhere': {'causes': [{'code': 'dns_problem',
                                             'severity': 'fail',
                                             'confidence': 'medium',
                                             'title': 'Name lookups (DNS) are failing or wrong',
                                             'findings': ['tls.handshake_failed', 'endpoint.unreachable'],
                                             'params': {'detail': {'list': [{'key': 'dns.no_such_name',
                                                                             'params': {'names': {'list': ['api.stripe.com'],
                                                                                                  'sep': 'list_sep'}}}],
                                                                   'sep': 'sentence_sep'}},
                                             'remedy_keys': ['set_dns', 'router_dns', 'switch_network']}],
                                 'summary': {'verdict': 'Most likely cause: Name lookups (DNS) are failing or wrong.',
                                             'verdict_code': 'cause',
                                             'network_ok': False,
                                             'top_cause': 'dns_problem',
                                             'next_steps_intro': '',
                                             'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                    {'check': 'dns'},
                                                                                    {'check': 'tls'},
                                                                                    {'check': 'clock'},
                                                                                    {'check': 'endpoints'}],
                                                                           'sep': 'list_sep'},
                                                                'missing': {'list': [], 'sep': 'list_sep'}},
                                             'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                             'next_step_keys': ['follow_remedies']}},
 'one_name_missing_everywhere_as_evidence': {'causes': [{'code': 'dns_problem',
                                                         'severity': 'fail',
                                                         'confidence': 'medium',
                                                         'title': 'Name lookups (DNS) are failing or wrong',
                                                         'findings': [],
                                                         'params': {'detail': {'list': [{'key': 'dns.no_such_name',
                                                                                         'params': {'names': {'list': ['api.stripe.com'],
                                                                                                              'sep': 'list_sep'}}}],
                                                                               'sep': 'sentence_sep'}},
                                                         'remedy_keys': ['set_dns', 'router_dns', 'switch_network']}],
                                             'summary': {'verdict': 'Most likely cause: Name lookups (DNS) are '
                                                                    'failing or wrong.',
                                                         'verdict_code': 'cause',
                                                         'network_ok': False,
                                                         'top_cause': 'dns_problem',
                                                         'next_steps_intro': '',
                                                         'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                {'check': 'dns'},
                                                                                                {'check': 'tls'},
                                                                                                {'check': 'clock'},
                                                                                                {'check': 'endpoints'}],
                                                                                       'sep': 'list_sep'},
                                                                            'missing': {'list': [],
                                                                                        'sep': 'list_sep'}},
                                                         'ruled_out_keys': ['connectivity',
                                                                            'dns',
                                                                            'tls',
                                                                            'clock',
                                                                            'endpoints'],
                                                         'next_step_keys': ['follow_remedies']}},
 'one_name_servfail_and_alternates_silent': {'causes': [{'code': 'dns_problem',
                                                         'severity': 'fail',
                                                         'confidence': 'medium',
                                                         'title': 'Name lookups (DNS) are failing or wrong',
                                                         'findings': ['dns.system_failure',
                                                                      'dns.resolver_unreachable',
                                                                      'tls.handshake_failed',
                                                                      'endpoint.unreachable'],
                                                         'params': {'detail': {'list': [{'key': 'dns.system_failure_unconfirmed',
                                                                                         'params': {'names': {'list': ['api.stripe.com'],
                                                                                                              'sep': 'list_sep'}}}],
                                                                               'sep': 'sentence_sep'}},
                                                         'remedy_keys': ['set_dns', 'router_dns', 'switch_network']}],
                                             'summary': {'verdict': 'Most likely cause: Name lookups (DNS) are '
                                                                    'failing or wrong.',
                                                         'verdict_code': 'cause',
                                                         'network_ok': False,
                                                         'top_cause': 'dns_problem',
                                                         'next_steps_intro': '',
                                                         'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                {'check': 'dns'},
                                                                                                {'check': 'tls'},
                                                                                                {'check': 'clock'},
                                                                                                {'check': 'endpoints'}],
                                                                                       'sep': 'list_sep'},
                                                                            'missing': {'list': [],
                                                                                        'sep': 'list_sep'}},
                                                         'ruled_out_keys': ['connectivity', 'clock'],
                                                         'next_step_keys': ['follow_remedies']}},
 'one_of_two_endpoints_of_a_provider_down': {'causes': [{'code': 'inconclusive',
                                                         'severity': 'info',
                                                         'confidence': 'low',
                                                         'title': 'No clear network cause',
                                                         'findings': ['tls.handshake_failed', 'endpoint.unreachable'],
                                                         'params': {'detail': {'key': 'inconclusive.conflict',
                                                                               'params': {'conflicts': {'list': [{'key': 'conflict.tls_vs_endpoints',
                                                                                                                  'params': {'target': 'api.mch.weixin.qq.com',
                                                                                                                             'failure': 'generic_timeout',
                                                                                                                             'other': {'list': [{'endpoint': 'WeChat '
                                                                                                                                                             'Pay '
                                                                                                                                                             'API '
                                                                                                                                                             'v3'}],
                                                                                                                                       'sep': 'list_sep'}}},
                                                                                                                 {'key': 'conflict.same_provider',
                                                                                                                  'params': {'target': {'endpoint': 'WeChat '
                                                                                                                                                    'Pay '
                                                                                                                                                    'API'},
                                                                                                                             'failure': 'generic_timeout',
                                                                                                                             'other': {'list': [{'endpoint': 'WeChat '
                                                                                                                                                             'Pay '
                                                                                                                                                             'API '
                                                                                                                                                             'v3'}],
                                                                                                                                       'sep': 'list_sep'}}}],
                                                                                                        'sep': 'sentence_sep'}}}},
                                                         'remedy_keys': ['switch_network',
                                                                         'app_update_cache',
                                                                         'contact_support']}],
                                             'summary': {'verdict': 'No clear network cause was found.',
                                                         'verdict_code': 'inconclusive',
                                                         'network_ok': False,
                                                         'top_cause': None,
                                                         'next_steps_intro': 'A network probe cannot see these; '
                                                                             'check them next:',
                                                         'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                {'check': 'dns'},
                                                                                                {'check': 'tls'},
                                                                                                {'check': 'clock'},
                                                                                                {'check': 'endpoints'}],
                                                                                       'sep': 'list_sep'},
                                                                            'missing': {'list': [],
                                                                                        'sep': 'list_sep'}},
                                                         'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                                         'next_step_keys': ['real_name',
                                                                            'limits',
                                                                            'restriction',
                                                                            'bank_risk',
                                                                            'app_outdated',
                                                                            'contact']}},
 'one_of_two_endpoints_of_a_provider_stalls': {'causes': [{'code': 'inconclusive',
                                                           'severity': 'info',
                                                           'confidence': 'low',
                                                           'title': 'No clear network cause',
                                                           'findings': ['endpoint.unreachable'],
                                                           'params': {'detail': {'key': 'inconclusive.conflict',
                                                                                 'params': {'conflicts': {'list': [{'key': 'conflict.same_provider',
                                                                                                                    'params': {'target': {'endpoint': 'WeChat '
                                                                                                                                                      'Pay '
                                                                                                                                                      'API'},
                                                                                                                               'failure': 'generic_timeout',
                                                                                                                               'other': {'list': [{'endpoint': 'WeChat '
                                                                                                                                                               'Pay '
                                                                                                                                                               'API '
                                                                                                                                                               'v3'}],
                                                                                                                                         'sep': 'list_sep'}}}],
                                                                                                          'sep': 'sentence_sep'}}}},
                                                           'remedy_keys': ['switch_network',
                                                                           'app_update_cache',
                                                                           'contact_support']}],
                                               'summary': {'verdict': 'No clear network cause was found.',
                                                           'verdict_code': 'inconclusive',
                                                           'network_ok': False,
                                                           'top_cause': None,
                                                           'next_steps_intro': 'A network probe cannot see these; '
                                                                               'check them next:',
                                                           'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                  {'check': 'dns'},
                                                                                                  {'check': 'tls'},
                                                                                                  {'check': 'clock'},
                                                                                                  {'check': 'endpoints'}],
                                                                                         'sep': 'list_sep'},
                                                                              'missing': {'list': [],
                                                                                          'sep': 'list_sep'}},
                                                           'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock'],
                                                           'next_step_keys': ['real_name',
                                                                              'limits',
                                                                              'restriction',
                                                                              'bank_risk',
                                                                              'app_outdated',
                                                                              'contact']}},
 'one_provider_4xx': {'causes': [{'code': 'payment_service_outage',
                                  'severity': 'fail',
                                  'confidence': 'high',
                                  'title': 'UnionPay is slow or overloaded',
                                  'findings': ['endpoint.http_error'],
                                  'target': 'unionpay',
                                  'variant': 'slow',
                                  'params': {'provider': {'provider': 'unionpay'},
                                             'detail': {'list': [{'key': 'outage.item',
                                                                  'params': {'where': {'list': [{'endpoint': 'UnionPay '
                                                                                                             'Gateway'}],
                                                                                       'sep': 'list_sep'},
                                                                             'what': {'key': 'outage.overloaded',
                                                                                      'params': {'failure': 'http_status_4xx',
                                                                                                 'status': 429}}}}],
                                                        'sep': 'list_sep'},
                                             'clock_note': ''},
                                  'remedy_keys': ['wait_busy', 'other_method', 'contact_support']}],
                      'summary': {'verdict': 'Most likely cause: UnionPay is slow or overloaded.',
                                  'verdict_code': 'cause',
                                  'network_ok': False,
                                  'top_cause': 'payment_service_outage',
                                  'next_steps_intro': '',
                                  'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                         {'check': 'dns'},
                                                                         {'check': 'tls'},
                                                                         {'check': 'clock'},
                                                                         {'check': 'endpoints'}],
                                                                'sep': 'list_sep'},
                                                     'missing': {'list': [], 'sep': 'list_sep'}},
                                  'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock'],
                                  'next_step_keys': ['follow_remedies']}},
 'one_provider_answers_502': {'causes': [{'code': 'payment_service_outage',
                                          'severity': 'fail',
                                          'confidence': 'high',
                                          'title': 'WeChat Pay is not answering',
                                          'findings': ['endpoint.http_error'],
                                          'target': 'wechatpay',
                                          'variant': 'down',
                                          'params': {'provider': {'provider': 'wechatpay'},
                                                     'detail': {'list': [{'key': 'outage.item',
                                                                          'params': {'where': {'list': [{'endpoint': 'WeChat '
                                                                                                                     'Pay '
                                                                                                                     'API'},
                                                                                                        {'endpoint': 'WeChat '
                                                                                                                     'Pay '
                                                                                                                     'API '
                                                                                                                     'v3'}],
                                                                                               'sep': 'list_sep'},
                                                                                     'what': {'key': 'outage.server_error',
                                                                                              'params': {'failure': 'http_status_5xx',
                                                                                                         'status': 502}}}}],
                                                                'sep': 'list_sep'},
                                                     'clock_note': ''},
                                          'remedy_keys': ['wait_retry', 'other_method', 'contact_support']}],
                              'summary': {'verdict': 'Most likely cause: WeChat Pay is not answering.',
                                          'verdict_code': 'cause',
                                          'network_ok': False,
                                          'top_cause': 'payment_service_outage',
                                          'next_steps_intro': '',
                                          'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                 {'check': 'dns'},
                                                                                 {'check': 'tls'},
                                                                                 {'check': 'clock'},
                                                                                 {'check': 'endpoints'}],
                                                                        'sep': 'list_sep'},
                                                             'missing': {'list': [], 'sep': 'list_sep'}},
                                          'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock'],
                                          'next_step_keys': ['follow_remedies']}},
 'one_provider_answers_503': {'causes': [{'code': 'payment_service_outage',
                                          'severity': 'fail',
                                          'confidence': 'high',
                                          'title': 'Alipay is slow or overloaded',
                                          'findings': ['endpoint.http_error'],
                                          'target': 'alipay',
                                          'variant': 'slow',
                                          'params': {'provider': {'provider': 'alipay'},
                                                     'detail': {'list': [{'key': 'outage.item',
                                                                          'params': {'where': {'list': [{'endpoint': 'Alipay '
                                                                                                                     'OpenAPI'}],
                                                                                               'sep': 'list_sep'},
                                                                                     'what': {'key': 'outage.overloaded',
                                                                                              'params': {'failure': 'http_status_5xx',
                                                                                                         'status': 503}}}}],
                                                                'sep': 'list_sep'},
                                                     'clock_note': ''},
                                          'remedy_keys': ['wait_busy', 'other_method', 'contact_support']}],
                              'summary': {'verdict': 'Most likely cause: Alipay is slow or overloaded.',
                                          'verdict_code': 'cause',
                                          'network_ok': False,
                                          'top_cause': 'payment_service_outage',
                                          'next_steps_intro': '',
                                          'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                 {'check': 'dns'},
                                                                                 {'check': 'tls'},
                                                                                 {'check': 'clock'},
                                                                                 {'check': 'endpoints'}],
                                                                        'sep': 'list_sep'},
                                                             'missing': {'list': [], 'sep': 'list_sep'}},
                                          'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock'],
                                          'next_step_keys': ['follow_remedies']}},
 'one_provider_both_endpoints_blackholed': {'causes': [{'code': 'payment_service_outage',
                                                        'severity': 'fail',
                                                        'confidence': 'high',
                                                        'title': 'WeChat Pay is not answering',
                                                        'findings': ['tls.handshake_failed', 'endpoint.unreachable'],
                                                        'target': 'wechatpay',
                                                        'variant': 'down',
                                                        'params': {'provider': {'provider': 'wechatpay'},
                                                                   'detail': {'list': [{'key': 'outage.item',
                                                                                        'params': {'where': {'list': [{'endpoint': 'WeChat '
                                                                                                                                   'Pay '
                                                                                                                                   'API'},
                                                                                                                      {'endpoint': 'WeChat '
                                                                                                                                   'Pay '
                                                                                                                                   'API '
                                                                                                                                   'v3'}],
                                                                                                             'sep': 'list_sep'},
                                                                                                   'what': {'key': 'outage.timeout_connect',
                                                                                                            'params': {'failure': 'generic_timeout',
                                                                                                                       'status': None}}}}],
                                                                              'sep': 'list_sep'},
                                                                   'clock_note': ''},
                                                        'remedy_keys': ['wait_retry',
                                                                        'other_method',
                                                                        'contact_support']}],
                                            'summary': {'verdict': 'Most likely cause: WeChat Pay is not answering.',
                                                        'verdict_code': 'cause',
                                                        'network_ok': False,
                                                        'top_cause': 'payment_service_outage',
                                                        'next_steps_intro': '',
                                                        'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                               {'check': 'dns'},
                                                                                               {'check': 'tls'},
                                                                                               {'check': 'clock'},
                                                                                               {'check': 'endpoints'}],
                                                                                      'sep': 'list_sep'},
                                                                           'missing': {'list': [],
                                                                                       'sep': 'list_sep'}},
                                                        'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                                        'next_step_keys': ['follow_remedies']}},
 'one_provider_connect_slow_warn': {'causes': [{'code': 'payment_service_outage',
                                                'severity': 'warn',
                                                'confidence': 'medium',
                                                'title': 'UnionPay is slow or overloaded',
                                                'findings': ['endpoint.slow'],
                                                'target': 'unionpay',
                                                'variant': 'slow',
                                                'params': {'provider': {'provider': 'unionpay'},
                                                           'detail': {'list': [{'key': 'outage.item',
                                                                                'params': {'where': {'list': [{'endpoint': 'UnionPay '
                                                                                                                           'Gateway'}],
                                                                                                     'sep': 'list_sep'},
                                                                                           'what': {'key': 'outage.slow_connect',
                                                                                                    'params': {'failure': '',
                                                                                                               'status': '',
                                                                                                               'ms': '600'}}}}],
                                                                      'sep': 'list_sep'},
                                                           'clock_note': ''},
                                                'remedy_keys': ['wait_busy', 'other_method', 'contact_support']}],
                                    'summary': {'verdict': 'Most likely cause: UnionPay is slow or overloaded.',
                                                'verdict_code': 'cause',
                                                'network_ok': False,
                                                'top_cause': 'payment_service_outage',
                                                'next_steps_intro': '',
                                                'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                       {'check': 'dns'},
                                                                                       {'check': 'tls'},
                                                                                       {'check': 'clock'},
                                                                                       {'check': 'endpoints'}],
                                                                              'sep': 'list_sep'},
                                                                   'missing': {'list': [], 'sep': 'list_sep'}},
                                                'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock'],
                                                'next_step_keys': ['follow_remedies']}},
 'one_provider_down_on_a_lossy_link': {'causes': [{'code': 'network_unstable',
                                                   'severity': 'fail',
                                                   'confidence': 'high',
                                                   'title': 'The connection is slow or unstable',
                                                   'findings': ['endpoint.loss',
                                                                'dns.system_failure',
                                                                'tls.handshake_failed',
                                                                'endpoint.unreachable'],
                                                   'params': {'detail': {'key': 'unstable.prefix',
                                                                         'params': {'items': {'list': [{'key': 'unstable.lossy_link',
                                                                                                        'params': {'what': {'list': [{'key': 'unstable.samples_lost',
                                                                                                                                      'params': {'lost': 9,
                                                                                                                                                 'tried': 20}},
                                                                                                                                     {'key': 'unstable.lookups_lost',
                                                                                                                                      'params': {'count': 3,
                                                                                                                                                 'where': {'list': [{'key': 'unstable.system_dns',
                                                                                                                                                                     'params': {}},
                                                                                                                                                                    'AliDNS',
                                                                                                                                                                    'DNSPod'],
                                                                                                                                                           'sep': 'list_sep'}}},
                                                                                                                                     {'key': 'unstable.tls_lost',
                                                                                                                                      'params': {'failed': 1,
                                                                                                                                                 'total': 5}},
                                                                                                                                     {'key': 'unstable.connectivity_lost',
                                                                                                                                      'params': {'failed': 1,
                                                                                                                                                 'total': 3}}],
                                                                                                                            'sep': 'list_sep_outer'}}}],
                                                                                              'sep': 'clause_sep'}}}},
                                                   'remedy_keys': ['switch_network',
                                                                   'close_background',
                                                                   'retry_later']}],
                                       'summary': {'verdict': 'Most likely cause: The connection is slow or '
                                                              'unstable.',
                                                   'verdict_code': 'cause',
                                                   'network_ok': False,
                                                   'top_cause': 'network_unstable',
                                                   'next_steps_intro': '',
                                                   'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                          {'check': 'dns'},
                                                                                          {'check': 'tls'},
                                                                                          {'check': 'clock'},
                                                                                          {'check': 'endpoints'}],
                                                                                 'sep': 'list_sep'},
                                                                      'missing': {'list': [], 'sep': 'list_sep'}},
                                                   'ruled_out_keys': ['connectivity', 'clock'],
                                                   'next_step_keys': ['follow_remedies']}},
 'one_provider_first_byte_slow': {'causes': [{'code': 'payment_service_outage',
                                              'severity': 'fail',
                                              'confidence': 'high',
                                              'title': 'Stripe is slow or overloaded',
                                              'findings': ['endpoint.slow'],
                                              'target': 'stripe',
                                              'variant': 'slow',
                                              'params': {'provider': {'provider': 'stripe'},
                                                         'detail': {'list': [{'key': 'outage.item',
                                                                              'params': {'where': {'list': [{'endpoint': 'Stripe '
                                                                                                                         'API'}],
                                                                                                   'sep': 'list_sep'},
                                                                                         'what': {'key': 'outage.slow_ttfb',
                                                                                                  'params': {'failure': '',
                                                                                                             'status': '',
                                                                                                             'ms': '1500'}}}}],
                                                                    'sep': 'list_sep'},
                                                         'clock_note': ''},
                                              'remedy_keys': ['wait_busy', 'other_method', 'contact_support']}],
                                  'summary': {'verdict': 'Most likely cause: Stripe is slow or overloaded.',
                                              'verdict_code': 'cause',
                                              'network_ok': False,
                                              'top_cause': 'payment_service_outage',
                                              'next_steps_intro': '',
                                              'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                     {'check': 'dns'},
                                                                                     {'check': 'tls'},
                                                                                     {'check': 'clock'},
                                                                                     {'check': 'endpoints'}],
                                                                            'sep': 'list_sep'},
                                                                 'missing': {'list': [], 'sep': 'list_sep'}},
                                              'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock'],
                                              'next_step_keys': ['follow_remedies']}},
 'one_provider_handshake_fails': {'causes': [{'code': 'payment_service_outage',
                                              'severity': 'fail',
                                              'confidence': 'high',
                                              'title': 'Stripe is not answering',
                                              'findings': ['tls.handshake_failed', 'endpoint.unreachable'],
                                              'target': 'stripe',
                                              'variant': 'down',
                                              'params': {'provider': {'provider': 'stripe'},
                                                         'detail': {'list': [{'key': 'outage.item',
                                                                              'params': {'where': {'list': [{'endpoint': 'Stripe '
                                                                                                                         'API'}],
                                                                                                   'sep': 'list_sep'},
                                                                                         'what': {'key': 'outage.other',
                                                                                                  'params': {'failure': 'tls_handshake_failed',
                                                                                                             'status': None}}}}],
                                                                    'sep': 'list_sep'},
                                                         'clock_note': ''},
                                              'remedy_keys': ['wait_retry', 'other_method', 'contact_support']}],
                                  'summary': {'verdict': 'Most likely cause: Stripe is not answering.',
                                              'verdict_code': 'cause',
                                              'network_ok': False,
                                              'top_cause': 'payment_service_outage',
                                              'next_steps_intro': '',
                                              'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                     {'check': 'dns'},
                                                                                     {'check': 'tls'},
                                                                                     {'check': 'clock'},
                                                                                     {'check': 'endpoints'}],
                                                                            'sep': 'list_sep'},
                                                                 'missing': {'list': [], 'sep': 'list_sep'}},
                                              'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                              'next_step_keys': ['follow_remedies']}},
 'one_provider_host_unreachable': {'causes': [{'code': 'payment_service_outage',
                                               'severity': 'fail',
                                               'confidence': 'high',
                                               'title': 'Stripe is not answering',
                                               'findings': ['tls.handshake_failed', 'endpoint.unreachable'],
                                               'target': 'stripe',
                                               'variant': 'down',
                                               'params': {'provider': {'provider': 'stripe'},
                                                          'detail': {'list': [{'key': 'outage.item',
                                                                               'params': {'where': {'list': [{'endpoint': 'Stripe '
                                                                                                                          'API'}],
                                                                                                    'sep': 'list_sep'},
                                                                                          'what': {'key': 'outage.unreachable',
                                                                                                   'params': {'failure': 'host_unreachable',
                                                                                                              'status': None}}}}],
                                                                     'sep': 'list_sep'},
                                                          'clock_note': ''},
                                               'remedy_keys': ['wait_retry', 'other_method', 'contact_support']}],
                                   'summary': {'verdict': 'Most likely cause: Stripe is not answering.',
                                               'verdict_code': 'cause',
                                               'network_ok': False,
                                               'top_cause': 'payment_service_outage',
                                               'next_steps_intro': '',
                                               'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                      {'check': 'dns'},
                                                                                      {'check': 'tls'},
                                                                                      {'check': 'clock'},
                                                                                      {'check': 'endpoints'}],
                                                                             'sep': 'list_sep'},
                                                                  'missing': {'list': [], 'sep': 'list_sep'}},
                                               'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                               'next_step_keys': ['follow_remedies']}},
 'one_provider_loses_some_samples': {'causes': [{'code': 'network_unstable',
                                                 'severity': 'warn',
                                                 'confidence': 'medium',
                                                 'title': 'The connection is slow or unstable',
                                                 'findings': ['endpoint.loss'],
                                                 'params': {'detail': {'key': 'unstable.prefix',
                                                                       'params': {'items': {'list': [{'key': 'unstable.loss',
                                                                                                      'params': {'value': {'number': 50,
                                                                                                                           'unit': '%'}}}],
                                                                                            'sep': 'clause_sep'}}}},
                                                 'remedy_keys': ['switch_network',
                                                                 'close_background',
                                                                 'retry_later']}],
                                     'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                                                 'verdict_code': 'cause',
                                                 'network_ok': False,
                                                 'top_cause': 'network_unstable',
                                                 'next_steps_intro': '',
                                                 'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                        {'check': 'dns'},
                                                                                        {'check': 'tls'},
                                                                                        {'check': 'clock'},
                                                                                        {'check': 'endpoints'}],
                                                                               'sep': 'list_sep'},
                                                                    'missing': {'list': [], 'sep': 'list_sep'}},
                                                 'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock'],
                                                 'next_step_keys': ['follow_remedies']}},
 'one_provider_refuses': {'causes': [{'code': 'payment_service_outage',
                                      'severity': 'fail',
                                      'confidence': 'high',
                                      'title': 'UnionPay is not answering',
                                      'findings': ['tls.handshake_failed', 'endpoint.unreachable'],
                                      'target': 'unionpay',
                                      'variant': 'down',
                                      'params': {'provider': {'provider': 'unionpay'},
                                                 'detail': {'list': [{'key': 'outage.item',
                                                                      'params': {'where': {'list': [{'endpoint': 'UnionPay '
                                                                                                                 'Gateway'}],
                                                                                           'sep': 'list_sep'},
                                                                                 'what': {'key': 'outage.refused',
                                                                                          'params': {'failure': 'connection_refused',
                                                                                                     'status': None}}}}],
                                                            'sep': 'list_sep'},
                                                 'clock_note': ''},
                                      'remedy_keys': ['wait_retry', 'other_method', 'contact_support']}],
                          'summary': {'verdict': 'Most likely cause: UnionPay is not answering.',
                                      'verdict_code': 'cause',
                                      'network_ok': False,
                                      'top_cause': 'payment_service_outage',
                                      'next_steps_intro': '',
                                      'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                             {'check': 'dns'},
                                                                             {'check': 'tls'},
                                                                             {'check': 'clock'},
                                                                             {'check': 'endpoints'}],
                                                                    'sep': 'list_sep'},
                                                         'missing': {'list': [], 'sep': 'list_sep'}},
                                      'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                      'next_step_keys': ['follow_remedies']}},
 'one_provider_refuses_on_a_lossy_link': {'causes': [{'code': 'network_unstable',
                                                      'severity': 'fail',
                                                      'confidence': 'high',
                                                      'title': 'The connection is slow or unstable',
                                                      'findings': ['endpoint.loss', 'dns.system_failure'],
                                                      'params': {'detail': {'key': 'unstable.prefix',
                                                                            'params': {'items': {'list': [{'key': 'unstable.lossy_link',
                                                                                                           'params': {'what': {'list': [{'key': 'unstable.samples_lost',
                                                                                                                                         'params': {'lost': 5,
                                                                                                                                                    'tried': 16}},
                                                                                                                                        {'key': 'unstable.lookups_lost',
                                                                                                                                         'params': {'count': 3,
                                                                                                                                                    'where': {'list': [{'key': 'unstable.system_dns',
                                                                                                                                                                        'params': {}},
                                                                                                                                                                       'AliDNS',
                                                                                                                                                                       'DNSPod'],
                                                                                                                                                              'sep': 'list_sep'}}},
                                                                                                                                        {'key': 'unstable.connectivity_lost',
                                                                                                                                         'params': {'failed': 1,
                                                                                                                                                    'total': 3}}],
                                                                                                                               'sep': 'list_sep_outer'}}}],
                                                                                                 'sep': 'clause_sep'}}}},
                                                      'remedy_keys': ['switch_network',
                                                                      'close_background',
                                                                      'retry_later']},
                                                     {'code': 'payment_service_outage',
                                                      'severity': 'fail',
                                                      'confidence': 'medium',
                                                      'title': 'UnionPay is not answering',
                                                      'findings': ['tls.handshake_failed', 'endpoint.unreachable'],
                                                      'target': 'unionpay',
                                                      'variant': 'down',
                                                      'params': {'provider': {'provider': 'unionpay'},
                                                                 'detail': {'list': [{'key': 'outage.item',
                                                                                      'params': {'where': {'list': [{'endpoint': 'UnionPay '
                                                                                                                                 'Gateway'}],
                                                                                                           'sep': 'list_sep'},
                                                                                                 'what': {'key': 'outage.refused',
                                                                                                          'params': {'failure': 'connection_refused',
                                                                                                                     'status': None}}}}],
                                                                            'sep': 'list_sep'},
                                                                 'clock_note': ''},
                                                      'remedy_keys': ['wait_retry',
                                                                      'other_method',
                                                                      'contact_support']}],
                                          'summary': {'verdict': 'Most likely cause: The connection is slow or '
                                                                 'unstable.',
                                                      'verdict_code': 'cause',
                                                      'network_ok': False,
                                                      'top_cause': 'network_unstable',
                                                      'next_steps_intro': '',
                                                      'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                             {'check': 'dns'},
                                                                                             {'check': 'tls'},
                                                                                             {'check': 'clock'},
                                                                                             {'check': 'endpoints'}],
                                                                                    'sep': 'list_sep'},
                                                                         'missing': {'list': [], 'sep': 'list_sep'}},
                                                      'ruled_out_keys': ['connectivity', 'clock'],
                                                      'next_step_keys': ['follow_remedies']}},
 'one_provider_resets_in_tls': {'causes': [{'code': 'payment_service_outage',
                                            'severity': 'fail',
                                            'confidence': 'high',
                                            'title': 'Alipay is not answering',
                                            'findings': ['tls.handshake_failed', 'endpoint.unreachable'],
                                            'target': 'alipay',
                                            'variant': 'down',
                                            'params': {'provider': {'provider': 'alipay'},
                                                       'detail': {'list': [{'key': 'outage.item',
                                                                            'params': {'where': {'list': [{'endpoint': 'Alipay '
                                                                                                                       'OpenAPI'}],
                                                                                                 'sep': 'list_sep'},
                                                                                       'what': {'key': 'outage.reset',
                                                                                                'params': {'failure': 'connection_reset',
                                                                                                           'status': None}}}}],
                                                                  'sep': 'list_sep'},
                                                       'clock_note': ''},
                                            'remedy_keys': ['wait_retry', 'other_method', 'contact_support']}],
                                'summary': {'verdict': 'Most likely cause: Alipay is not answering.',
                                            'verdict_code': 'cause',
                                            'network_ok': False,
                                            'top_cause': 'payment_service_outage',
                                            'next_steps_intro': '',
                                            'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                   {'check': 'dns'},
                                                                                   {'check': 'tls'},
                                                                                   {'check': 'clock'},
                                                                                   {'check': 'endpoints'}],
                                                                          'sep': 'list_sep'},
                                                               'missing': {'list': [], 'sep': 'list_sep'}},
                                            'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                            'next_step_keys': ['follow_remedies']}},
 'one_provider_slow_on_a_lossy_link': {'causes': [{'code': 'network_unstable',
                                                   'severity': 'fail',
                                                   'confidence': 'high',
                                                   'title': 'The connection is slow or unstable',
                                                   'findings': ['endpoint.loss',
                                                                'dns.system_failure',
                                                                'endpoint.slow'],
                                                   'params': {'detail': {'key': 'unstable.prefix',
                                                                         'params': {'items': {'list': [{'key': 'unstable.lossy_link',
                                                                                                        'params': {'what': {'list': [{'key': 'unstable.samples_lost',
                                                                                                                                      'params': {'lost': 7,
                                                                                                                                                 'tried': 20}},
                                                                                                                                     {'key': 'unstable.lookups_lost',
                                                                                                                                      'params': {'count': 3,
                                                                                                                                                 'where': {'list': [{'key': 'unstable.system_dns',
                                                                                                                                                                     'params': {}},
                                                                                                                                                                    'AliDNS',
                                                                                                                                                                    'DNSPod'],
                                                                                                                                                           'sep': 'list_sep'}}},
                                                                                                                                     {'key': 'unstable.connectivity_lost',
                                                                                                                                      'params': {'failed': 1,
                                                                                                                                                 'total': 3}}],
                                                                                                                            'sep': 'list_sep_outer'}}}],
                                                                                              'sep': 'clause_sep'}}}},
                                                   'remedy_keys': ['switch_network',
                                                                   'close_background',
                                                                   'retry_later']}],
                                       'summary': {'verdict': 'Most likely cause: The connection is slow or '
                                                              'unstable.',
                                                   'verdict_code': 'cause',
                                                   'network_ok': False,
                                                   'top_cause': 'network_unstable',
                                                   'next_steps_intro': '',
                                                   'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                          {'check': 'dns'},
                                                                                          {'check': 'tls'},
                                                                                          {'check': 'clock'},
                                                                                          {'check': 'endpoints'}],
                                                                                 'sep': 'list_sep'},
                                                                      'missing': {'list': [], 'sep': 'list_sep'}},
                                                   'ruled_out_keys': ['connectivity', 'tls', 'clock'],
                                                   'next_step_keys': ['follow_remedies']}},
 'one_provider_stalls_after_connecting': {'causes': [{'code': 'payment_service_outage',
                                                      'severity': 'fail',
                                                      'confidence': 'high',
                                                      'title': 'Stripe is not answering',
                                                      'findings': ['endpoint.unreachable'],
                                                      'target': 'stripe',
                                                      'variant': 'down',
                                                      'params': {'provider': {'provider': 'stripe'},
                                                                 'detail': {'list': [{'key': 'outage.item',
                                                                                      'params': {'where': {'list': [{'endpoint': 'Stripe '
                                                                                                                                 'API'}],
                                                                                                           'sep': 'list_sep'},
                                                                                                 'what': {'key': 'outage.timeout_http',
                                                                                                          'params': {'failure': 'generic_timeout',
                                                                                                                     'status': None}}}}],
                                                                            'sep': 'list_sep'},
                                                                 'clock_note': ''},
                                                      'remedy_keys': ['wait_retry',
                                                                      'other_method',
                                                                      'contact_support']}],
                                          'summary': {'verdict': 'Most likely cause: Stripe is not answering.',
                                                      'verdict_code': 'cause',
                                                      'network_ok': False,
                                                      'top_cause': 'payment_service_outage',
                                                      'next_steps_intro': '',
                                                      'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                             {'check': 'dns'},
                                                                                             {'check': 'tls'},
                                                                                             {'check': 'clock'},
                                                                                             {'check': 'endpoints'}],
                                                                                    'sep': 'list_sep'},
                                                                         'missing': {'list': [], 'sep': 'list_sep'}},
                                                      'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock'],
                                                      'next_step_keys': ['follow_remedies']}},
 'one_provider_times_out': {'causes': [{'code': 'payment_service_outage',
                                        'severity': 'fail',
                                        'confidence': 'high',
                                        'title': 'Alipay is not answering',
                                        'findings': ['tls.handshake_failed', 'endpoint.unreachable'],
                                        'target': 'alipay',
                                        'variant': 'down',
                                        'params': {'provider': {'provider': 'alipay'},
                                                   'detail': {'list': [{'key': 'outage.item',
                                                                        'params': {'where': {'list': [{'endpoint': 'Alipay '
                                                                                                                   'OpenAPI'}],
                                                                                             'sep': 'list_sep'},
                                                                                   'what': {'key': 'outage.timeout_connect',
                                                                                            'params': {'failure': 'generic_timeout',
                                                                                                       'status': None}}}}],
                                                              'sep': 'list_sep'},
                                                   'clock_note': ''},
                                        'remedy_keys': ['wait_retry', 'other_method', 'contact_support']}],
                            'summary': {'verdict': 'Most likely cause: Alipay is not answering.',
                                        'verdict_code': 'cause',
                                        'network_ok': False,
                                        'top_cause': 'payment_service_outage',
                                        'next_steps_intro': '',
                                        'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                               {'check': 'dns'},
                                                                               {'check': 'tls'},
                                                                               {'check': 'clock'},
                                                                               {'check': 'endpoints'}],
                                                                      'sep': 'list_sep'},
                                                           'missing': {'list': [], 'sep': 'list_sep'}},
                                        'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                        'next_step_keys': ['follow_remedies']}},
 'one_provider_tls_slow': {'causes': [{'code': 'inconclusive',
                                       'severity': 'info',
                                       'confidence': 'low',
                                       'title': 'No clear network cause',
                                       'findings': ['tls.slow'],
                                       'params': {'detail': {'key': 'inconclusive.conflict',
                                                             'params': {'conflicts': {'list': [{'key': 'conflict.tls_vs_endpoints',
                                                                                                'params': {'target': 'gateway.95516.com',
                                                                                                           'failure': 'tls.slow',
                                                                                                           'other': {'list': [{'endpoint': 'UnionPay '
                                                                                                                                           'Gateway'}],
                                                                                                                     'sep': 'list_sep'}}}],
                                                                                      'sep': 'sentence_sep'}}}},
                                       'remedy_keys': ['switch_network', 'app_update_cache', 'contact_support']}],
                           'summary': {'verdict': 'No clear network cause was found.',
                                       'verdict_code': 'inconclusive',
                                       'network_ok': False,
                                       'top_cause': None,
                                       'next_steps_intro': 'A network probe cannot see these; check them next:',
                                       'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                              {'check': 'dns'},
                                                                              {'check': 'tls'},
                                                                              {'check': 'clock'},
                                                                              {'check': 'endpoints'}],
                                                                     'sep': 'list_sep'},
                                                          'missing': {'list': [], 'sep': 'list_sep'}},
                                       'ruled_out_keys': ['connectivity', 'dns', 'clock', 'endpoints'],
                                       'next_step_keys': ['real_name',
                                                          'limits',
                                                          'restriction',
                                                          'bank_risk',
                                                          'app_outdated',
                                                          'contact']}},
 'one_untrusted_issuer': {'causes': [{'code': 'payment_service_outage',
                                      'severity': 'fail',
                                      'confidence': 'medium',
                                      'title': "UnionPay's server certificate is misconfigured",
                                      'findings': ['tls.untrusted_issuer', 'endpoint.unreachable'],
                                      'target': 'unionpay',
                                      'variant': 'certificate',
                                      'params': {'provider': {'provider': 'unionpay'},
                                                 'detail': {'list': [{'key': 'outage.item',
                                                                      'params': {'where': {'list': ['gateway.95516.com'],
                                                                                           'sep': 'list_sep'},
                                                                                 'what': {'key': 'outage.cert_issuer',
                                                                                          'params': {'failure': 'tls_unknown_authority',
                                                                                                     'status': '',
                                                                                                     'issuer': 'CN=UnionPay '
                                                                                                               'Old '
                                                                                                               'CA'}}}}],
                                                            'sep': 'list_sep'},
                                                 'clock_note': ''},
                                      'remedy_keys': ['wait_provider_fix',
                                                      'no_cert_bypass',
                                                      'other_method',
                                                      'contact_support']}],
                          'summary': {'verdict': "Most likely cause: UnionPay's server certificate is misconfigured.",
                                      'verdict_code': 'cause',
                                      'network_ok': False,
                                      'top_cause': 'payment_service_outage',
                                      'next_steps_intro': '',
                                      'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                             {'check': 'dns'},
                                                                             {'check': 'tls'},
                                                                             {'check': 'clock'},
                                                                             {'check': 'endpoints'}],
                                                                    'sep': 'list_sep'},
                                                         'missing': {'list': [], 'sep': 'list_sep'}},
                                      'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                      'next_step_keys': ['follow_remedies']}},
 'only_the_device_ran': {'causes': [],
                         'summary': {'verdict': 'No problem found in the checks that ran (device); the network '
                                                'checks that did not run (connectivity, dns, tls, clock, endpoints) '
                                                'rule nothing out.',
                                     'verdict_code': 'nothing_found',
                                     'network_ok': False,
                                     'top_cause': None,
                                     'next_steps_intro': 'A network probe cannot see these; check them next:',
                                     'verdict_params': {'checks': {'list': [{'check': 'device'}], 'sep': 'list_sep'},
                                                        'missing': {'list': [{'check': 'connectivity'},
                                                                             {'check': 'dns'},
                                                                             {'check': 'tls'},
                                                                             {'check': 'clock'},
                                                                             {'check': 'endpoints'}],
                                                                    'sep': 'list_sep'}},
                                     'ruled_out_keys': ['device'],
                                     'next_step_keys': ['real_name',
                                                        'limits',
                                                        'restriction',
                                                        'bank_risk',
                                                        'app_outdated',
                                                        'contact']}},
 'provider_fails_with_http_503_and_timeout': {'causes': [{'code': 'payment_service_outage',
                                                          'severity': 'fail',
                                                          'confidence': 'high',
                                                          'title': 'WeChat Pay is not answering',
                                                          'findings': ['endpoint.unreachable'],
                                                          'target': 'wechatpay',
                                                          'variant': 'down',
                                                          'params': {'provider': {'provider': 'wechatpay'},
                                                                     'detail': {'list': [{'key': 'outage.item',
                                                                                          'params': {'where': {'list': [{'endpoint': 'WeChat '
                                                                                                                                     'Pay '
                                                                                                                                     'API'}],
                                                                                                               'sep': 'list_sep'},
                                                                                                     'what': {'key': 'outage.timeout',
                                                                                                              'params': {'failure': 'generic_timeout',
                                                                                                                         'status': None}}}},
                                                                                         {'key': 'outage.item',
                                                                                          'params': {'where': {'list': [{'endpoint': 'WeChat '
                                                                                                                                     'Pay '
                                                                                                                                     'API '
                                                                                                                                     'v3'}],
                                                                                                               'sep': 'list_sep'},
                                                                                                     'what': {'key': 'outage.overloaded',
                                                                                                              'params': {'failure': '',
                                                                                                                         'status': 503}}}}],
                                                                                'sep': 'list_sep'},
                                                                     'clock_note': ''},
                                                          'remedy_keys': ['wait_retry',
                                                                          'other_method',
                                                                          'contact_support']}],
                                              'summary': {'verdict': 'Most likely cause: WeChat Pay is not '
                                                                     'answering.',
                                                          'verdict_code': 'cause',
                                                          'network_ok': False,
                                                          'top_cause': 'payment_service_outage',
                                                          'next_steps_intro': '',
                                                          'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                 {'check': 'endpoints'}],
                                                                                        'sep': 'list_sep'},
                                                                             'missing': {'list': [{'check': 'dns'},
                                                                                                  {'check': 'tls'},
                                                                                                  {'check': 'clock'}],
                                                                                         'sep': 'list_sep'}},
                                                          'ruled_out_keys': ['connectivity'],
                                                          'next_step_keys': ['follow_remedies']}},
 'proxy_listener_and_untrusted_issuer': {'causes': [{'code': 'proxy_vpn_interference',
                                                     'severity': 'fail',
                                                     'confidence': 'high',
                                                     'title': 'A VPN or proxy is interfering',
                                                     'findings': ['tls.untrusted_issuer', 'proxy.local_listener'],
                                                     'params': {'detail': {'list': [{'key': 'proxy.untrusted',
                                                                                     'params': {'count': 2,
                                                                                                'issuer': {'list': ['mitmproxy'],
                                                                                                           'sep': 'list_sep'}}},
                                                                                    {'key': 'proxy.present',
                                                                                     'params': {'what': {'list': ['127.0.0.1:7890'],
                                                                                                         'sep': 'list_sep'}}}],
                                                                           'sep': 'sentence_sep'}},
                                                     'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']}],
                                         'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                                                     'verdict_code': 'cause',
                                                     'network_ok': False,
                                                     'top_cause': 'proxy_vpn_interference',
                                                     'next_steps_intro': '',
                                                     'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                            {'check': 'proxy'},
                                                                                            {'check': 'tls'}],
                                                                                   'sep': 'list_sep'},
                                                                        'missing': {'list': [{'check': 'dns'},
                                                                                             {'check': 'clock'},
                                                                                             {'check': 'endpoints'}],
                                                                                    'sep': 'list_sep'}},
                                                     'ruled_out_keys': ['connectivity'],
                                                     'next_step_keys': ['follow_remedies']}},
 'slow_findings_without_endpoint_states': {'causes': [{'code': 'network_unstable',
                                                       'severity': 'warn',
                                                       'confidence': 'medium',
                                                       'title': 'The connection is slow or unstable',
                                                       'findings': ['endpoint.slow'],
                                                       'params': {'detail': {'key': 'unstable.prefix',
                                                                             'params': {'items': {'list': [{'key': 'unstable.slow',
                                                                                                            'params': {'count': 4,
                                                                                                                       'total': 4}}],
                                                                                                  'sep': 'clause_sep'}}}},
                                                       'remedy_keys': ['switch_network',
                                                                       'close_background',
                                                                       'retry_later']}],
                                           'summary': {'verdict': 'Most likely cause: The connection is slow or '
                                                                  'unstable.',
                                                       'verdict_code': 'cause',
                                                       'network_ok': False,
                                                       'top_cause': 'network_unstable',
                                                       'next_steps_intro': '',
                                                       'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                              {'check': 'endpoints'}],
                                                                                     'sep': 'list_sep'},
                                                                          'missing': {'list': [{'check': 'dns'},
                                                                                               {'check': 'tls'},
                                                                                               {'check': 'clock'}],
                                                                                      'sep': 'list_sep'}},
                                                       'ruled_out_keys': ['connectivity'],
                                                       'next_step_keys': ['follow_remedies']}},
 'some_endpoints_unreachable_others_refused': {'causes': [{'code': 'payment_service_outage',
                                                           'severity': 'fail',
                                                           'confidence': 'medium',
                                                           'title': 'Alipay is not answering',
                                                           'findings': ['endpoint.unreachable'],
                                                           'target': 'alipay',
                                                           'variant': 'down',
                                                           'params': {'provider': {'provider': 'alipay'},
                                                                      'detail': {'list': [{'key': 'outage.item',
                                                                                           'params': {'where': {'list': [{'endpoint': 'Alipay '
                                                                                                                                      'OpenAPI'}],
                                                                                                                'sep': 'list_sep'},
                                                                                                      'what': {'key': 'outage.unreachable',
                                                                                                               'params': {'failure': 'network_unreachable',
                                                                                                                          'status': None}}}}],
                                                                                 'sep': 'list_sep'},
                                                                      'clock_note': ''},
                                                           'remedy_keys': ['wait_retry',
                                                                           'other_method',
                                                                           'contact_support']}],
                                               'summary': {'verdict': 'Most likely cause: Alipay is not answering.',
                                                           'verdict_code': 'cause',
                                                           'network_ok': False,
                                                           'top_cause': 'payment_service_outage',
                                                           'next_steps_intro': '',
                                                           'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                  {'check': 'endpoints'}],
                                                                                         'sep': 'list_sep'},
                                                                              'missing': {'list': [{'check': 'dns'},
                                                                                                   {'check': 'tls'},
                                                                                                   {'check': 'clock'}],
                                                                                          'sep': 'list_sep'}},
                                                           'ruled_out_keys': [],
                                                           'next_step_keys': ['follow_remedies']}},
 'system_proxy_and_nothing_failing': {'causes': [{'code': 'proxy_vpn_interference',
                                                  'severity': 'warn',
                                                  'confidence': 'low',
                                                  'title': 'A VPN or proxy is interfering',
                                                  'findings': ['proxy.system'],
                                                  'params': {'detail': {'key': 'proxy.present',
                                                                        'params': {'what': {'list': ['10.0.0.1:8080'],
                                                                                            'sep': 'list_sep'}}}},
                                                  'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']}],
                                      'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                                                  'verdict_code': 'cause',
                                                  'network_ok': False,
                                                  'top_cause': 'proxy_vpn_interference',
                                                  'next_steps_intro': '',
                                                  'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                         {'check': 'endpoints'},
                                                                                         {'check': 'proxy'}],
                                                                                'sep': 'list_sep'},
                                                                     'missing': {'list': [{'check': 'dns'},
                                                                                          {'check': 'tls'},
                                                                                          {'check': 'clock'}],
                                                                                 'sep': 'list_sep'}},
                                                  'ruled_out_keys': ['connectivity', 'endpoints'],
                                                  'next_step_keys': ['follow_remedies']}},
 'system_proxy_with_failing_endpoints': {'causes': [{'code': 'proxy_vpn_interference',
                                                     'severity': 'fail',
                                                     'confidence': 'medium',
                                                     'title': 'A VPN or proxy is interfering',
                                                     'findings': ['proxy.system'],
                                                     'params': {'detail': {'key': 'proxy.failing',
                                                                           'params': {'what': {'list': ['10.0.0.1:8080'],
                                                                                               'sep': 'list_sep'}}}},
                                                     'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']},
                                                    {'code': 'payment_service_outage',
                                                     'severity': 'fail',
                                                     'confidence': 'medium',
                                                     'title': 'UnionPay is not answering',
                                                     'findings': ['endpoint.unreachable'],
                                                     'target': 'unionpay',
                                                     'variant': 'down',
                                                     'params': {'provider': {'provider': 'unionpay'},
                                                                'detail': {'list': [{'key': 'outage.item',
                                                                                     'params': {'where': {'list': [{'endpoint': 'UnionPay '
                                                                                                                                'Gateway'}],
                                                                                                          'sep': 'list_sep'},
                                                                                                'what': {'key': 'outage.reset',
                                                                                                         'params': {'failure': 'connection_reset',
                                                                                                                    'status': None}}}}],
                                                                           'sep': 'list_sep'},
                                                                'clock_note': ''},
                                                     'remedy_keys': ['wait_retry',
                                                                     'other_method',
                                                                     'contact_support']}],
                                         'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                                                     'verdict_code': 'cause',
                                                     'network_ok': False,
                                                     'top_cause': 'proxy_vpn_interference',
                                                     'next_steps_intro': '',
                                                     'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                            {'check': 'proxy'},
                                                                                            {'check': 'endpoints'}],
                                                                                   'sep': 'list_sep'},
                                                                        'missing': {'list': [{'check': 'dns'},
                                                                                             {'check': 'tls'},
                                                                                             {'check': 'clock'}],
                                                                                    'sep': 'list_sep'}},
                                                     'ruled_out_keys': ['connectivity'],
                                                     'next_step_keys': ['follow_remedies']}},
 'system_proxy_with_failing_tls_only': {'causes': [{'code': 'proxy_vpn_interference',
                                                    'severity': 'fail',
                                                    'confidence': 'medium',
                                                    'title': 'A VPN or proxy is interfering',
                                                    'findings': ['proxy.env', 'tls.handshake_failed'],
                                                    'params': {'detail': {'key': 'proxy.failing',
                                                                          'params': {'what': {'list': ['HTTPS_PROXY'],
                                                                                              'sep': 'list_sep'}}}},
                                                    'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']}],
                                        'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                                                    'verdict_code': 'cause',
                                                    'network_ok': False,
                                                    'top_cause': 'proxy_vpn_interference',
                                                    'next_steps_intro': '',
                                                    'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                           {'check': 'proxy'},
                                                                                           {'check': 'tls'}],
                                                                                  'sep': 'list_sep'},
                                                                       'missing': {'list': [{'check': 'dns'},
                                                                                            {'check': 'clock'},
                                                                                            {'check': 'endpoints'}],
                                                                                   'sep': 'list_sep'}},
                                                    'ruled_out_keys': ['connectivity'],
                                                    'next_step_keys': ['follow_remedies']}},
 'system_resolver_dead': {'causes': [{'code': 'dns_problem',
                                      'severity': 'fail',
                                      'confidence': 'high',
                                      'title': 'Name lookups (DNS) are failing or wrong',
                                      'findings': ['dns.system_failure',
                                                   'tls.handshake_failed',
                                                   'endpoint.unreachable'],
                                      'params': {'detail': {'list': [{'key': 'dns.system_dead',
                                                                      'params': {'what': {'list': ['http://connect.rom.miui.com/generate_204',
                                                                                                   'http://www.qualcomm.cn/generate_204',
                                                                                                   'http://connectivitycheck.gstatic.com/generate_204'],
                                                                                          'sep': 'list_sep'}}}],
                                                            'sep': 'sentence_sep'}},
                                      'remedy_keys': ['set_dns', 'router_dns', 'switch_network']}],
                          'summary': {'verdict': 'Most likely cause: Name lookups (DNS) are failing or wrong.',
                                      'verdict_code': 'cause',
                                      'network_ok': False,
                                      'top_cause': 'dns_problem',
                                      'next_steps_intro': '',
                                      'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                             {'check': 'dns'},
                                                                             {'check': 'tls'},
                                                                             {'check': 'clock'},
                                                                             {'check': 'endpoints'}],
                                                                    'sep': 'list_sep'},
                                                         'missing': {'list': [], 'sep': 'list_sep'}},
                                      'ruled_out_keys': ['connectivity', 'clock'],
                                      'next_step_keys': ['follow_remedies']}},
 'system_resolver_nxdomain_one_name': {'causes': [{'code': 'dns_problem',
                                                   'severity': 'fail',
                                                   'confidence': 'high',
                                                   'title': 'Name lookups (DNS) are failing or wrong',
                                                   'findings': ['dns.system_failure',
                                                                'tls.handshake_failed',
                                                                'endpoint.unreachable'],
                                                   'params': {'detail': {'list': [{'key': 'dns.system_failure',
                                                                                   'params': {'names': {'list': ['gateway.95516.com'],
                                                                                                        'sep': 'list_sep'}}}],
                                                                         'sep': 'sentence_sep'}},
                                                   'remedy_keys': ['set_dns', 'router_dns', 'switch_network']}],
                                       'summary': {'verdict': 'Most likely cause: Name lookups (DNS) are failing or '
                                                              'wrong.',
                                                   'verdict_code': 'cause',
                                                   'network_ok': False,
                                                   'top_cause': 'dns_problem',
                                                   'next_steps_intro': '',
                                                   'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                          {'check': 'dns'},
                                                                                          {'check': 'tls'},
                                                                                          {'check': 'clock'},
                                                                                          {'check': 'endpoints'}],
                                                                                 'sep': 'list_sep'},
                                                                      'missing': {'list': [], 'sep': 'list_sep'}},
                                                   'ruled_out_keys': ['connectivity', 'clock'],
                                                   'next_step_keys': ['follow_remedies']}},
 'system_resolver_servfail_one_name': {'causes': [{'code': 'dns_problem',
                                                   'severity': 'fail',
                                                   'confidence': 'high',
                                                   'title': 'Name lookups (DNS) are failing or wrong',
                                                   'findings': ['dns.system_failure',
                                                                'tls.handshake_failed',
                                                                'endpoint.unreachable'],
                                                   'params': {'detail': {'list': [{'key': 'dns.system_failure',
                                                                                   'params': {'names': {'list': ['openapi.alipay.com'],
                                                                                                        'sep': 'list_sep'}}}],
                                                                         'sep': 'sentence_sep'}},
                                                   'remedy_keys': ['set_dns', 'router_dns', 'switch_network']}],
                                       'summary': {'verdict': 'Most likely cause: Name lookups (DNS) are failing or '
                                                              'wrong.',
                                                   'verdict_code': 'cause',
                                                   'network_ok': False,
                                                   'top_cause': 'dns_problem',
                                                   'next_steps_intro': '',
                                                   'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                          {'check': 'dns'},
                                                                                          {'check': 'tls'},
                                                                                          {'check': 'clock'},
                                                                                          {'check': 'endpoints'}],
                                                                                 'sep': 'list_sep'},
                                                                      'missing': {'list': [], 'sep': 'list_sep'}},
                                                   'ruled_out_keys': ['connectivity', 'clock'],
                                                   'next_step_keys': ['follow_remedies']}},
 'system_resolver_servfail_one_name_as_evidence': {'causes': [{'code': 'dns_problem',
                                                               'severity': 'fail',
                                                               'confidence': 'high',
                                                               'title': 'Name lookups (DNS) are failing or wrong',
                                                               'findings': ['dns.system_failure'],
                                                               'params': {'detail': {'list': [{'key': 'dns.system_failure',
                                                                                               'params': {'names': {'list': ['openapi.alipay.com'],
                                                                                                                    'sep': 'list_sep'}}}],
                                                                                     'sep': 'sentence_sep'}},
                                                               'remedy_keys': ['set_dns',
                                                                               'router_dns',
                                                                               'switch_network']}],
                                                   'summary': {'verdict': 'Most likely cause: Name lookups (DNS) are '
                                                                          'failing or wrong.',
                                                               'verdict_code': 'cause',
                                                               'network_ok': False,
                                                               'top_cause': 'dns_problem',
                                                               'next_steps_intro': '',
                                                               'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                      {'check': 'dns'},
                                                                                                      {'check': 'tls'},
                                                                                                      {'check': 'clock'},
                                                                                                      {'check': 'endpoints'}],
                                                                                             'sep': 'list_sep'},
                                                                                  'missing': {'list': [],
                                                                                              'sep': 'list_sep'}},
                                                               'ruled_out_keys': ['connectivity',
                                                                                  'tls',
                                                                                  'clock',
                                                                                  'endpoints'],
                                                               'next_step_keys': ['follow_remedies']}},
 'tls_fails_where_the_endpoint_works': {'causes': [{'code': 'inconclusive',
                                                    'severity': 'info',
                                                    'confidence': 'low',
                                                    'title': 'No clear network cause',
                                                    'findings': ['tls.handshake_failed'],
                                                    'params': {'detail': {'key': 'inconclusive.conflict',
                                                                          'params': {'conflicts': {'list': [{'key': 'conflict.tls_vs_endpoints',
                                                                                                             'params': {'target': 'openapi.alipay.com',
                                                                                                                        'failure': 'connection_reset',
                                                                                                                        'other': {'list': [{'endpoint': 'Alipay '
                                                                                                                                                        'OpenAPI'}],
                                                                                                                                  'sep': 'list_sep'}}}],
                                                                                                   'sep': 'sentence_sep'}}}},
                                                    'remedy_keys': ['switch_network',
                                                                    'app_update_cache',
                                                                    'contact_support']}],
                                        'summary': {'verdict': 'No clear network cause was found.',
                                                    'verdict_code': 'inconclusive',
                                                    'network_ok': False,
                                                    'top_cause': None,
                                                    'next_steps_intro': 'A network probe cannot see these; check '
                                                                        'them next:',
                                                    'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                           {'check': 'dns'},
                                                                                           {'check': 'tls'},
                                                                                           {'check': 'clock'},
                                                                                           {'check': 'endpoints'}],
                                                                                  'sep': 'list_sep'},
                                                                       'missing': {'list': [], 'sep': 'list_sep'}},
                                                    'ruled_out_keys': ['connectivity', 'dns', 'clock', 'endpoints'],
                                                    'next_step_keys': ['real_name',
                                                                       'limits',
                                                                       'restriction',
                                                                       'bank_risk',
                                                                       'app_outdated',
                                                                       'contact']}},
 'tls_slow_on_two_hosts_of_one_provider': {'causes': [{'code': 'network_unstable',
                                                       'severity': 'warn',
                                                       'confidence': 'medium',
                                                       'title': 'The connection is slow or unstable',
                                                       'findings': ['tls.slow'],
                                                       'params': {'detail': {'key': 'unstable.prefix',
                                                                             'params': {'items': {'list': [{'key': 'unstable.tls_slow',
                                                                                                            'params': {}}],
                                                                                                  'sep': 'clause_sep'}}}},
                                                       'remedy_keys': ['switch_network',
                                                                       'close_background',
                                                                       'retry_later']}],
                                           'summary': {'verdict': 'Most likely cause: The connection is slow or '
                                                                  'unstable.',
                                                       'verdict_code': 'cause',
                                                       'network_ok': False,
                                                       'top_cause': 'network_unstable',
                                                       'next_steps_intro': '',
                                                       'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                              {'check': 'endpoints'},
                                                                                              {'check': 'tls'}],
                                                                                     'sep': 'list_sep'},
                                                                          'missing': {'list': [{'check': 'dns'},
                                                                                               {'check': 'clock'}],
                                                                                      'sep': 'list_sep'}},
                                                       'ruled_out_keys': ['connectivity', 'endpoints'],
                                                       'next_step_keys': ['follow_remedies']}},
 'tls_slow_on_two_providers': {'causes': [{'code': 'network_unstable',
                                           'severity': 'warn',
                                           'confidence': 'medium',
                                           'title': 'The connection is slow or unstable',
                                           'findings': ['tls.slow'],
                                           'params': {'detail': {'key': 'unstable.prefix',
                                                                 'params': {'items': {'list': [{'key': 'unstable.tls_slow',
                                                                                                'params': {}}],
                                                                                      'sep': 'clause_sep'}}}},
                                           'remedy_keys': ['switch_network', 'close_background', 'retry_later']}],
                               'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                                           'verdict_code': 'cause',
                                           'network_ok': False,
                                           'top_cause': 'network_unstable',
                                           'next_steps_intro': '',
                                           'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                  {'check': 'endpoints'},
                                                                                  {'check': 'tls'}],
                                                                         'sep': 'list_sep'},
                                                              'missing': {'list': [{'check': 'dns'},
                                                                                   {'check': 'clock'}],
                                                                          'sep': 'list_sep'}},
                                           'ruled_out_keys': ['connectivity', 'endpoints'],
                                           'next_step_keys': ['follow_remedies']}},
 'two_certs_expired_by_the_reference_clock': {'causes': [{'code': 'inconclusive',
                                                          'severity': 'info',
                                                          'confidence': 'low',
                                                          'title': 'No clear network cause',
                                                          'findings': ['tls.expired', 'endpoint.unreachable'],
                                                          'params': {'detail': {'key': 'inconclusive.conflict',
                                                                                'params': {'conflicts': {'list': [{'key': 'conflict.dates',
                                                                                                                   'params': {'state': {'key': 'tls.expired',
                                                                                                                                        'params': {}},
                                                                                                                              'names': {'list': ['api.stripe.com',
                                                                                                                                                 'gateway.95516.com'],
                                                                                                                                        'sep': 'list_sep'},
                                                                                                                              'offset': {'duration_s': 0.02}}}],
                                                                                                         'sep': 'sentence_sep'}}}},
                                                          'remedy_keys': ['switch_network',
                                                                          'app_update_cache',
                                                                          'contact_support']}],
                                              'summary': {'verdict': 'No clear network cause was found.',
                                                          'verdict_code': 'inconclusive',
                                                          'network_ok': False,
                                                          'top_cause': None,
                                                          'next_steps_intro': 'A network probe cannot see these; '
                                                                              'check them next:',
                                                          'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                 {'check': 'dns'},
                                                                                                 {'check': 'tls'},
                                                                                                 {'check': 'clock'},
                                                                                                 {'check': 'endpoints'}],
                                                                                        'sep': 'list_sep'},
                                                                             'missing': {'list': [],
                                                                                         'sep': 'list_sep'}},
                                                          'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                                          'next_step_keys': ['real_name',
                                                                             'limits',
                                                                             'restriction',
                                                                             'bank_risk',
                                                                             'app_outdated',
                                                                             'contact']}},
 'untrusted_issuer_named_interceptor': {'causes': [{'code': 'proxy_vpn_interference',
                                                    'severity': 'fail',
                                                    'confidence': 'medium',
                                                    'title': 'A VPN or proxy is interfering',
                                                    'findings': ['tls.untrusted_issuer'],
                                                    'params': {'detail': {'list': [{'key': 'proxy.untrusted',
                                                                                    'params': {'count': 2,
                                                                                               'issuer': {'list': ['Charles '
                                                                                                                   'Proxy'],
                                                                                                          'sep': 'list_sep'}}}],
                                                                          'sep': 'sentence_sep'}},
                                                    'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']}],
                                        'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                                                    'verdict_code': 'cause',
                                                    'network_ok': False,
                                                    'top_cause': 'proxy_vpn_interference',
                                                    'next_steps_intro': '',
                                                    'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                           {'check': 'dns'},
                                                                                           {'check': 'tls'},
                                                                                           {'check': 'clock'},
                                                                                           {'check': 'endpoints'}],
                                                                                  'sep': 'list_sep'},
                                                                       'missing': {'list': [], 'sep': 'list_sep'}},
                                                    'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                                    'next_step_keys': ['follow_remedies']}},
 'untrusted_issuer_on_endpoints_only': {'causes': [{'code': 'proxy_vpn_interference',
                                                    'severity': 'fail',
                                                    'confidence': 'medium',
                                                    'title': 'A VPN or proxy is interfering',
                                                    'findings': [],
                                                    'params': {'detail': {'list': [{'key': 'proxy.untrusted',
                                                                                    'params': {'count': 4,
                                                                                               'issuer': '?'}}],
                                                                          'sep': 'sentence_sep'}},
                                                    'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']}],
                                        'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                                                    'verdict_code': 'cause',
                                                    'network_ok': False,
                                                    'top_cause': 'proxy_vpn_interference',
                                                    'next_steps_intro': '',
                                                    'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                           {'check': 'endpoints'}],
                                                                                  'sep': 'list_sep'},
                                                                       'missing': {'list': [{'check': 'dns'},
                                                                                            {'check': 'tls'},
                                                                                            {'check': 'clock'}],
                                                                                   'sep': 'list_sep'}},
                                                    'ruled_out_keys': ['connectivity'],
                                                    'next_step_keys': ['follow_remedies']}},
 'untrusted_issuer_on_two_providers': {'causes': [{'code': 'proxy_vpn_interference',
                                                   'severity': 'fail',
                                                   'confidence': 'medium',
                                                   'title': 'A VPN or proxy is interfering',
                                                   'findings': ['tls.untrusted_issuer'],
                                                   'params': {'detail': {'list': [{'key': 'proxy.untrusted',
                                                                                   'params': {'count': 4,
                                                                                              'issuer': {'list': ['CN=Charles '
                                                                                                                  'Proxy '
                                                                                                                  'CA'],
                                                                                                         'sep': 'list_sep'}}}],
                                                                         'sep': 'sentence_sep'}},
                                                   'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']}],
                                       'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                                                   'verdict_code': 'cause',
                                                   'network_ok': False,
                                                   'top_cause': 'proxy_vpn_interference',
                                                   'next_steps_intro': '',
                                                   'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                          {'check': 'dns'},
                                                                                          {'check': 'tls'},
                                                                                          {'check': 'clock'},
                                                                                          {'check': 'endpoints'}],
                                                                                 'sep': 'list_sep'},
                                                                      'missing': {'list': [], 'sep': 'list_sep'}},
                                                   'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                                   'next_step_keys': ['follow_remedies']}},
 'untrusted_issuer_with_local_proxy': {'causes': [{'code': 'proxy_vpn_interference',
                                                   'severity': 'fail',
                                                   'confidence': 'medium',
                                                   'title': 'A VPN or proxy is interfering',
                                                   'findings': ['tls.untrusted_issuer', 'proxy.local_listener'],
                                                   'params': {'detail': {'list': [{'key': 'proxy.untrusted',
                                                                                   'params': {'count': 2,
                                                                                              'issuer': {'list': ['CN=Charles '
                                                                                                                  'Proxy '
                                                                                                                  'CA'],
                                                                                                         'sep': 'list_sep'}}},
                                                                                  {'key': 'proxy.present',
                                                                                   'params': {'what': {'list': ['127.0.0.1:8888'],
                                                                                                       'sep': 'list_sep'}}}],
                                                                         'sep': 'sentence_sep'}},
                                                   'remedy_keys': ['vpn_off', 'remove_cert', 'close_background']}],
                                       'summary': {'verdict': 'Most likely cause: A VPN or proxy is interfering.',
                                                   'verdict_code': 'cause',
                                                   'network_ok': False,
                                                   'top_cause': 'proxy_vpn_interference',
                                                   'next_steps_intro': '',
                                                   'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                          {'check': 'dns'},
                                                                                          {'check': 'tls'},
                                                                                          {'check': 'clock'},
                                                                                          {'check': 'proxy'},
                                                                                          {'check': 'endpoints'}],
                                                                                 'sep': 'list_sep'},
                                                                      'missing': {'list': [], 'sep': 'list_sep'}},
                                                   'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                                   'next_step_keys': ['follow_remedies']}},
 'vpn_default_route_with_failing_endpoints': {'causes': [{'code': 'proxy_vpn_interference',
                                                          'severity': 'fail',
                                                          'confidence': 'medium',
                                                          'title': 'A VPN or proxy is interfering',
                                                          'findings': ['vpn.interface'],
                                                          'params': {'detail': {'key': 'proxy.failing',
                                                                                'params': {'what': {'list': ['tun0'],
                                                                                                    'sep': 'list_sep'}}}},
                                                          'remedy_keys': ['vpn_off',
                                                                          'remove_cert',
                                                                          'close_background']},
                                                         {'code': 'payment_service_outage',
                                                          'severity': 'fail',
                                                          'confidence': 'medium',
                                                          'title': 'UnionPay is not answering',
                                                          'findings': ['endpoint.unreachable'],
                                                          'target': 'unionpay',
                                                          'variant': 'down',
                                                          'params': {'provider': {'provider': 'unionpay'},
                                                                     'detail': {'list': [{'key': 'outage.item',
                                                                                          'params': {'where': {'list': [{'endpoint': 'UnionPay '
                                                                                                                                     'Gateway'}],
                                                                                                               'sep': 'list_sep'},
                                                                                                     'what': {'key': 'outage.reset',
                                                                                                              'params': {'failure': 'connection_reset',
                                                                                                                         'status': None}}}}],
                                                                                'sep': 'list_sep'},
                                                                     'clock_note': ''},
                                                          'remedy_keys': ['wait_retry',
                                                                          'other_method',
                                                                          'contact_support']}],
                                              'summary': {'verdict': 'Most likely cause: A VPN or proxy is '
                                                                     'interfering.',
                                                          'verdict_code': 'cause',
                                                          'network_ok': False,
                                                          'top_cause': 'proxy_vpn_interference',
                                                          'next_steps_intro': '',
                                                          'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                 {'check': 'proxy'},
                                                                                                 {'check': 'endpoints'}],
                                                                                        'sep': 'list_sep'},
                                                                             'missing': {'list': [{'check': 'dns'},
                                                                                                  {'check': 'tls'},
                                                                                                  {'check': 'clock'}],
                                                                                         'sep': 'list_sep'}},
                                                          'ruled_out_keys': ['connectivity', 'proxy'],
                                                          'next_step_keys': ['follow_remedies']}},
 'vpn_without_default_route_and_failing_endpoints': {'causes': [{'code': 'payment_service_outage',
                                                                 'severity': 'fail',
                                                                 'confidence': 'medium',
                                                                 'title': 'UnionPay is not answering',
                                                                 'findings': ['endpoint.unreachable'],
                                                                 'target': 'unionpay',
                                                                 'variant': 'down',
                                                                 'params': {'provider': {'provider': 'unionpay'},
                                                                            'detail': {'list': [{'key': 'outage.item',
                                                                                                 'params': {'where': {'list': [{'endpoint': 'UnionPay '
                                                                                                                                            'Gateway'}],
                                                                                                                      'sep': 'list_sep'},
                                                                                                            'what': {'key': 'outage.reset',
                                                                                                                     'params': {'failure': 'connection_reset',
                                                                                                                                'status': None}}}}],
                                                                                       'sep': 'list_sep'},
                                                                            'clock_note': ''},
                                                                 'remedy_keys': ['wait_retry',
                                                                                 'other_method',
                                                                                 'contact_support']}],
                                                     'summary': {'verdict': 'Most likely cause: UnionPay is not '
                                                                            'answering.',
                                                                 'verdict_code': 'cause',
                                                                 'network_ok': False,
                                                                 'top_cause': 'payment_service_outage',
                                                                 'next_steps_intro': '',
                                                                 'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                        {'check': 'proxy'},
                                                                                                        {'check': 'endpoints'}],
                                                                                               'sep': 'list_sep'},
                                                                                    'missing': {'list': [{'check': 'dns'},
                                                                                                         {'check': 'tls'},
                                                                                                         {'check': 'clock'}],
                                                                                                'sep': 'list_sep'}},
                                                                 'ruled_out_keys': ['connectivity', 'proxy'],
                                                                 'next_step_keys': ['follow_remedies']}},
 'weak_cellular_signal_only': {'causes': [{'code': 'network_unstable',
                                           'severity': 'warn',
                                           'confidence': 'medium',
                                           'title': 'The connection is slow or unstable',
                                           'findings': ['net.weak_signal'],
                                           'params': {'detail': {'key': 'unstable.prefix',
                                                                 'params': {'items': {'list': [{'key': 'unstable.weak_signal',
                                                                                                'params': {'target': {'key': 'radio.cellular',
                                                                                                                      'params': {}},
                                                                                                           'value': {'number': -110.0,
                                                                                                                     'unit': 'dBm'}}}],
                                                                                      'sep': 'clause_sep'}}}},
                                           'remedy_keys': ['switch_network', 'close_background', 'retry_later']}],
                               'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                                           'verdict_code': 'cause',
                                           'network_ok': False,
                                           'top_cause': 'network_unstable',
                                           'next_steps_intro': '',
                                           'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                  {'check': 'endpoints'}],
                                                                         'sep': 'list_sep'},
                                                              'missing': {'list': [{'check': 'dns'},
                                                                                   {'check': 'tls'},
                                                                                   {'check': 'clock'}],
                                                                          'sep': 'list_sep'}},
                                           'ruled_out_keys': ['endpoints'],
                                           'next_step_keys': ['follow_remedies']}},
 'weak_signal_and_loss': {'causes': [{'code': 'network_unstable',
                                      'severity': 'warn',
                                      'confidence': 'high',
                                      'title': 'The connection is slow or unstable',
                                      'findings': ['endpoint.loss', 'net.weak_signal'],
                                      'params': {'detail': {'key': 'unstable.prefix',
                                                            'params': {'items': {'list': [{'key': 'unstable.loss',
                                                                                           'params': {'value': {'number': 40,
                                                                                                                'unit': '%'}}},
                                                                                          {'key': 'unstable.weak_signal',
                                                                                           'params': {'target': {'key': 'radio.wifi',
                                                                                                                 'params': {}},
                                                                                                      'value': {'number': -82.0,
                                                                                                                'unit': 'dBm'}}}],
                                                                                 'sep': 'clause_sep'}}}},
                                      'remedy_keys': ['switch_network', 'close_background', 'retry_later']}],
                          'summary': {'verdict': 'Most likely cause: The connection is slow or unstable.',
                                      'verdict_code': 'cause',
                                      'network_ok': False,
                                      'top_cause': 'network_unstable',
                                      'next_steps_intro': '',
                                      'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                             {'check': 'endpoints'}],
                                                                    'sep': 'list_sep'},
                                                         'missing': {'list': [{'check': 'dns'},
                                                                              {'check': 'tls'},
                                                                              {'check': 'clock'}],
                                                                     'sep': 'list_sep'}},
                                      'ruled_out_keys': [],
                                      'next_step_keys': ['follow_remedies']}}}

PLACES_OF_A_LOSSY_RUN = [('connectivity', 'http://connect.rom.miui.com/generate_204', '', {'ok': 1}, []),
 ('connectivity', 'http://www.qualcomm.cn/generate_204', '', {'lossy': 1}, ['generic_timeout']),
 ('connectivity', 'http://connectivitycheck.gstatic.com/generate_204', '', {'ok': 1}, []),
 # the system resolver timed out on UnionPay's name in the dns check and answered it for the
 # TLS check: one lookup lost on the way (reports/evidence.py _mark_intermittent)
 ('dns', 'system', '', {'ok': 5, 'lossy': 1}, ['dns_timeout']),
 ('dns', 'AliDNS', '', {'ok': 4, 'lossy': 1}, ['dns_timeout']),
 ('dns', 'DNSPod', '', {'ok': 4, 'lossy': 1}, ['dns_timeout']),
 ('tls', 'openapi.alipay.com', 'alipay', {'ok': 1}, []),
 ('tls', 'api.mch.weixin.qq.com', 'wechatpay', {'ok': 1}, []),
 ('tls', 'api.wechatpay.cn', 'wechatpay', {'ok': 1}, []),
 ('tls', 'gateway.95516.com', 'unionpay', {'ok': 1}, []),
 ('tls', 'api.stripe.com', 'stripe', {'dns_hard': 1}, ['dns_nxdomain']),
 ('clock', 'ntp.aliyun.com', '', {'ok': 1}, []),
 ('clock', '203.107.6.88', '', {'ok': 1}, []),
 ('endpoints', 'Alipay OpenAPI', 'alipay', {'ok': 3, 'lossy': 1}, ['generic_timeout']),
 ('endpoints', 'WeChat Pay API', 'wechatpay', {'ok': 2, 'lossy': 2}, ['generic_timeout', 'generic_timeout']),
 ('endpoints', 'WeChat Pay API v3', 'wechatpay', {'ok': 3, 'lossy': 1}, ['generic_timeout']),
 ('endpoints',
  'UnionPay Gateway',
  'unionpay',
  {'ok': 1, 'lossy': 2, 'cut': 1},
  ['generic_timeout', 'generic_timeout', 'generic_timeout']),
 ('endpoints', 'Stripe API', 'stripe', {'dns_hard': 1}, ['dns_nxdomain'])]

EXPECTED_ZH: dict[str, dict[str, Any]] = {'every_check_fine': {'causes': [],
                      'summary': {'verdict': '您的网络没有问题：互联网连接、DNS、安全连接、手机时间和支付服务都检查正常。这次支付失败很可能不是网络造成的。',
                                  'verdict_code': 'network_ok',
                                  'network_ok': True,
                                  'top_cause': None,
                                  'ruled_out': ['互联网连接正常（没有 Wi-Fi 登录页拦截）。',
                                                '域名解析（DNS）正常，没有被篡改。',
                                                '安全连接没有被拦截。',
                                                '手机时间准确。',
                                                '没有 VPN 或代理干扰。',
                                                '支付服务可以访问，速度正常。',
                                                '手机内存、存储空间和电量充足。'],
                                  'next_steps_intro': '以下情况网络检测看不到，请接着检查：',
                                  'next_steps': ['实名认证：钱包里的姓名和身份证信息要与银行卡一致；确认认证已完成、没有过期。',
                                                 '钱包和银行卡的单笔限额、单日限额，以及余额。',
                                                 'App（抖音、支付宝、微信）里是否有账号或支付功能受限的通知；如有，请按提示申诉或补充资料。',
                                                 '银行风控可能拦截了这笔支付：请联系发卡银行询问原因，并确认能收到银行的短信验证码。',
                                                 'App 版本过旧或缓存过期：更新 App、清理缓存，并在支付宝或微信的授权管理中重新授权。',
                                                 '如果仍然失败，请带上这份报告联系支付宝、微信支付、抖音支付或发卡银行。'],
                                  'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                         {'check': 'endpoints'},
                                                                         {'check': 'dns'},
                                                                         {'check': 'tls'},
                                                                         {'check': 'clock'},
                                                                         {'check': 'proxy'},
                                                                         {'check': 'device'}],
                                                                'sep': 'list_sep'},
                                                     'missing': {'list': [], 'sep': 'list_sep'}},
                                  'ruled_out_keys': ['connectivity',
                                                     'dns',
                                                     'tls',
                                                     'clock',
                                                     'proxy',
                                                     'endpoints',
                                                     'device'],
                                  'next_step_keys': ['real_name',
                                                     'limits',
                                                     'restriction',
                                                     'bank_risk',
                                                     'app_outdated',
                                                     'contact']}},
 'one_provider_answers_503': {'causes': [{'code': 'payment_service_outage',
                                          'severity': 'fail',
                                          'confidence': 'high',
                                          'title': '支付宝响应慢或过载',
                                          'explanation': '支付宝有响应，但很慢或返回「繁忙」错误（支付宝开放平台：繁忙（HTTP '
                                                         '503）），而其他支付服务响应迅速。它的服务器过载（大促高峰、系统维护），支付可能超时或延迟；这不是您的网络的问题。',
                                          'remedies': ['支付服务现在很忙或很慢（大促高峰或系统维护）：请等几分钟再试。再次付款前，请先查看订单或账单：超时的付款可能其实已经成功。',
                                                       '在此期间，可以换一种支付方式（其他钱包、银行卡或余额）。',
                                                       '联系支付宝、微信支付、抖音支付或发卡银行的客服，并把这份报告（支持包）提供给对方。'],
                                          'findings': ['endpoint.http_error'],
                                          'target': 'alipay',
                                          'variant': 'slow',
                                          'params': {'provider': {'provider': 'alipay'},
                                                     'detail': {'list': [{'key': 'outage.item',
                                                                          'params': {'where': {'list': [{'endpoint': 'Alipay '
                                                                                                                     'OpenAPI'}],
                                                                                               'sep': 'list_sep'},
                                                                                     'what': {'key': 'outage.overloaded',
                                                                                              'params': {'failure': 'http_status_5xx',
                                                                                                         'status': 503}}}}],
                                                                'sep': 'list_sep'},
                                                     'clock_note': ''},
                                          'remedy_keys': ['wait_busy', 'other_method', 'contact_support']}],
                              'summary': {'verdict': '最可能的原因：支付宝响应慢或过载。',
                                          'verdict_code': 'cause',
                                          'network_ok': False,
                                          'top_cause': 'payment_service_outage',
                                          'ruled_out': ['互联网连接正常（没有 Wi-Fi 登录页拦截）。',
                                                        '域名解析（DNS）正常，没有被篡改。',
                                                        '安全连接没有被拦截。',
                                                        '手机时间准确。'],
                                          'next_steps_intro': '',
                                          'next_steps': ['先按首要原因下的步骤处理，再重新支付。如果仍然失败，请带上这份报告联系支付宝、微信支付、抖音支付或发卡银行。'],
                                          'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                 {'check': 'dns'},
                                                                                 {'check': 'tls'},
                                                                                 {'check': 'clock'},
                                                                                 {'check': 'endpoints'}],
                                                                        'sep': 'list_sep'},
                                                             'missing': {'list': [], 'sep': 'list_sep'}},
                                          'ruled_out_keys': ['connectivity', 'dns', 'tls', 'clock'],
                                          'next_step_keys': ['follow_remedies']}},
 'one_of_two_endpoints_of_a_provider_down': {'causes': [{'code': 'inconclusive',
                                                         'severity': 'info',
                                                         'confidence': 'low',
                                                         'title': '没有明确的网络原因',
                                                         'explanation': '证据互相矛盾：TLS 检查在 api.mch.weixin.qq.com '
                                                                        '上发现问题（generic_timeout），但接口检查能访问该服务商（微信支付 API '
                                                                        'v3）。微信支付 API '
                                                                        '失败（generic_timeout），而同一服务商的微信支付 API v3 '
                                                                        '正常。现有证据不能指向某一个原因，所以本报告不做猜测。',
                                                         'remedies': ['在 Wi-Fi 和移动数据之间切换，或换到信号更好的地方，然后重新支付。',
                                                                      '把支付相关 App（抖音、支付宝、微信）更新到最新版本并清理缓存；然后重启 '
                                                                      'App，必要时重启手机。',
                                                                      '联系支付宝、微信支付、抖音支付或发卡银行的客服，并把这份报告（支持包）提供给对方。'],
                                                         'findings': ['tls.handshake_failed', 'endpoint.unreachable'],
                                                         'params': {'detail': {'key': 'inconclusive.conflict',
                                                                               'params': {'conflicts': {'list': [{'key': 'conflict.tls_vs_endpoints',
                                                                                                                  'params': {'target': 'api.mch.weixin.qq.com',
                                                                                                                             'failure': 'generic_timeout',
                                                                                                                             'other': {'list': [{'endpoint': 'WeChat '
                                                                                                                                                             'Pay '
                                                                                                                                                             'API '
                                                                                                                                                             'v3'}],
                                                                                                                                       'sep': 'list_sep'}}},
                                                                                                                 {'key': 'conflict.same_provider',
                                                                                                                  'params': {'target': {'endpoint': 'WeChat '
                                                                                                                                                    'Pay '
                                                                                                                                                    'API'},
                                                                                                                             'failure': 'generic_timeout',
                                                                                                                             'other': {'list': [{'endpoint': 'WeChat '
                                                                                                                                                             'Pay '
                                                                                                                                                             'API '
                                                                                                                                                             'v3'}],
                                                                                                                                       'sep': 'list_sep'}}}],
                                                                                                        'sep': 'sentence_sep'}}}},
                                                         'remedy_keys': ['switch_network',
                                                                         'app_update_cache',
                                                                         'contact_support']}],
                                             'summary': {'verdict': '没有找到明确的网络原因。',
                                                         'verdict_code': 'inconclusive',
                                                         'network_ok': False,
                                                         'top_cause': None,
                                                         'ruled_out': ['互联网连接正常（没有 Wi-Fi 登录页拦截）。',
                                                                       '域名解析（DNS）正常，没有被篡改。',
                                                                       '手机时间准确。'],
                                                         'next_steps_intro': '以下情况网络检测看不到，请接着检查：',
                                                         'next_steps': ['实名认证：钱包里的姓名和身份证信息要与银行卡一致；确认认证已完成、没有过期。',
                                                                        '钱包和银行卡的单笔限额、单日限额，以及余额。',
                                                                        'App（抖音、支付宝、微信）里是否有账号或支付功能受限的通知；如有，请按提示申诉或补充资料。',
                                                                        '银行风控可能拦截了这笔支付：请联系发卡银行询问原因，并确认能收到银行的短信验证码。',
                                                                        'App 版本过旧或缓存过期：更新 '
                                                                        'App、清理缓存，并在支付宝或微信的授权管理中重新授权。',
                                                                        '如果仍然失败，请带上这份报告联系支付宝、微信支付、抖音支付或发卡银行。'],
                                                         'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                                                {'check': 'dns'},
                                                                                                {'check': 'tls'},
                                                                                                {'check': 'clock'},
                                                                                                {'check': 'endpoints'}],
                                                                                       'sep': 'list_sep'},
                                                                            'missing': {'list': [],
                                                                                        'sep': 'list_sep'}},
                                                         'ruled_out_keys': ['connectivity', 'dns', 'clock'],
                                                         'next_step_keys': ['real_name',
                                                                            'limits',
                                                                            'restriction',
                                                                            'bank_risk',
                                                                            'app_outdated',
                                                                            'contact']}},
 'clock_far_behind': {'causes': [{'code': 'clock_wrong',
                                  'severity': 'fail',
                                  'confidence': 'high',
                                  'title': '手机时间不准',
                                  'explanation': '手机时间慢了 67 分钟。支付签名和验证码只在很短的时间内有效，时间不准会导致支付失败。',
                                  'remedies': ['打开自动设置日期和时间：在设置中搜索「日期和时间」，打开「自动设置」，并确认时区正确。'],
                                  'findings': ['clock.skew'],
                                  'params': {'offset': {'key': 'clock.behind',
                                                        'params': {'amount': {'duration_s': 4000.0}}},
                                             'tls_detail': ''},
                                  'remedy_keys': ['auto_time']}],
                      'summary': {'verdict': '最可能的原因：手机时间不准。',
                                  'verdict_code': 'cause',
                                  'network_ok': False,
                                  'top_cause': 'clock_wrong',
                                  'ruled_out': ['互联网连接正常（没有 Wi-Fi 登录页拦截）。',
                                                '域名解析（DNS）正常，没有被篡改。',
                                                '安全连接没有被拦截。',
                                                '支付服务可以访问，速度正常。'],
                                  'next_steps_intro': '',
                                  'next_steps': ['先按首要原因下的步骤处理，再重新支付。如果仍然失败，请带上这份报告联系支付宝、微信支付、抖音支付或发卡银行。'],
                                  'verdict_params': {'checks': {'list': [{'check': 'connectivity'},
                                                                         {'check': 'dns'},
                                                                         {'check': 'tls'},
                                                                         {'check': 'clock'},
                                                                         {'check': 'endpoints'}],
                                                                'sep': 'list_sep'},
                                                     'missing': {'list': [], 'sep': 'list_sep'}},
                                  'ruled_out_keys': ['connectivity', 'dns', 'tls', 'endpoints'],
                                  'next_step_keys': ['follow_remedies']}},
 'nothing_measured': {'causes': [{'code': 'inconclusive',
                                  'severity': 'info',
                                  'confidence': 'low',
                                  'title': '没有明确的网络原因',
                                  'explanation': '检查未能测得足够的信息来判断。现有证据不能指向某一个原因，所以本报告不做猜测。',
                                  'remedies': ['在 Wi-Fi 和移动数据之间切换，或换到信号更好的地方，然后重新支付。',
                                               '把支付相关 App（抖音、支付宝、微信）更新到最新版本并清理缓存；然后重启 App，必要时重启手机。',
                                               '联系支付宝、微信支付、抖音支付或发卡银行的客服，并把这份报告（支持包）提供给对方。'],
                                  'findings': [],
                                  'params': {'detail': {'key': 'inconclusive.unmeasured', 'params': {}}},
                                  'remedy_keys': ['switch_network', 'app_update_cache', 'contact_support']}],
                      'summary': {'verdict': '检查未能运行，无法判断网络情况。',
                                  'verdict_code': 'unknown',
                                  'network_ok': False,
                                  'top_cause': None,
                                  'ruled_out': [],
                                  'next_steps_intro': '',
                                  'next_steps': ['如果仍然失败，请带上这份报告联系支付宝、微信支付、抖音支付或发卡银行。'],
                                  'verdict_params': {'checks': {'list': [], 'sep': 'list_sep'},
                                                     'missing': {'list': [{'check': 'connectivity'},
                                                                          {'check': 'dns'},
                                                                          {'check': 'tls'},
                                                                          {'check': 'clock'},
                                                                          {'check': 'endpoints'}],
                                                                 'sep': 'list_sep'}},
                                  'ruled_out_keys': [],
                                  'next_step_keys': ['contact']}}}
