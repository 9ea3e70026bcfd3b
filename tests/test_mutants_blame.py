"""Who is blamed and what conflicts, where the scenarios of test_mutants_diagnosis.py do
not reach (mutation testing of reports/blame.py and reports/conflicts.py, docs/mutation.md).

Almost every run there measures all five endpoints with the TLS check beside them, so some rows
of the blame never decide anything: the TLS hosts that verified count only for providers
the endpoints check did not measure, a note (``info``) or a date wrong only by the
reference clock never meets a provider with nothing else working, and three providers'
edges losing packets are always most of the providers. And ``inconclusive`` never says
that an endpoint fails while the TLS check reached its provider's host, nor names more
than the one sibling WeChat Pay has. The runs below are the field's own: only the TLS
check ran, only one provider is configured, a provider has four endpoints, seven
providers are configured, an endpoints check names no provider in its evidence. Each
test reads the whole diagnosis (codes, who is blamed, the wording), not the helpers.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from payprobe.reports.diagnosis import diagnose
from payprobe.settings import Endpoint, Settings

from tests.diagnosis_runs import HOST, SETTINGS, Run, finding
from tests.test_diagnosis_path import hop, path_check

Causes = list[dict[str, Any]]
# Providers a merchant may configure beside the five built-in endpoints: (name, provider, host).
MORE = (("PayPal API", "paypal", "api.paypal.com"), ("Adyen API", "adyen", "checkout.adyen.com"),
        ("Square API", "square", "connect.squareup.com"))
INCONCLUSIVE = "The evidence conflicts: {} The evidence does not point at one cause, so this report does not guess."


def _diagnose(checks: list[dict[str, Any]], settings: Settings = SETTINGS, lang: str = "en") -> tuple[Causes, str]:
    causes, summary = diagnose(checks, lang=lang, settings=settings)  # type: ignore[arg-type]
    return cast(Causes, list(causes)), str(summary["verdict_code"])


def _said(causes: Causes) -> list[tuple[Any, ...]]:
    """What a cause says: code, whom it blames, which wording, how sure, and the text."""
    return [(c["code"], c.get("target"), c.get("variant"), c["severity"], c["confidence"], c["explanation"])
            for c in causes]


def _without(run: Run, *names: str) -> list[dict[str, Any]]:
    """The run's checks, except those that did not run."""
    return [c for c in run.checks() if c["name"] not in names]


def _only(run: Run, *endpoints: str, skipped: tuple[str, ...] = ()) -> tuple[list[dict[str, Any]], Settings]:
    """The run of a config that lists only ``endpoints`` (the TLS check then tries only their hosts)."""
    hosts = {HOST[name] for name in endpoints}
    checks = []
    for c in _without(run, *skipped):
        if c["name"] == "endpoints":
            c = {**c, "evidence": [e for e in c["evidence"] if e.get("endpoint") in endpoints],
                 "findings": [f for f in c["findings"] if f["target"] in endpoints]}
        elif c["name"] == "tls":
            c = {**c, "evidence": [e for e in c["evidence"] if e.get("target") in hosts],
                 "findings": [f for f in c["findings"] if f["target"] in hosts]}
        checks.append(c)
    return checks, Settings(endpoints=[e for e in SETTINGS.endpoints if e.name in endpoints])


def _more(checks: list[dict[str, Any]], *more: tuple[str, str, str]) -> tuple[list[dict[str, Any]], Settings]:
    """The run of a config with more endpoints, ``(name, provider, host)``, each answering at once."""
    for c in checks:
        if c["name"] == "endpoints":
            c["evidence"] = c["evidence"] + [{"what": "endpoint", "endpoint": name, "provider": provider,
                                              "group": "intl", "ok": True, "failure": None, "http_status": 200}
                                             for name, provider, _ in more]
    return checks, Settings(endpoints=[*SETTINGS.endpoints,
                                       *(Endpoint(name, f"https://{host}/", provider) for name, provider, host in more)])


# ------------------------------------------------------------------ only the TLS check ran


@pytest.mark.parametrize("name, expected", [
    ("Stripe API", [("payment_service_outage", "stripe", "certificate", "fail", "high",
                     "Secure connections to Stripe fail on its certificate (api.stripe.com: certificate expired on "
                     "2024-01-31) while other payment services verify fine. The phone's clock is right, so the "
                     "certificate really is out of date. The provider has to fix its certificate; nothing on your "
                     "phone fixes it safely.")]),
    # api.wechatpay.cn, WeChat Pay's other host, verified: the certificate is not the provider's fault.
    ("WeChat Pay API", [("inconclusive", None, None, "info", "low", INCONCLUSIVE.format(
        "Certificates look expired on api.mch.weixin.qq.com, but the phone's clock is right (off by 0 s)."))]),
])
def test_outage_when_only_the_tls_check_ran_blames_a_cert_only_when_none_of_the_providers_hosts_verify(
        name: str, expected: list[tuple[Any, ...]]) -> None:
    run = Run().cert(name, "tls.expired", not_after="2024-01-31T00:00:00Z", valid_by_reference_clock=False)
    causes, _ = _diagnose(_without(run, "endpoints"))
    assert _said(causes) == expected


