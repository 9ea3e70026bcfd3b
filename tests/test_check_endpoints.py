"""endpoints check: in-process HTTP(S) servers on 127.0.0.1, payment names
mapped to 127.0.0.1 by monkeypatching payprobe.net.resolve (see test_check_tls)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from typing import Any

import pytest
import trustme
from payprobe import net, sources
from payprobe.api import Outcome
from payprobe.checks import _dualstack, _endpoint_measure
from payprobe.checks._endpoint_samples import EndpointResult, Sample
from payprobe.checks.endpoints import EndpointsCheck, jitter, percentile
from payprobe.engine.config import Endpoint, LatencyConfig, Settings
from payprobe.engine.registry import LoadedCheck
from payprobe.engine.runner import Runner

from tests.helpers import needs_ipv6_loopback
from tests.lab.results import by_target, run_check
from tests.tls_servers import (
    HOST,
    codes,
    finding,
    make_ctx,
    server_ctx,
    start,
)

HEALTHY = {"warn_ms": 60_000.0, "fail_ms": 120_000.0}


def settings_for(ca_file: str, endpoints: list[Endpoint], **latency: Any) -> Settings:
    latency.setdefault("samples", 3)
    latency.setdefault("icmp", False)
    for key, value in HEALTHY.items():
        latency.setdefault(key, value)
    return Settings(ca_file=ca_file, latency=LatencyConfig(**latency), endpoints=endpoints)


def ep(name: str, url: str, provider: str = "alipay", **kw: Any) -> Endpoint:
    return Endpoint(name=name, url=url, provider=provider, **kw)


def run_endpoints(settings: Settings, deadline_s: float = 5.0) -> Outcome:
    return EndpointsCheck().run(make_ctx(settings, "endpoints", deadline_s))


def metric(out: Outcome, name: str, endpoint: str, stat: str | None = None) -> float:
    """The unlabelled series (no ``ip_family``): what the endpoint's metric always meant."""
    for m in out.metrics:
        if (m.name == name and m.labels.get("endpoint") == endpoint and m.labels.get("stat") == stat
                and "ip_family" not in m.labels):
            return m.value
    raise AssertionError(f"no metric {name}{{endpoint={endpoint}, stat={stat}}}")


def items(out: Outcome) -> list[dict[str, Any]]:
    return [e for e in out.evidence if e.get("what") == "endpoint"]


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- pure helpers


def test_percentile_when_interpolating_matches_numpy_default():
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([5.0], 0.95) == 5.0
    assert percentile([0.0, 10.0], 0.95) == pytest.approx(9.5)


def test_jitter_is_mean_absolute_difference_of_consecutive_values():
    assert jitter([0.010, 0.030, 0.020]) == pytest.approx(0.015)
    assert jitter([0.010]) is None


# ---------------------------------------------------------------- healthy


def test_endpoints_when_healthy_204_reports_metrics_and_no_findings(ca, ca_file, servers,
                                                                    loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)), status=204)
    out = run_endpoints(settings_for(ca_file, [ep("Alipay OpenAPI",
                                                 f"https://{HOST}:{srv.port}/gateway.do")]))
    assert out.findings == []
    assert out.resolved_status() == "ok"
    for name in ("tcp_connect_seconds", "tls_handshake_seconds", "http_ttfb_seconds"):
        for stat in ("min", "p50", "p95", "max"):
            assert metric(out, name, "Alipay OpenAPI", stat) >= 0
        assert metric(out, name, "Alipay OpenAPI", "min") <= metric(out, name, "Alipay OpenAPI",
                                                                    "max")
    assert metric(out, "loss_ratio", "Alipay OpenAPI") == 0.0
    assert metric(out, "jitter_seconds", "Alipay OpenAPI") >= 0
    assert metric(out, "http_status", "Alipay OpenAPI") == 204
    assert items(out) == [{"what": "endpoint", "endpoint": "Alipay OpenAPI", "provider": "alipay",
                           "group": "cn", "ok": True, "failure": None, "http_status": 204}]
    # Three samples, each on a fresh connection, one HEAD each, one lookup in all.
    assert srv.connections == 3
    assert srv.requests == ["HEAD /gateway.do HTTP/1.1"] * 3
    assert loopback_dns == {HOST: 1}


def test_endpoints_when_method_get_sends_get_with_path_and_query(ca, ca_file, servers,
                                                                 loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)), status=200)
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/g.do?x=1",
                                                  method="GET")], samples=1))
    assert srv.requests == ["GET /g.do?x=1 HTTP/1.1"]
    assert items(out)[0]["http_status"] == 200 and items(out)[0]["ok"] is True
    assert "endpoint.http_error" not in codes(out)


def test_endpoints_when_plain_http_has_no_tls_metric(ca_file, servers, loopback_dns):
    srv = start(servers, status=204)
    out = run_endpoints(settings_for(ca_file, [ep("A", f"http://{HOST}:{srv.port}/")]))
    assert out.findings == []
    assert not [m for m in out.metrics if m.name == "tls_handshake_seconds"]
    assert metric(out, "http_ttfb_seconds", "A", "p50") >= 0


