"""tls check: in-process TLS servers on 127.0.0.1 with trustme certificates
(tests/tls_servers.py); payment hostnames map to 127.0.0.1 via payprobe.net.resolve."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import time
from typing import Any

import pytest
import trustme
from payprobe import net
from payprobe.api import Blackboard, CheckContext, Outcome
from payprobe.checks.handshake import TlsCheck
from payprobe.engine.config import Endpoint, LatencyConfig, Settings, TlsConfig
from payprobe.engine.registry import LoadedCheck
from payprobe.engine.runner import Runner

from tests.lab.results import by_target, run_check
from tests.tls_servers import (
    HOST,
    NOW,
    codes,
    finding,
    run_tls,
    server_ctx,
    start,
    tls_settings,
)

# ---------------------------------------------------------------- tests


def test_tls_when_certificate_valid_reports_chain_and_no_findings(ca, ca_file, servers,
                                                                  loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    target = f"{HOST}:{srv.port}"
    out = run_tls(tls_settings(ca_file, [target]))
    assert out.findings == []
    assert out.resolved_status() == "ok"
    names = {(m.name, m.labels["target"]) for m in out.metrics}
    assert {("tcp_connect_seconds", target), ("tls_handshake_seconds", target),
            ("tls_cert_days_left", target)} <= names
    ev = out.evidence[0]
    assert ev["verified"] is True and ev["version"] in ("TLSv1.2", "TLSv1.3")
    assert ev["cipher"]
    assert HOST in ev["chain"][0]["sans"]
    assert len(ev["chain"][0]["sha256"]) == 64
    assert "Payprobe Test Root" in ev["chain"][0]["issuer"]


def test_tls_when_no_targets_and_no_https_endpoints_is_skipped(ca_file):
    settings = Settings(ca_file=ca_file, endpoints=[
        Endpoint(name="plain", url="http://example.invalid/")])
    out = run_tls(settings)
    assert out.status == "skipped"


def test_tls_targets_default_to_https_endpoint_hosts(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    settings = Settings(ca_file=ca_file, tls=TlsConfig(slow_ms=60_000.0), endpoints=[
        Endpoint(name="Alipay", url=f"https://{HOST}:{srv.port}/gateway.do", provider="alipay"),
        Endpoint(name="Alipay again", url=f"https://{HOST}:{srv.port}/other", provider="alipay"),
        Endpoint(name="plain", url="http://example.invalid/")])
    out = run_tls(settings)
    assert [e["target"] for e in out.evidence] == [f"{HOST}:{srv.port}"]
    assert out.findings == []


def test_tls_when_issuer_untrusted_names_interceptor(servers, ca_file, loopback_dns):
    fiddler = trustme.CA(organization_name="DO_NOT_TRUST_FiddlerRoot")
    srv = start(servers, ssl_ctx=server_ctx(fiddler.issue_cert(HOST)))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]))
    f = finding(out, "tls.untrusted_issuer")
    assert f.severity == "fail"
    assert f.data["failure"] == "tls_unknown_authority"
    assert f.data["interceptor"] == "Fiddler"
    assert "Fiddler" in f.message
    assert "DO_NOT_TRUST_FiddlerRoot" in f.data["issuer"]
    assert f.data["not_after"].endswith("Z") and f.data["version"]
    # The presented certificate was captured by the unverified handshake.
    assert out.evidence[0]["captured_unverified"] is True
    assert out.evidence[0]["chain"][0]["sha256"]


def test_tls_when_certificate_trusted_has_no_untrusted_issuer(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]))
    assert "tls.untrusted_issuer" not in codes(out)


def test_tls_when_hostname_wrong_reports_mismatch(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert("other.example.com")))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]))
    f = finding(out, "tls.hostname_mismatch")
    assert f.severity == "fail"
    assert f.data["failure"] == "tls_hostname_mismatch"
    assert f.data["sans"] == ["other.example.com"]
    assert "tls.untrusted_issuer" not in codes(out)


def test_tls_when_hostname_matches_wildcard_no_mismatch(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert("*.alipay.com")))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]))
    assert "tls.hostname_mismatch" not in codes(out)
    assert out.findings == []


def test_tls_when_certificate_expired_reports_both_clock_verdicts(ca, ca_file, servers,
                                                                  loopback_dns):
    cert = ca.issue_cert(HOST, not_before=NOW - dt.timedelta(days=60),
                         not_after=NOW - dt.timedelta(days=1))
    srv = start(servers, ssl_ctx=server_ctx(cert))
    shared = Blackboard()
    shared.put("clock.offset_s", 0.5)
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]), shared=shared)
    f = finding(out, "tls.expired")
    assert f.severity == "fail"
    assert f.data["failure"] == "tls_cert_expired"
    assert f.data["valid_by_device_clock"] is False
    assert f.data["valid_by_reference_clock"] is False
    days = next(m for m in out.metrics if m.name == "tls_cert_days_left")
    assert days.value < 0


def test_tls_when_not_yet_valid_and_clock_behind_says_clock_is_wrong(ca, ca_file, servers,
                                                                     loopback_dns):
    # The device clock is 30 days behind: the certificate starts "in 10 days".
    cert = ca.issue_cert(HOST, not_before=NOW + dt.timedelta(days=10),
                         not_after=NOW + dt.timedelta(days=400))
    srv = start(servers, ssl_ctx=server_ctx(cert))
    shared = Blackboard()
    shared.put("clock.offset_s", 30 * 86400.0)
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]), shared=shared)
    f = finding(out, "tls.not_yet_valid")
    assert f.severity == "fail"
    assert f.data["failure"] == "tls_cert_not_yet_valid"
    assert f.data["valid_by_device_clock"] is False
    assert f.data["valid_by_reference_clock"] is True
    assert f.data["clock_offset_s"] == 30 * 86400.0
    assert "clock is wrong" in f.message
    assert "tls.expired" not in codes(out)


def test_tls_when_not_yet_valid_without_clock_check_reference_verdict_is_none(
        ca, ca_file, servers, loopback_dns):
    cert = ca.issue_cert(HOST, not_before=NOW + dt.timedelta(days=10),
                         not_after=NOW + dt.timedelta(days=400))
    srv = start(servers, ssl_ctx=server_ctx(cert))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]), deadline_s=3.0)
    f = finding(out, "tls.not_yet_valid")
    assert f.data["valid_by_device_clock"] is False
    assert f.data["valid_by_reference_clock"] is None


def test_tls_when_valid_now_but_expired_by_reference_warns(ca, ca_file, servers, loopback_dns):
    # The device clock is 10 days behind: a certificate that ends in 5 days has in fact expired.
    cert = ca.issue_cert(HOST, not_before=NOW - dt.timedelta(days=60),
                         not_after=NOW + dt.timedelta(days=5))
    srv = start(servers, ssl_ctx=server_ctx(cert))
    shared = Blackboard()
    shared.put("clock.offset_s", 10 * 86400.0)
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"], expiry_warn_days=0.0),
                  shared=shared)
    f = finding(out, "tls.expired")
    assert f.severity == "warn"
    assert f.data["valid_by_device_clock"] is True
    assert f.data["valid_by_reference_clock"] is False


def test_tls_when_valid_certificate_has_no_date_findings(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    shared = Blackboard()
    shared.put("clock.offset_s", -3.0)
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]), shared=shared)
    assert not {"tls.expired", "tls.not_yet_valid", "tls.expiring"} & set(codes(out))
    assert out.evidence[0]["valid_by_reference_clock"] is True


def test_tls_when_expiring_soon_warns(ca, ca_file, servers, loopback_dns):
    cert = ca.issue_cert(HOST, not_before=NOW - dt.timedelta(days=80),
                         not_after=NOW + dt.timedelta(days=5))
    srv = start(servers, ssl_ctx=server_ctx(cert))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"], expiry_warn_days=14.0))
    f = finding(out, "tls.expiring")
    assert f.severity == "warn"
    assert 4 < f.data["days_left"] < 6
    assert out.resolved_status() == "warn"


def test_tls_when_expiry_beyond_warn_days_does_not_warn(ca, ca_file, servers, loopback_dns):
    cert = ca.issue_cert(HOST, not_before=NOW - dt.timedelta(days=80),
                         not_after=NOW + dt.timedelta(days=30))
    srv = start(servers, ssl_ctx=server_ctx(cert))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"], expiry_warn_days=14.0))
    assert "tls.expiring" not in codes(out)


def test_tls_when_handshake_over_slow_ms_warns(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"], slow_ms=0.0))
    f = finding(out, "tls.slow")
    assert f.severity == "warn" and f.data["threshold_ms"] == 0.0


def test_tls_when_handshake_under_slow_ms_no_slow(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"], slow_ms=60_000.0))
    assert "tls.slow" not in codes(out)


def test_tls_when_server_speaks_only_tls10_warns_old_version(ca, ca_file, servers, loopback_dns):
    # OpenSSL 3 allows TLS 1.0 only at security level 0; both sides ask for it here.
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST), tls10_only=True))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]))
    f = finding(out, "tls.old_version")
    assert f.severity == "warn"
    assert f.data["version"] == "TLSv1"
    # The certificate itself is fine: an old protocol is not a broken handshake.
    assert "tls.handshake_failed" not in codes(out)
    assert "tls.untrusted_issuer" not in codes(out)


def test_tls_when_modern_version_no_old_version_warning(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]))
    assert "tls.old_version" not in codes(out)


def test_tls_when_port_closed_reports_handshake_failed_refused(ca_file, loopback_dns):
    probe_sock = socket.socket()
    probe_sock.bind(("127.0.0.1", 0))
    port = probe_sock.getsockname()[1]
    probe_sock.close()   # nothing listens there now
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{port}"]))
    f = finding(out, "tls.handshake_failed")
    assert f.severity == "fail"
    assert f.data["failure"] == "connection_refused"
    assert f.data["phase"] == "connect"


def test_tls_when_no_name_resolves_records_not_measured_and_errors_without_findings(
        ca_file, loopback_dns):
    out = run_tls(tls_settings(ca_file, ["pay.invalid", "pay2.invalid:8443"]))
    # One fault, one finding per layer: the DNS check reports the name, not this one.
    assert out.findings == []
    assert [e for e in out.evidence if e["what"] == "not_measured"] == [
        {"what": "not_measured", "target": "pay.invalid", "host": "pay.invalid",
         "reason": "name did not resolve", "failure": "dns_nxdomain"},
        {"what": "not_measured", "target": "pay2.invalid:8443", "host": "pay2.invalid",
         "reason": "name did not resolve", "failure": "dns_nxdomain"}]
    # Nothing could be measured: the check could not run.
    assert out.resolved_status() == "error" and out.error == "dns_nxdomain"
    assert "not measured" in out.summary


def test_tls_when_one_name_does_not_resolve_warns_and_judges_the_others(ca, ca_file, servers,
                                                                         loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}", "pay.invalid"]))
    assert out.findings == []
    # Not "ok": one payment host was not looked at (an ok would rule TLS out).
    assert out.resolved_status() == "warn"
    assert [e["target"] for e in out.evidence if e["what"] == "not_measured"] == ["pay.invalid"]
    assert [e["ok"] for e in out.evidence if e["what"] == "tls"] == [True]


def test_tls_when_ipv6_refused_connects_over_ipv4_as_apps_do(ca, ca_file, servers, monkeypatch):
    # The name has AAAA and A answers; nothing listens on ::1 (IPv6 fails at once).
    monkeypatch.setattr(net, "resolve", lambda host, port, *, timeout, family=0: ["::1",
                                                                                "127.0.0.1"])
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]))
    assert out.findings == [] and out.resolved_status() == "ok"
    (ev,) = [e for e in out.evidence if e["what"] == "tls"]
    assert ev["ok"] is True and ev["ip_family"] == "ipv4"
    assert ev["happy_eyeballs_s"] >= ev["connect_s"]


def test_tls_when_server_closes_during_handshake_reports_handshake_failed(ca_file, servers,
                                                                          loopback_dns):
    srv = start(servers, mode="close")
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]))
    f = finding(out, "tls.handshake_failed")
    assert f.data["phase"] == "handshake"
    assert f.data["failure"] in ("eof_error", "connection_reset", "tls_handshake_failed")


def test_tls_when_healthy_no_handshake_failed(ca, ca_file, servers, loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]))
    assert "tls.handshake_failed" not in codes(out)


def test_tls_when_server_silent_ends_within_deadline_via_runner(ca, ca_file, servers,
                                                                loopback_dns):
    silent = start(servers, mode="silent")
    good = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    settings = tls_settings(ca_file, [f"{HOST}:{silent.port}", f"{HOST}:{good.port}"])
    check = LoadedCheck(name="tls", target="payprobe.checks.handshake:TlsCheck", cls=TlsCheck,
                        builtin=True)
    t0 = time.monotonic()
    run = Runner(settings, None).run([check], deadline_s=2.0)
    elapsed = time.monotonic() - t0
    (result,) = run.results
    # "fail", not "timeout": the check itself stopped the stalled handshake and reported.
    assert result.status == "fail"
    silent_findings = [f for f in result.findings if f.target == f"{HOST}:{silent.port}"]
    assert [f.code for f in silent_findings] == ["tls.handshake_failed"]
    assert silent_findings[0].data["failure"] == "generic_timeout"
    assert not [f for f in result.findings if f.target == f"{HOST}:{good.port}"]
    assert elapsed < 2.0 + 1.5   # generous: the point is "not stuck"


def test_tls_metrics_exclude_name_resolution(ca, ca_file, servers, monkeypatch):
    def slow_resolve(host: str, port: int, *, timeout: float, family: int = 0) -> list[str]:
        time.sleep(1.0)
        return ["127.0.0.1"]

    monkeypatch.setattr(net, "resolve", slow_resolve)
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]))
    connect = next(m for m in out.metrics if m.name == "tcp_connect_seconds")
    handshake = next(m for m in out.metrics if m.name == "tls_handshake_seconds")
    assert connect.value < 1.0 and handshake.value < 1.0


def test_tls_findings_carry_the_documented_data_keys(servers, ca_file, loopback_dns):
    other = trustme.CA()
    srv = start(servers, ssl_ctx=server_ctx(other.issue_cert(HOST)))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]))
    for f in out.findings:
        assert f.target == f"{HOST}:{srv.port}"
        assert {"failure", "issuer", "not_before", "not_after", "version"} <= set(f.data)


def test_tls_outcome_validates_through_runner_with_endpoints_settings(ca, ca_file, servers,
                                                                      loopback_dns):
    srv = start(servers, ssl_ctx=server_ctx(ca.issue_cert(HOST)))
    settings = Settings(ca_file=ca_file, tls=TlsConfig(slow_ms=60_000.0),
                        latency=LatencyConfig(samples=1, icmp=False),
                        endpoints=[Endpoint(name="Alipay OpenAPI", provider="alipay",
                                            url=f"https://{HOST}:{srv.port}/")])
    check = LoadedCheck(name="tls", target="payprobe.checks.handshake:TlsCheck", cls=TlsCheck,
                        builtin=True)
    (result,) = Runner(settings, None).run([check], deadline_s=5.0).results
    assert result.status == "ok", result.to_dict()
    assert result.to_dict()["metrics"]


def test_tls_chain_lists_every_certificate_the_server_sent(ca, ca_file, servers, loopback_dns):
    intermediate = ca.create_child_ca()
    srv = start(servers, ssl_ctx=server_ctx(intermediate.issue_cert(HOST)))
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{srv.port}"]))
    assert out.findings == []
    chain = out.evidence[0]["chain"]
    assert len(chain) == 2
    assert chain[0]["issuer"] == chain[1]["subject"]
    assert chain[0]["sha256"] != chain[1]["sha256"]


def test_tls_reference_offset_shared_by_another_check_through_runner(ca, ca_file, servers,
                                                                     loopback_dns):
    # A stand-in for the clock check: it publishes its offset a little later.
    class FakeClock:
        name = "clock"
        version = "1"
        description = "test double"

        def run(self, ctx: CheckContext) -> Outcome:
            time.sleep(0.3)
            ctx.shared.put("clock.offset_s", 30 * 86400.0)
            return Outcome()

    cert = ca.issue_cert(HOST, not_before=NOW + dt.timedelta(days=10),
                         not_after=NOW + dt.timedelta(days=400))
    srv = start(servers, ssl_ctx=server_ctx(cert))
    settings = tls_settings(ca_file, [f"{HOST}:{srv.port}"])
    checks = [LoadedCheck(name="tls", target="payprobe.checks.handshake:TlsCheck", cls=TlsCheck),
              LoadedCheck(name="clock", target="tests:FakeClock", cls=FakeClock)]
    results = {r.name: r for r in Runner(settings, None).run(checks, deadline_s=5.0).results}
    f = next(f for f in results["tls"].findings if f.code == "tls.not_yet_valid")
    assert f.data["valid_by_device_clock"] is False
    assert f.data["valid_by_reference_clock"] is True


# ---------------------------------------------------------------- checks/_certs.py


def test_certs_parse_without_cryptography_reads_the_der_itself(ca, monkeypatch):
    import sys

    from payprobe.checks import _certs
    leaf = ca.issue_cert(HOST, not_after=NOW + dt.timedelta(days=30))
    der = ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())
    with_crypto = _certs.parse(der)
    monkeypatch.setitem(sys.modules, "cryptography", None)   # import now raises ImportError
    info = _certs.parse(der)
    # The stdlib DER reader gives the same facts cryptography gives.
    assert info.parsed and info.sans == [HOST]
    assert info.issuer == with_crypto.issuer and info.issuer_o == with_crypto.issuer_o != ""
    assert info.not_after == with_crypto.not_after
    assert abs((info.not_after - (NOW + dt.timedelta(days=30))).total_seconds()) < 5


def test_certs_parse_falls_back_to_ssl_dict_for_der_it_cannot_read(monkeypatch):
    import sys

    from payprobe.checks import _certs
    monkeypatch.setitem(sys.modules, "cryptography", None)
    ssl_dict = {"subject": ((("commonName", HOST),),),
                "issuer": ((("organizationName", "Payprobe Test Root"),),),
                "subjectAltName": (("DNS", HOST),),
                "notBefore": "Jan  1 00:00:00 2026 GMT", "notAfter": "Jan  1 00:00:00 2030 GMT"}
    broken = b"\x30\x03\x02\x01"          # a SEQUENCE that runs past its bytes
    info = _certs.parse(broken, ssl_dict)
    assert info.parsed and info.sans == [HOST] and info.issuer_o == "Payprobe Test Root"
    assert _certs.iso(info.not_after) == "2030-01-01T00:00:00Z"
    bare = _certs.parse(broken)
    assert not bare.parsed and len(bare.sha256) == 64 and bare.not_after is None


def test_certs_hostname_matching_allows_one_leftmost_wildcard_label():
    from payprobe.checks._certs import hostname_matches
    assert hostname_matches("openapi.alipay.com", ["*.alipay.com"])
    assert hostname_matches("OpenAPI.Alipay.com.", ["openapi.alipay.com"])
    assert not hostname_matches("a.b.alipay.com", ["*.alipay.com"])
    assert not hostname_matches("alipay.com", ["*.alipay.com"])
    assert not hostname_matches("openapi.alipay.com", ["other.example.com"])


@pytest.mark.parametrize("issuer,expected", [
    ("O=DO_NOT_TRUST_FiddlerRoot", "Fiddler"),
    ("CN=Charles Proxy CA (1 Jan 2026\\, host),OU=https://charlesproxy.com/ssl", "Charles"),
    ("CN=mitmproxy,O=mitmproxy", "mitmproxy"),
    ("CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1,O=DigiCert Inc", None),
])
def test_certs_interceptor_names_known_tools_only(issuer, expected):
    from payprobe.checks._certs import CertInfo, interceptor
    assert interceptor(CertInfo(sha256="x", issuer=issuer)) == expected


def test_tls_when_ca_file_missing_is_an_error_not_a_crash(tmp_path, loopback_dns):
    out = run_tls(tls_settings(str(tmp_path / "missing.pem"), [HOST]))
    assert out.status == "error" and out.error
    assert "trust store" in out.summary


# ---------------------------------------------------------------- the network lab


def _lab_tls(lab: Any, **overrides: Any) -> dict[str, Any]:
    overrides.setdefault("tls", {"slow_ms": 5000.0})
    return run_check(lab, "tls", **overrides)


@pytest.mark.lab
def test_lab_tls_when_healthy_reports_no_tls_findings(lab):
    check = _lab_tls(lab)
    assert check["status"] == "ok", check["findings"]
    assert check["findings"] == []
    targets = {m["labels"]["target"] for m in check["metrics"] if m["name"] == "tls_handshake_seconds"}
    assert "openapi.alipay.com" in targets and "api.stripe.com" in targets


@pytest.mark.lab
@pytest.mark.parametrize("kind,code", [
    ("expired", "tls.expired"),
    ("not_yet_valid", "tls.not_yet_valid"),
    ("wrong_host", "tls.hostname_mismatch"),
    ("mitm", "tls.untrusted_issuer"),
    ("tls10", "tls.old_version"),
])
def test_lab_tls_when_server_is_bad_reports_its_finding_on_that_host_only(lab, kind, code):
    lab.add_host("api.stripe.com", lab.tls_server(kind, hostname="api.stripe.com"))
    check = _lab_tls(lab)
    assert code in by_target(check, "api.stripe.com")
    assert by_target(check, "openapi.alipay.com") == {}


@pytest.mark.lab
def test_lab_tls_when_host_rejects_reports_handshake_failed(lab):
    lab.reject(lab.host_address("api.stripe.com"))
    check = _lab_tls(lab)
    f = by_target(check, "api.stripe.com")["tls.handshake_failed"]
    assert f["data"]["failure"] == "connection_refused"


@pytest.mark.lab
def test_lab_tls_when_world_moved_ahead_says_clock_not_attack(lab):
    shift_s = 30 * 86400.0
    lab.move_world(shift_s)
    result = lab.payprobe("run", "--only", "tls,clock",
                          config=lab.write_config(tls={"slow_ms": 5000.0}))
    assert result.report is not None, result.stderr
    tls = result.check("tls")
    f = by_target(tls, "openapi.alipay.com")["tls.not_yet_valid"]
    assert f["data"]["valid_by_device_clock"] is False
    assert f["data"]["valid_by_reference_clock"] is True
    assert "tls.untrusted_issuer" not in by_target(tls, "openapi.alipay.com")