@pytest.mark.parametrize("code, severity, data, expected", [
    ("tls.not_yet_valid", "warn", {"not_before": "2031-01-01T00:00:00Z", "valid_by_reference_clock": False},
     [("inconclusive", None, None, "info", "low", INCONCLUSIVE.format(
         "Certificates look not yet valid on api.stripe.com, but the phone's clock is right (off by 0 s)."))]),
    ("tls.expired", "warn", {"not_after": "2024-01-31T00:00:00Z", "valid_by_reference_clock": False},
     [("inconclusive", None, None, "info", "low", INCONCLUSIVE.format(
         "Certificates look expired on api.stripe.com, but the phone's clock is right (off by 0 s)."))]),
    ("tls.slow", "info", {"handshake_ms": 180.0}, []),
])
def test_no_outage_when_a_host_that_verified_has_a_note_or_a_date_wrong_only_by_the_reference_clock(
        code: str, severity: str, data: dict[str, Any], expected: list[tuple[Any, ...]]) -> None:
    run = Run()
    run.tls_findings.append(finding(code, severity, HOST["Stripe API"], **data))
    causes, verdict = _diagnose(_without(run, "endpoints"))
    assert _said(causes) == expected
    assert verdict == ("inconclusive" if expected else "nothing_found")


def test_outage_when_only_the_tls_check_ran_and_a_host_that_verified_is_slow_names_it_slow() -> None:
    run = Run()
    run.tls_findings.append(finding("tls.slow", "warn", HOST["Stripe API"], handshake_ms=950.0))
    causes, _ = _diagnose(_without(run, "endpoints"))
    assert _said(causes) == [("payment_service_outage", "stripe", "slow", "warn", "medium",
                              "Stripe answers, but slowly or with 'busy' errors (api.stripe.com: the secure "
                              "handshake takes 950 ms), while other payment services answer at once. Its servers "
                              "are overloaded (a sales peak, maintenance), so payments may time out or be "
                              "delayed; that is not your network.")]
    assert causes[0]["title"] == "Stripe is slow or overloaded" and causes[0]["findings"] == ["tls.slow"]


# ------------------------------------------------------------------ a slow endpoint does not work


@pytest.mark.parametrize("evidence_names_providers", [True, False])
def test_no_outage_when_every_other_provider_is_slow_whether_or_not_the_evidence_names_providers(
        evidence_names_providers: bool) -> None:
    """An older or third-party endpoints check may leave the provider out of its evidence
    items (each endpoint is then its own provider); its slow endpoints still do not count
    as other providers that work, so Stripe refusing is not blamed on Stripe."""
    run = Run().down("Stripe API", "connection_refused")
    for name in ("Alipay OpenAPI", "WeChat Pay API", "WeChat Pay API v3", "UnionPay Gateway"):
        run.eps[name].slow = ("ttfb", 1500.0)
    checks = _without(run, "tls")
    if not evidence_names_providers:
        for c in checks:
            if c["name"] == "endpoints":
                c["evidence"] = [{k: v for k, v in e.items() if k != "provider"} for e in c["evidence"]]
    causes, _ = _diagnose(checks)
    assert _said(causes) == [("network_unstable", None, None, "fail", "medium",
                              "The connection is unstable: 4 of 5 endpoints are slow. Payment requests can time "
                              "out or be lost on such a connection.")]


# ------------------------------------------------------------------ loss at many providers' edges


def test_network_unstable_when_three_of_seven_providers_lose_at_their_edge_blames_the_way_not_them() -> None:
    run = Run()
    run.other_checks.append(path_check([hop(name, "provider_edge", 8)
                                        for name in ("Alipay OpenAPI", "WeChat Pay API", "UnionPay Gateway")]))
    causes, _ = _diagnose(*_more(run.checks(), *MORE))
    assert _said(causes) == [("network_unstable", None, None, "warn", "medium",
                              "The connection is unstable: packets start to be lost where the way reaches several "
                              "payment services at once (Alipay, UnionPay, WeChat Pay): the internet provider's "
                              "link to them is the likelier cause. Payment requests can time out or be lost on "
                              "such a connection.")]


# ------------------------------------------------------------------ inconclusive: what conflicts