def test_endpoints_when_no_endpoints_is_skipped(ca_file):
    out = run_endpoints(settings_for(ca_file, []))
    assert out.status == "skipped"


# ---------------------------------------------------------------- http_error


@pytest.mark.parametrize("status", [503, 429])
def test_endpoints_when_server_answers_overloaded_status_reports_http_error(
        status, ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)), status=status)
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")]))
    f = finding(out, "endpoint.http_error")
    assert f.severity == "fail"
    assert f.data["http_status"] == status
    assert f.data["provider"] == "alipay"
    item = items(out)[0]
    assert item["ok"] is False and item["http_status"] == status
    assert item["failure"] == ("http_status_5xx" if status == 503 else "http_status_4xx")
    # The service answered: that is not loss and not unreachability.
    assert "endpoint.unreachable" not in codes(out) and "endpoint.loss" not in codes(out)


def test_endpoints_when_status_404_is_not_an_http_error(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)), status=404)
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")]))
    assert out.findings == []
    assert items(out)[0]["ok"] is True


# ---------------------------------------------------------------- unreachable


def test_endpoints_when_port_closed_reports_unreachable_refused(ca_file, loopback_dns):
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{closed_port()}/")]))
    f = finding(out, "endpoint.unreachable")
    assert f.severity == "fail"
    assert f.data["failure"] == "connection_refused"
    assert f.data["loss_ratio"] == 1.0
    assert metric(out, "loss_ratio", "A") == 1.0
    assert items(out)[0] == {"what": "endpoint", "endpoint": "A", "provider": "alipay",
                             "group": "cn", "ok": False, "failure": "connection_refused",
                             "http_status": None}
    assert "endpoint.loss" not in codes(out)   # unreachable says it already


def test_endpoints_when_no_name_resolves_records_not_measured_and_errors_without_findings(
        ca_file, loopback_dns):
    out = run_endpoints(settings_for(ca_file, [ep("A", "https://pay.invalid/"),
                                               ep("B", "https://pay2.invalid/", "wechatpay")]))
    # One fault, one finding per layer: the DNS check reports the names, not this one.
    assert out.findings == []
    assert [e for e in out.evidence if e["what"] == "not_measured"] == [
        {"what": "not_measured", "target": "A", "host": "pay.invalid",
         "reason": "name did not resolve", "failure": "dns_nxdomain"},
        {"what": "not_measured", "target": "B", "host": "pay2.invalid",
         "reason": "name did not resolve", "failure": "dns_nxdomain"}]
    # The diagnosis still sees each endpoint down, and why.
    assert [(i["endpoint"], i["ok"], i["failure"]) for i in items(out)] == [
        ("A", False, "dns_nxdomain"), ("B", False, "dns_nxdomain")]
    assert out.resolved_status() == "error" and out.error == "dns_nxdomain"
    assert "not measured" in out.summary
    assert "down:" not in out.summary     # nothing was measured: no provider is called down


def test_endpoints_when_one_name_does_not_resolve_warns_and_measures_the_others(
        ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/"),
                                               ep("B", "https://pay.invalid/", "wechatpay")]))
    assert out.findings == []
    # Not "ok": one endpoint was not looked at (an ok would rule the endpoints out).
    assert out.resolved_status() == "warn"
    assert {i["endpoint"]: i["ok"] for i in items(out)} == {"A": True, "B": False}
    assert [e["target"] for e in out.evidence if e["what"] == "not_measured"] == ["B"]


def test_endpoints_when_certificate_untrusted_records_tls_failure(servers, ca_file,
                                                                  loopback_dns):
    other = trustme.CA()
    srv = start(servers, ssl_ctx=server_ctx(other.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")]))
    f = finding(out, "endpoint.unreachable")
    assert f.data["failure"] == "tls_unknown_authority"
    assert f.data["phase"] == "tls"
    # The connect itself worked and was measured.
    assert metric(out, "tcp_connect_seconds", "A", "p50") >= 0


def test_endpoints_when_healthy_has_no_unreachable(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")]))
    assert "endpoint.unreachable" not in codes(out)


# ---------------------------------------------------------------- loss


def test_endpoints_loss_ratio_counts_failed_samples(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    srv.fail_first = 2                      # 2 of 4 connections closed at once
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")],
                                     samples=4, loss_warn_ratio=0.1, loss_fail_ratio=0.6))
    assert metric(out, "loss_ratio", "A") == 0.5
    f = finding(out, "endpoint.loss")
    assert f.severity == "warn" and f.data["loss_ratio"] == 0.5
    assert items(out)[0]["ok"] is True      # it still answers, badly
    samples = next(e for e in out.evidence if e["what"] == "endpoint_samples")["samples"]
    assert [s.get("failure") is None for s in samples] == [False, False, True, True]


def test_endpoints_when_loss_over_fail_ratio_fails(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    srv.fail_first = 3
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")],
                                     samples=4, loss_warn_ratio=0.1, loss_fail_ratio=0.5))
    assert metric(out, "loss_ratio", "A") == 0.75
    assert finding(out, "endpoint.loss").severity == "fail"


def test_endpoints_when_no_loss_no_loss_finding(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")],
                                     samples=4))
    assert metric(out, "loss_ratio", "A") == 0.0
    assert "endpoint.loss" not in codes(out)


# ---------------------------------------------------------------- slow


def test_endpoints_when_p50_over_warn_ms_warns_slow(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")],
                                     warn_ms=0.0, fail_ms=120_000.0))
    f = finding(out, "endpoint.slow")
    assert f.severity == "warn" and f.data["p50_ms"] is not None


def test_endpoints_when_p50_over_fail_ms_fails_slow(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")],
                                     warn_ms=0.0, fail_ms=0.0))
    assert finding(out, "endpoint.slow").severity == "fail"


def test_endpoints_when_fast_no_slow_finding(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")]))
    assert "endpoint.slow" not in codes(out)


# ---------------------------------------------------------------- stalls and deadlines


def test_endpoints_when_server_silent_ends_within_deadline_via_runner(ca, ca_file, servers,
                                                                      loopback_dns):
    silent = start(servers, mode="silent")
    good = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    settings = settings_for(ca_file, [ep("Silent", f"https://{HOST}:{silent.port}/"),
                                      ep("Good", f"https://{HOST}:{good.port}/", "wechatpay")])
    check = LoadedCheck(name="endpoints", target="payprobe.checks.endpoints:EndpointsCheck",
                        cls=EndpointsCheck, builtin=True)
    t0 = time.monotonic()
    run = Runner(settings, None).run([check], deadline_s=2.5)
    elapsed = time.monotonic() - t0
    (result,) = run.results
    # "fail", not "timeout": stalled samples were cut off and counted by the check itself.
    assert result.status == "fail", result.to_dict()
    silent_f = [f for f in result.findings if f.target == "Silent"]
    assert [f.code for f in silent_f] == ["endpoint.unreachable"]
    assert silent_f[0].data["failure"] == "generic_timeout"
    assert silent_f[0].data["loss_ratio"] == 1.0
    assert not [f for f in result.findings if f.target == "Good"]
    ok = {e["endpoint"]: e["ok"] for e in result.evidence if e.get("what") == "endpoint"}
    assert ok == {"Silent": False, "Good": True}
    assert elapsed < 2.5 + 1.5   # generous: the point is "not stuck"


def test_endpoints_when_server_dribbles_response_sample_is_cut_off(ca, ca_file, servers,
                                                                   loopback_dns):
    srv = start(servers, mode="slowloris", ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")],
                                     samples=2), deadline_s=2.5)
    f = finding(out, "endpoint.unreachable")
    assert f.data["failure"] == "generic_timeout"
    assert f.data["phase"] == "http"
    # Each sample got its own share of the time: both were attempted.
    assert srv.connections == 2


def test_endpoints_in_parallel_last_as_long_as_slowest_not_the_sum(ca_file, servers,
                                                                   loopback_dns):
    silents = [start(servers, mode="silent") for _ in range(4)]
    settings = settings_for(ca_file, [ep(f"S{i}", f"https://{HOST}:{s.port}/", f"p{i}")
                                      for i, s in enumerate(silents)], samples=1)
    check = LoadedCheck(name="endpoints", target="payprobe.checks.endpoints:EndpointsCheck",
                        cls=EndpointsCheck, builtin=True)
    (result,) = Runner(settings, None).run([check], deadline_s=2.0).results
    # Serially, four stalled endpoints could not all be measured within one deadline.
    assert result.status == "fail"
    assert sorted(f.target for f in result.findings) == ["S0", "S1", "S2", "S3"]
    assert {f.data["failure"] for f in result.findings} == {"generic_timeout"}


# ---------------------------------------------------------------- grouping and evidence


def test_endpoints_group_by_provider_when_one_provider_down(ca, ca_file, servers, loopback_dns):
    good = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    down = closed_port()
    settings = settings_for(ca_file, [
        ep("WeChat Pay API", f"https://{HOST}:{down}/", "wechatpay"),
        ep("Alipay OpenAPI", f"https://{HOST}:{good.port}/", "alipay"),
        ep("WeChat Pay API v3", f"https://{HOST}:{down}/v3", "wechatpay"),
        ep("Stripe API", f"https://{HOST}:{good.port}/", "stripe", group="intl"),
    ])
    out = run_endpoints(settings)
    rows = items(out)
    assert [r["provider"] for r in rows] == ["wechatpay", "wechatpay", "alipay", "stripe"]
    assert {r["endpoint"]: r["ok"] for r in rows} == {
        "WeChat Pay API": False, "WeChat Pay API v3": False, "Alipay OpenAPI": True,
        "Stripe API": True}
    assert next(r for r in rows if r["endpoint"] == "Stripe API")["group"] == "intl"
    providers = next(e for e in out.evidence if e["what"] == "providers")["providers"]
    assert {p["provider"]: p["all_down"] for p in providers} == {
        "wechatpay": True, "alipay": False, "stripe": False}
    assert "wechatpay" in out.summary