@pytest.mark.parametrize("failure", ["connection_refused", "protocol_error"])
def test_inconclusive_when_the_only_provider_fails_but_its_tls_host_verifies_says_so(failure: str) -> None:
    checks, settings = _only(Run().down("Stripe API", failure, phase="http"), "Stripe API")
    causes, verdict = _diagnose(checks, settings)
    assert _said(causes) == [("inconclusive", None, None, "info", "low", INCONCLUSIVE.format(
        f"Stripe API fails ({failure}), but the TLS check reached that provider's host."))]
    assert causes[0]["findings"] == ["endpoint.unreachable"] and verdict == "inconclusive"
    zh, _ = _diagnose(checks, settings, "zh")
    assert zh[0]["explanation"] == (f"证据互相矛盾：Stripe API 失败（{failure}），但 TLS 检查能访问该服务商的主机。"
                                    "现有证据不能指向某一个原因，所以本报告不做猜测。")


@pytest.mark.parametrize("tls_ran, conflict", [
    (True, "The evidence conflicts: WeChat Pay API v3 fails (connection_refused), but the TLS check reached "
           "that provider's host."),
    (False, "Some checks reported problems (endpoint.http_error, endpoint.unreachable), but they do not add up "
            "to a known cause."),
])
def test_inconclusive_when_the_only_provider_answers_502_and_refuses_says_the_tls_check_reached_it_only_if_it_ran(
        tls_ran: bool, conflict: str) -> None:
    run = Run().down("WeChat Pay API v3", "connection_refused")
    run.eps["WeChat Pay API"].status = 502
    checks, settings = _only(run, "WeChat Pay API", "WeChat Pay API v3", skipped=() if tls_ran else ("tls",))
    causes, _ = _diagnose(checks, settings)
    assert _said(causes) == [("inconclusive", None, None, "info", "low",
                              f"{conflict} The evidence does not point at one cause, so this report does not guess.")]


def test_inconclusive_when_a_provider_has_more_working_endpoints_names_two_of_them() -> None:
    more = [(f"WeChat Pay API v{n}", "wechatpay", f"api{n}.wechatpay.cn") for n in (4, 5)]
    checks, settings = _more(Run().down("WeChat Pay API", "connection_refused").checks(), *more)
    causes, _ = _diagnose(checks, settings)
    assert _said(causes) == [("inconclusive", None, None, "info", "low", INCONCLUSIVE.format(
        "The TLS check found a problem with api.mch.weixin.qq.com (connection_refused), but the endpoints check reached "
        "that provider (WeChat Pay API v3, WeChat Pay API v4). WeChat Pay API fails (connection_refused) while "
        "WeChat Pay API v3, WeChat Pay API v4 of the same provider works."))]
    zh, _ = _diagnose(checks, settings, "zh")
    assert zh[0]["explanation"] == (
        "证据互相矛盾：TLS 检查在 api.mch.weixin.qq.com 上发现问题（connection_refused），但接口检查能访问该服务商"
        "（微信支付 API v3、WeChat Pay API v4）。微信支付 API 失败（connection_refused），而同一服务商的微信支付 API v3、"
        "WeChat Pay API v4 正常。现有证据不能指向某一个原因，所以本报告不做猜测。")


def _stripe_named(name: str, tls_finding: dict[str, Any]) -> tuple[list[dict[str, Any]], Settings]:
    """A healthy run whose Stripe endpoint is called ``name``, with a TLS finding on its host."""
    run = Run()
    run.tls_findings.append(tls_finding)
    checks = run.checks()
    for check in checks:
        if check["name"] == "endpoints":
            for item in check["evidence"]:
                if item.get("endpoint") == "Stripe API":
                    item["endpoint"] = name
    settings = Settings(endpoints=[Endpoint(name if e.name == "Stripe API" else e.name, e.url, e.provider)
                                   for e in SETTINGS.endpoints])
    return checks, settings


@pytest.mark.parametrize("tls_finding", [
    finding("tls.slow", "warn", HOST["Stripe API"], handshake_ms=950.0, threshold_ms=800.0),
    finding("tls.hostname_mismatch", "fail", HOST["Stripe API"], failure="tls_hostname_mismatch"),
])
def test_blame_when_an_endpoint_is_named_like_its_host_diagnoses_as_under_any_other_name(tls_finding):
    # The working endpoint is not the failing TLS host because they share a name: Stripe
    # is not blamed while its endpoint works (it used to be, named "api.stripe.com").
    plain, plain_settings = _stripe_named("Stripe API", tls_finding)
    hosty, hosty_settings = _stripe_named(HOST["Stripe API"], tls_finding)
    plain_causes, _ = _diagnose(plain, plain_settings)
    hosty_causes, _ = _diagnose(hosty, hosty_settings)
    assert [c["code"] for c in hosty_causes] == [c["code"] for c in plain_causes]
    assert "payment_service_outage" not in [c["code"] for c in hosty_causes]