def test_endpoint_findings_carry_the_documented_data_keys(ca_file, loopback_dns):
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{closed_port()}/")]))
    assert out.findings
    for f in out.findings:
        assert f.target == "A"
        assert {"provider", "group", "failure", "http_status", "p50_ms", "loss_ratio"} <= set(f.data)


def test_endpoints_timings_exclude_name_resolution(ca, ca_file, servers, monkeypatch):
    def slow_resolve(host: str, port: int, *, timeout: float, family: int = 0) -> list[str]:
        time.sleep(1.0)
        return ["127.0.0.1"]

    monkeypatch.setattr(net, "resolve", slow_resolve)
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")],
                                     samples=2))
    assert metric(out, "dns_resolve_seconds", "A") >= 1.0
    assert metric(out, "tcp_connect_seconds", "A", "max") < 1.0


# ---------------------------------------------------------------- icmp


def test_endpoints_when_icmp_disabled_says_so(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")],
                                     icmp=False, samples=1))
    icmp = next(e for e in out.evidence if e["what"] == "endpoint_samples")["icmp"]
    assert icmp["status"] == "skipped" and "latency.icmp" in icmp["reason"]


def test_endpoints_when_icmp_enabled_pings_or_says_why_not(ca, ca_file, servers, loopback_dns):
    # 127.0.0.1 only. Unprivileged ICMP depends on net.ipv4.ping_group_range here.
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")],
                                     icmp=True, samples=1))
    icmp = next(e for e in out.evidence if e["what"] == "endpoint_samples")["icmp"]
    if icmp["status"] == "ok":
        assert icmp["received"] >= 1
        assert metric(out, "icmp_rtt_seconds", "A") >= 0
    else:
        assert icmp["status"] == "skipped" and icmp["reason"]
    assert out.findings == []   # ICMP is evidence only


def test_endpoints_when_icmp_not_permitted_skips_with_reason(ca, ca_file, servers, loopback_dns,
                                                             monkeypatch):
    import icmplib

    def denied(*args: Any, **kw: Any) -> Any:
        raise icmplib.SocketPermissionError(False)

    monkeypatch.setattr(icmplib, "ping", denied)
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")],
                                     icmp=True, samples=1))
    icmp = next(e for e in out.evidence if e["what"] == "endpoint_samples")["icmp"]
    assert icmp == {"status": "skipped",
                    "reason": "unprivileged ICMP is not permitted here (net.ipv4.ping_group_range)"}


def test_endpoints_threads_do_not_leak_past_the_run(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    before = threading.active_count()
    run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")], samples=2))
    time.sleep(0.2)
    # Server connection threads may linger briefly; the check's own workers must be done.
    assert not [t for t in threading.enumerate() if t.name.startswith("icmp-")]
    assert threading.active_count() <= before + 4


def test_endpoints_when_syns_are_dropped_samples_are_lost_at_the_syn_rto(ca_file, loopback_dns):
    # A listener whose accept queue is full: Linux drops further SYNs, like a blackhole.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=1)
    try:
        out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{port}/")],
                                         samples=2, warn_ms=300.0, fail_ms=1000.0),
                            deadline_s=8.0)
    finally:
        filler.close()
        listener.close()
    f = finding(out, "endpoint.unreachable")
    assert f.data["failure"] == "generic_timeout" and f.data["phase"] == "connect"
    ev = next(e for e in out.evidence if e["what"] == "endpoint_samples")
    assert next(e for e in out.evidence if e["what"] == "endpoint_sampling")["connect_timeout_s"] == 1.0
    # Both samples were tried and lost: the connect cap, not the deadline, ended them.
    assert [s["phase"] for s in ev["samples"]] == ["connect", "connect"]
    assert metric(out, "loss_ratio", "A") == 1.0


def test_tls_and_endpoints_results_make_a_schema_valid_report(ca, ca_file, servers,
                                                              loopback_dns):
    import dataclasses

    from payprobe.checks.handshake import TlsCheck
    from payprobe.engine.config import TlsConfig
    from payprobe.host import detect
    from payprobe.reports import model, pipeline

    good = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    fiddler = trustme.CA(organization_name="DO_NOT_TRUST_FiddlerRoot")
    bad = start(servers, ssl_ctx=server_ctx(fiddler.issue_cert("api.mch.weixin.qq.com")))
    settings = dataclasses.replace(settings_for(ca_file, [
        ep("Alipay OpenAPI", f"https://{HOST}:{good.port}/gateway.do"),
        ep("WeChat Pay API", f"https://api.mch.weixin.qq.com:{bad.port}/", "wechatpay"),
        ep("Douyin Pay", f"https://api.douyinpay.com:{closed_port()}/", "douyinpay"),
    ]), tls=TlsConfig(slow_ms=60_000.0))
    checks = [LoadedCheck(name="tls", target="payprobe.checks.handshake:TlsCheck", cls=TlsCheck),
              LoadedCheck(name="endpoints", target="payprobe.checks.endpoints:EndpointsCheck",
                          cls=EndpointsCheck)]
    run = Runner(settings, detect()).run(checks, deadline_s=6.0)
    report = pipeline.finish_report(run, settings=settings, host=detect(), lang="en",
                                    trigger="manual")
    assert model.validate(report) == []
    endpoints = next(c for c in report["checks"] if c["name"] == "endpoints")
    assert {e["endpoint"]: e["ok"] for e in endpoints["evidence"] if e["what"] == "endpoint"} == {
        "Alipay OpenAPI": True, "WeChat Pay API": False, "Douyin Pay": False}
    assert "127.0.0.1" not in model.dumps(report)


def test_endpoints_when_ca_file_missing_is_an_error_not_a_crash(tmp_path, loopback_dns):
    out = run_endpoints(settings_for(str(tmp_path / "missing.pem"),
                                     [ep("A", f"https://{HOST}/")]))
    assert out.status == "error" and out.error


# ---------------------------------------------------------------- the network lab


@pytest.mark.lab
def test_lab_endpoints_when_healthy_reports_no_findings(lab):
    check = run_check(lab, "endpoints", latency={"icmp": False})
    assert check["status"] == "ok", check["findings"]
    rows = [e for e in check["evidence"] if e["what"] == "endpoint"]
    assert rows and all(r["ok"] and r["http_status"] == 200 for r in rows)


@pytest.mark.lab
def test_lab_endpoints_when_one_provider_blackholed_only_it_is_unreachable(lab):
    lab.blackhole(lab.host_address("api.stripe.com"))
    check = run_check(lab, "endpoints", latency={"samples": 3, "icmp": False})
    assert check["status"] == "fail"   # not "timeout": the check ended by itself
    f = by_target(check, "Stripe API")["endpoint.unreachable"]
    assert f["data"]["failure"] == "generic_timeout"
    others = [f for f in check["findings"] if f["target"] != "Stripe API"]
    assert others == []
    providers = next(e for e in check["evidence"] if e["what"] == "providers")["providers"]
    assert [p["provider"] for p in providers if p["all_down"]] == ["stripe"]


@pytest.mark.lab
def test_lab_endpoints_when_30_percent_loss_reports_loss_on_that_endpoint(lab):
    lab.loss(lab.host_address("api.stripe.com"), 30)
    check = run_check(lab, "endpoints", latency={"samples": 20, "icmp": False},
                           endpoints=[{"name": "Stripe API", "provider": "stripe",
                                       "url": "https://api.stripe.com/"},
                                      {"name": "Alipay OpenAPI", "provider": "alipay",
                                       "url": "https://openapi.alipay.com/"}])
    loss = {m["labels"]["endpoint"]: m["value"] for m in check["metrics"]
            if m["name"] == "loss_ratio"}
    # P(no lost sample of 20 at >= 30 % SYN loss) < 0.001.
    assert 0 < loss["Stripe API"] < 1
    assert loss["Alipay OpenAPI"] == 0
    assert "endpoint.loss" in by_target(check, "Stripe API")


@pytest.mark.lab
def test_lab_endpoints_when_slow_503_reports_http_error_and_slow(lab):
    lab.http_server("slow503", hostname="slow.pay.lab.example", delay_ms=1500)
    check = run_check(lab, "endpoints", latency={"samples": 2, "icmp": False}, endpoints=[
        {"name": "Slow", "provider": "slowpay", "url": "http://slow.pay.lab.example/"},
        {"name": "Alipay OpenAPI", "provider": "alipay", "url": "https://openapi.alipay.com/"}])
    slow = by_target(check, "Slow")
    assert slow["endpoint.http_error"]["data"]["http_status"] == 503
    assert slow["endpoint.slow"]["severity"] == "fail"
    assert by_target(check, "Alipay OpenAPI") == {}


@pytest.mark.lab
def test_lab_endpoints_when_server_silent_ends_before_the_deadline(lab):
    lab.http_server("silent", hostname="silent.pay.lab.example")
    check = run_check(lab, "endpoints", deadline_s=4.0, latency={"samples": 3, "icmp": False}, endpoints=[
        {"name": "Silent", "provider": "silentpay", "url": "http://silent.pay.lab.example/"}])
    assert check["status"] == "fail"
    assert by_target(check, "Silent")["endpoint.unreachable"]["data"]["failure"] == \
        "generic_timeout"


@pytest.mark.lab
def test_lab_endpoints_icmp_is_skipped_with_reason_when_ping_group_range_is_off(lab):
    check = run_check(lab, "endpoints", latency={"samples": 1, "icmp": True})
    icmps = [e["icmp"] for e in check["evidence"] if e["what"] == "endpoint_samples"]
    assert icmps and all(i["status"] in ("ok", "skipped") for i in icmps)
    assert all(i.get("reason") for i in icmps if i["status"] == "skipped")


# ---------------------------------------------------------------- dual stack




class Ipv6Twin:
    """A TLS server on [::1]:``port`` answering every request with 204, as the IPv6 side
    of a dual-stack service whose IPv4 side is a tests.servers server on that port."""

    def __init__(self, port: int, ssl_ctx: ssl.SSLContext) -> None:
        self.connections = 0
        self.stop = threading.Event()
        self.listener = socket.socket(socket.AF_INET6)
        self.listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.listener.bind(("::1", port))
        self.listener.listen(64)
        self.listener.settimeout(0.05)
        self.ssl_ctx = ssl_ctx
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            with self.ssl_ctx.wrap_socket(conn, server_side=True) as tls:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                tls.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


@pytest.fixture
def twins() -> Any:
    made: list[Ipv6Twin] = []
    yield lambda port, ssl_ctx: made.append(Ipv6Twin(port, ssl_ctx)) or made[-1]
    for twin in made:
        twin.close()


def dns_answers(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> None:
    """Each name -> its addresses, in the order getaddrinfo would give them."""
    def fake_resolve(host: str, port: int, *, timeout: float, family: int = 0) -> list[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(answers[host])

    monkeypatch.setattr(net, "resolve", fake_resolve)


def ipv6_routes(monkeypatch: pytest.MonkeyPatch, routes: list[str] | None) -> None:
    """The device's IPv6 default routes; None: /proc/net/ipv6_route cannot be read."""
    def read() -> list[str]:
        if routes is None:
            raise PermissionError(13, "Permission denied")
        return list(routes)

    monkeypatch.setattr(sources, "ipv6_default_routes", read)


def family_metric(out: Outcome, name: str, endpoint: str, family: str,
                  stat: str | None = None) -> float:
    for m in out.metrics:
        if (m.name == name and m.labels.get("endpoint") == endpoint
                and m.labels.get("ip_family") == family and m.labels.get("stat") == stat):
            return m.value
    raise AssertionError(f"no metric {name}{{endpoint={endpoint}, ip_family={family}, stat={stat}}}")


def samples_item(out: Outcome, endpoint: str) -> dict[str, Any]:
    return next(e for e in out.evidence
                if e["what"] == "endpoint_samples" and e["endpoint"] == endpoint)


@needs_ipv6_loopback
def test_endpoints_when_ipv6_fails_and_ipv4_works_is_reachable_and_reports_ipv6_broken(
        ca, ca_file, servers, monkeypatch):
    # AAAA and A answers; nothing listens on the IPv6 side.
    dns_answers(monkeypatch, {HOST: ["::1", "127.0.0.1"]})
    ipv6_routes(monkeypatch, ["wlan0"])
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")]))
    assert items(out) == [{"what": "endpoint", "endpoint": "A", "provider": "alipay",
                           "group": "cn", "ok": True, "failure": None, "http_status": 204}]
    assert codes(out) == {"net.ipv6_broken"}
    f = finding(out, "net.ipv6_broken")
    assert f.severity == "warn"
    assert f.data == {"endpoints": ["A"], "failures": {"A": "connection_refused"},
                      "ipv6_route_interfaces": ["wlan0"]}
    # The unlabelled series are the family apps use: IPv4, no loss.
    assert metric(out, "loss_ratio", "A") == 0.0
    assert family_metric(out, "loss_ratio", "A", "ipv6") == 1.0
    assert family_metric(out, "loss_ratio", "A", "ipv4") == 0.0
    assert family_metric(out, "tcp_connect_seconds", "A", "ipv4", "p50") >= 0
    ev = samples_item(out, "A")
    assert ev["ip_family"] == "ipv4" and ev["happy_eyeballs"]["ip_family"] == "ipv4"
    assert ev["other_family"]["ip_family"] == "ipv6"
    assert {s["failure"] for s in ev["other_family"]["samples"]} == {"connection_refused"}
    assert out.resolved_status() == "warn"


@needs_ipv6_loopback
def test_endpoints_when_route_table_unreadable_as_on_android_claims_ipv6_broken_by_connect_test(
        ca, ca_file, servers, monkeypatch):
    # Android hides /proc/net/ipv6_route: the kernel's choice of a source address for
    # the IPv6 address (a UDP connect) is the route evidence, as Android's resolver uses.
    dns_answers(monkeypatch, {HOST: ["::1", "127.0.0.1"]})
    ipv6_routes(monkeypatch, None)
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")]))
    f = finding(out, "net.ipv6_broken")
    assert f.data["endpoints"] == ["A"] and "connect test" in f.data["ipv6_route_interfaces"][0]
    assert items(out)[0]["ok"] is True


@needs_ipv6_loopback
@pytest.mark.parametrize(("routes", "reason"), [
    ([], "this device has no IPv6 default route, so apps do not use IPv6")])
def test_endpoints_when_ipv6_route_absent_does_not_claim_ipv6_broken(
        routes, reason, ca, ca_file, servers, monkeypatch):
    dns_answers(monkeypatch, {HOST: ["::1", "127.0.0.1"]})
    ipv6_routes(monkeypatch, routes)
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")]))
    assert out.findings == [] and items(out)[0]["ok"] is True
    (ev,) = [e for e in out.evidence if e["what"] == "ipv6_failed"]
    assert ev == {"what": "ipv6_failed", "endpoints": ["A"], "failures": {"A": "connection_refused"},
                  "claimed": False, "reason": reason}


@needs_ipv6_loopback
def test_endpoints_when_both_families_work_label_each_and_use_ipv6_as_apps_do(
        ca, ca_file, servers, twins, monkeypatch):
    dns_answers(monkeypatch, {HOST: ["127.0.0.1", "::1"]})
    ipv6_routes(monkeypatch, ["wlan0"])
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    twin = twins(srv.port, server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")]))
    assert out.findings == [] and out.resolved_status() == "ok"
    for family in ("ipv4", "ipv6"):
        for name in ("tcp_connect_seconds", "tls_handshake_seconds", "http_ttfb_seconds"):
            assert family_metric(out, name, "A", family, "p50") >= 0
        assert family_metric(out, "loss_ratio", "A", family) == 0.0
    # The existing series keep their names and labels, every stat.
    for stat in ("min", "p50", "p95", "max"):
        assert metric(out, "tcp_connect_seconds", "A", stat) >= 0
    # Written after the labelled ones: a reader keyed by (endpoint, stat) keeps it.
    p50s = [m for m in out.metrics if m.name == "tcp_connect_seconds" and m.labels.get("stat") == "p50"]
    assert "ip_family" not in p50s[-1].labels
    ev = samples_item(out, "A")
    assert ev["ip_family"] == "ipv6" and ev["happy_eyeballs"]["ip_family"] == "ipv6"
    assert ev["happy_eyeballs"]["attempts"][0]["outcome"] == "won"
    # Three samples per family, and the Happy Eyeballs connect (IPv6 first: it won).
    assert (srv.connections, twin.connections) == (3, 3 + 1)


@needs_ipv6_loopback
def test_endpoints_when_ipv6_fails_for_one_service_only_does_not_blame_the_network(
        ca, ca_file, servers, twins, monkeypatch):
    dns_answers(monkeypatch, {HOST: ["::1", "127.0.0.1"],
                              "api.mch.weixin.qq.com": ["::1", "127.0.0.1"]})
    ipv6_routes(monkeypatch, ["wlan0"])
    dual = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    twins(dual.port, server_ctx(ca.issue_cert(HOST)))
    v4_only = start(servers, ssl_ctx=server_ctx(ca.issue_cert("api.mch.weixin.qq.com")))
    out = run_endpoints(settings_for(ca_file, [
        ep("A", f"https://{HOST}:{dual.port}/"),
        ep("W", f"https://api.mch.weixin.qq.com:{v4_only.port}/", "wechatpay")]))
    assert out.findings == []
    (ev,) = [e for e in out.evidence if e["what"] == "ipv6_failed"]
    assert ev["endpoints"] == ["W"] and ev["reason"] == "IPv6 connects work to other endpoints"


@needs_ipv6_loopback
def test_endpoints_when_ipv6_only_name_works_has_no_family_labels(ca, ca_file, servers, twins,
                                                                  monkeypatch):
    dns_answers(monkeypatch, {HOST: ["::1"]})
    ipv6_routes(monkeypatch, ["wlan0"])
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    twin = twins(srv.port, server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")]))
    assert (srv.connections, twin.connections) == (0, 3)
    assert out.findings == [] and items(out)[0]["ok"] is True
    assert not [m for m in out.metrics if "ip_family" in m.labels]
    ev = samples_item(out, "A")
    assert ev["ip_family"] == "ipv6" and "other_family" not in ev and "happy_eyeballs" not in ev


def test_endpoints_when_device_has_no_route_for_ipv6_measures_ipv4_only(ca, ca_file, servers,
                                                                          monkeypatch):
    dns_answers(monkeypatch, {HOST: ["::1", "127.0.0.1"]})
    monkeypatch.setattr(_endpoint_measure, "routable", lambda address: ":" not in address)
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")]))
    # As Android's resolver does: a family without a route is not tried at all.
    assert out.findings == [] and items(out)[0]["ok"] is True
    assert not [m for m in out.metrics if "ip_family" in m.labels]
    ev = samples_item(out, "A")
    assert ev["ip_family"] == "ipv4" and ev["unrouted_families"] == ["ipv6"]
    assert "other_family" not in ev and srv.connections == 3


def test_endpoints_when_no_family_has_a_route_still_measures_to_say_unreachable(ca_file,
                                                                                monkeypatch):
    # Loopback, nothing listening: every connect fails at once, nothing leaves the machine.
    dns_answers(monkeypatch, {HOST: ["::1", "127.0.0.1"]})
    monkeypatch.setattr(_endpoint_measure, "routable", lambda address: False)
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{closed_port()}/")]))
    assert not items(out)[0]["ok"]
    assert "unrouted_families" not in samples_item(out, "A")
    assert set(samples_item(out, "A")) >= {"other_family", "happy_eyeballs"}


def test_routable_when_kernel_has_a_route_says_so():
    assert _endpoint_measure.routable("127.0.0.1") is True


def test_endpoints_when_single_family_has_no_family_labels_or_happy_eyeballs(
        ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{srv.port}/")]))
    assert not [m for m in out.metrics if "ip_family" in m.labels]
    assert samples_item(out, "A")["ip_family"] == "ipv4"
    assert srv.connections == 3   # no extra connection for a name with one family


@needs_ipv6_loopback
def test_endpoints_when_both_families_fail_is_unreachable_once_with_ipv4_failure(
        ca_file, monkeypatch):
    dns_answers(monkeypatch, {HOST: ["::1", "127.0.0.1"]})
    ipv6_routes(monkeypatch, ["wlan0"])
    out = run_endpoints(settings_for(ca_file, [ep("A", f"https://{HOST}:{closed_port()}/")]))
    f = finding(out, "endpoint.unreachable")
    assert f.data["failure"] == "connection_refused" and f.data["phase"] == "connect"
    assert "IPv6 and IPv4" in f.message
    assert "net.ipv6_broken" not in codes(out)   # IPv4 does not work either
    assert samples_item(out, "A")["ip_family"] == "ipv4"


# ---------------------------------------------------------------- dual stack: the judgements


def _result(name: str, v6_connect_s: float | None, v4_connect_s: float | None,
            n: int = 3) -> EndpointResult:
    def series(connect_s: float | None) -> list[Sample]:
        if connect_s is None:
            return [Sample(failure="generic_timeout", phase="connect") for _ in range(n)]
        return [Sample(connect_s=connect_s, tls_s=0.01, ttfb_s=0.01, http_status=200)
                for _ in range(n)]

    families = {"ipv6": series(v6_connect_s), "ipv4": series(v4_connect_s)}
    return EndpointResult(Endpoint(name=name, url=f"https://{name}.example/"), planned=n,
                          families=families, ip_family="ipv4", samples=families["ipv4"])


@pytest.mark.parametrize(("v6_s", "v4_s", "severity"), [
    (0.400, 0.010, "warn"),    # 390 ms slower: apps wait out the whole fallback delay
    (0.150, 0.020, "info"),    # 130 ms slower and over 2x: slow, but a small cost
    (0.050, 0.010, None),      # 5x, but only 40 ms: nobody feels it
    (0.350, 0.200, None),      # 150 ms slower but under 2x: a far path, not a slow family
])
def test_ipv6_slow_when_thresholds_met_or_not(v6_s, v4_s, severity, monkeypatch):
    ipv6_routes(monkeypatch, ["wlan0"])
    out = Outcome()
    _dualstack.ipv6_findings([_result("A", v6_s, v4_s), _result("B", v6_s, v4_s)], out)
    if severity is None:
        assert out.findings == []
    else:
        (f,) = out.findings
        assert (f.code, f.severity) == ("net.ipv6_slow", severity)
        assert f.data["endpoints"] == ["A", "B"]
        assert f.data["ipv6_connect_p50_ms"]["A"] == pytest.approx(v6_s * 1000)
        assert f.data["extra_ms"] == pytest.approx((v6_s - v4_s) * 1000)
        assert (f.data["ratio_threshold"], f.data["min_extra_ms"], f.data["warn_extra_ms"]) == (
            2.0, 100.0, 200.0)


def test_ipv6_slow_when_only_one_of_three_endpoints_is_slow_is_not_claimed(monkeypatch):
    out = Outcome()
    _dualstack.ipv6_findings([_result("A", 0.4, 0.01), _result("B", 0.01, 0.01),
                              _result("C", 0.012, 0.01)], out)
    assert out.findings == []


def test_ipv6_broken_when_every_ipv6_connect_fails_and_ipv4_works(monkeypatch):
    ipv6_routes(monkeypatch, ["rmnet0", "wlan0"])
    out = Outcome()
    _dualstack.ipv6_findings([_result("A", None, 0.01), _result("B", None, 0.02)], out)
    (f,) = out.findings
    assert (f.code, f.severity) == ("net.ipv6_broken", "warn")
    assert f.data == {"endpoints": ["A", "B"],
                      "failures": {"A": "generic_timeout", "B": "generic_timeout"},
                      "ipv6_route_interfaces": ["rmnet0", "wlan0"]}


@pytest.mark.parametrize(("winner", "v6_ok", "v4_ok", "expected"), [
    ("ipv6", True, True, "ipv6"),      # Happy Eyeballs' pick, when it works
    ("ipv4", True, True, "ipv4"),
    ("ipv6", False, True, "ipv4"),     # it connected, but nothing after worked: the other family
    (None, True, True, "ipv6"),        # no pick (lost SYNs): IPv6 first, as apps try it
    (None, False, False, "ipv4"),      # neither: what apps are left waiting on
    ("ipv6", False, False, "ipv6"),    # neither, but IPv6 connected: its failure came later
])
def test_app_family_prefers_the_happy_eyeballs_winner_that_works(winner, v6_ok, v4_ok, expected):
    def series(ok: bool) -> list[Sample]:
        return [Sample(connect_s=0.01, http_status=200) if ok
                else Sample(failure="generic_timeout", phase="tls")]

    assert _dualstack.app_family(winner, {"ipv6": series(v6_ok), "ipv4": series(v4_ok)}) == expected
