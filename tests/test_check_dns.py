"""The dns check against in-process DNS servers on 127.0.0.1 (UDP, TCP, DoT, DoH;
tests/servers/).

The "system" resolver (getaddrinfo) is replaced by a fake; the real one is
exercised in the network lab. Nothing here leaves the loopback interface: the
answers that name non-loopback addresses are never connected to (the bogon
and fake-ip branches decide without traffic).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckContext, Outcome
from payprobe.checks import resolution
from payprobe.checks.resolution import DnsCheck, base_domain
from payprobe.engine import config
from payprobe.engine.registry import LoadedCheck
from payprobe.engine.runner import Runner

from tests.helpers import LINUX, codes, finding, make_ctx
from tests.servers import (
    DohServer,
    DotServer,
    FakeDns,
    HttpServer,
    fake_system_resolver,
    server_ctx,
    write_ca_file,
)

PAY = "pay.example.com"


def settings_for(resolvers: list[dict[str, Any]], *, names: list[str] | None = None,
                 **dns_kw: Any) -> Any:
    return config.load(overrides={"dns": {"names": names or [PAY], "resolvers": resolvers, **dns_kw}})


def run_check(settings: Any, budget_s: float = 8.0) -> tuple[Outcome, CheckContext[Any]]:
    ctx = make_ctx(settings.dns, settings=settings, deadline_s=budget_s)
    return DnsCheck().run(ctx), ctx


# ---------------------------------------------------------------- healthy


def test_dns_when_system_and_resolver_agree_reports_no_findings(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1", "::1"]})
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.1", "::1"]})
    out, ctx = run_check(settings_for([{"name": "Honest", "address": server.address}]))
    assert codes(out) == set()
    assert out.resolved_status() == "ok"
    assert ctx.shared.get("dns.system_answers") == {PAY: ["127.0.0.1", "::1"]}
    labels = [dict(m.labels) for m in out.metrics if m.name == "dns_query_seconds"]
    assert {"resolver": "system", "name": PAY} in labels
    assert {"resolver": "Honest", "name": PAY, "type": "A"} in labels
    assert {"resolver": "Honest", "name": PAY, "type": "AAAA"} in labels
    a = [e for e in out.evidence if e.get("what") == "dns_query" and e["resolver"] == "Honest"
         and e["type"] == "A"][0]
    assert a["rcode"] == "NOERROR" and a["answers"] == ["127.0.0.1"]
    assert (PAY, "A") in server.queries and (PAY, "AAAA") in server.queries


def test_dns_names_when_empty_come_from_endpoints():
    settings = config.load(overrides={"dns": {"names": []}, "endpoints": [
        {"name": "A", "url": "https://api.one.example/x"},
        {"name": "B", "url": "https://API.one.example:8443/"},
        {"name": "C", "url": "https://two.example/"}]})
    ctx = make_ctx(settings.dns, settings=settings, deadline_s=1.0)
    assert resolution.endpoint_names(ctx) == ["api.one.example", "two.example"]


def test_base_domain_when_cn_second_level_keeps_three_labels():
    assert base_domain("openapi.alipay.com") == "alipay.com"
    assert base_domain("gateway.95516.com") == "95516.com"
    assert base_domain("pay.shop.com.cn") == "shop.com.cn"


# ---------------------------------------------------------------- system failure


def test_dns_when_system_fails_and_resolver_answers_reports_system_failure(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system_resolver(monkeypatch, {PAY: socket.gaierror(socket.EAI_AGAIN, "Temporary failure")})
    out, ctx = run_check(settings_for([{"name": "Honest", "address": server.address}]))
    f = finding(out, "dns.system_failure")
    assert f.severity == "fail" and f.target == PAY
    assert f.data["failure"] == fc.DNS_TIMEOUT
    assert f.data["resolver_answers"] == {"Honest": ["127.0.0.1"]}
    assert out.resolved_status() == "fail"
    assert ctx.shared.get("dns.system_answers") == {PAY: []}


def test_dns_when_system_fails_and_no_resolver_answers_reports_unconfirmed_warning(
        monkeypatch, dns_server):
    monkeypatch.setattr(resolution, "QUERY_CAP_S", 0.3)
    silent = dns_server(mode="silent")
    fake_system_resolver(monkeypatch, {PAY: socket.gaierror(socket.EAI_AGAIN, "Temporary failure")})
    out, _ = run_check(settings_for([{"name": "Silent", "address": silent.address}]))
    f = finding(out, "dns.system_failure")
    assert f.severity == "warn" and f.data["confirmed"] is False
    assert finding(out, "dns.resolver_unreachable").target == "Silent"


def test_dns_when_name_does_not_exist_anywhere_reports_no_system_failure(monkeypatch, dns_server):
    server = dns_server({})
    fake_system_resolver(monkeypatch, {})
    out, _ = run_check(settings_for([{"name": "Honest", "address": server.address}]))
    assert "dns.system_failure" not in codes(out)
    assert "dns.resolver_unreachable" not in codes(out)


# ---------------------------------------------------------------- unreachable / broken resolvers


@pytest.mark.parametrize("mode,failure", [
    ("silent", fc.DNS_TIMEOUT),
    ("servfail", fc.DNS_SERVFAIL),
    ("malformed", fc.DNS_BOGUS_REPLY),
    ("badid", fc.DNS_BOGUS_REPLY),
])
def test_dns_when_resolver_broken_reports_resolver_unreachable_not_failure(
        monkeypatch, dns_server, mode, failure):
    monkeypatch.setattr(resolution, "QUERY_CAP_S", 0.4)
    good = dns_server({PAY: ["127.0.0.1"]})
    bad = dns_server({PAY: ["127.0.0.1"]}, mode=mode)
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.1"]})
    out, _ = run_check(settings_for([{"name": "Good", "address": good.address},
                                     {"name": "Broken", "address": bad.address}]))
    f = finding(out, "dns.resolver_unreachable")
    assert f.target == "Broken" and f.severity == "warn"
    assert f.data["failure"] == failure
    assert codes(out) == {"dns.resolver_unreachable"}  # not a DNS failure of the device
    assert out.resolved_status() == "warn"
    broken = [e for e in out.evidence if e.get("resolver") == "Broken" and e.get("name") == PAY]
    assert broken and all(e["failure"] == failure for e in broken)


def test_dns_when_udp_answer_truncated_retries_over_tcp(monkeypatch, dns_server):
    many = [f"127.0.{i // 250}.{i % 250 + 1}" for i in range(400)]  # a huge answer: ~6.5 kB
    server = dns_server({PAY: many}, mode="truncate")
    fake_system_resolver(monkeypatch, {PAY: many[:3]})
    out, _ = run_check(settings_for([{"name": "Big", "address": server.address}]))
    a = [e for e in out.evidence if e.get("resolver") == "Big" and e.get("type") == "A"
         and e["name"] == PAY][0]
    assert a["protocol"] == "udp+tcp" and a["answer_count"] == 400 and len(a["answers"]) == 16
    assert "dns.resolver_unreachable" not in codes(out) and "dns.hijack" not in codes(out)


def test_dns_over_tcp_protocol_queries_tcp(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.1"]})
    out, _ = run_check(settings_for([{"name": "T", "address": server.address, "protocol": "tcp"}]))
    a = [e for e in out.evidence if e.get("resolver") == "T" and e.get("type") == "A"
         and e["name"] == PAY][0]
    assert a["answers"] == ["127.0.0.1"] and a["protocol"] == "tcp"
    assert codes(out) == set()


# ---------------------------------------------------------------- slow


def test_dns_when_resolver_slow_reports_slow_for_that_resolver(monkeypatch, dns_server):
    slow = dns_server({PAY: ["127.0.0.1"]}, delay_s=0.15)
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.1"]})
    out, _ = run_check(settings_for([{"name": "Slow", "address": slow.address}], slow_ms=50))
    f = finding(out, "dns.slow")
    assert f.target == "Slow" and f.data["resolver"] == "Slow" and f.data["p50_ms"] > 50
    # Apps do not ask it: noted, not a problem (the check stays ok).
    assert f.severity == "info" and out.resolved_status() == "ok"


def test_dns_when_system_resolver_slow_reports_a_warning(monkeypatch, dns_server):
    fast = dns_server({PAY: ["127.0.0.1"]})
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.1"]}, delay_s=0.15)
    out, _ = run_check(settings_for([{"name": "Fast", "address": fast.address}], slow_ms=50))
    f = finding(out, "dns.slow")
    assert f.target == "system" and f.severity == "warn" and out.resolved_status() == "warn"


def test_dns_when_resolver_fast_enough_reports_no_slow(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.1"]})
    out, _ = run_check(settings_for([{"name": "Fast", "address": server.address}], slow_ms=5000))
    assert "dns.slow" not in codes(out)


# ---------------------------------------------------------------- fake-ip


def test_dns_when_system_answers_fake_ip_reports_fake_ip_not_hijack(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system_resolver(monkeypatch, {PAY: ["198.18.0.7"]})
    out, _ = run_check(settings_for([{"name": "Honest", "address": server.address}]))
    f = finding(out, "dns.fake_ip")
    assert f.target == PAY and f.data["system_answers"] == ["198.18.0.7"]
    assert "dns.hijack" not in codes(out)


def test_dns_when_fake_ip_answers_everything_reports_no_nxdomain_rewrite(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system_resolver(monkeypatch, {}, default=["198.18.3.4"])
    out, _ = run_check(settings_for([{"name": "Honest", "address": server.address}]))
    assert "dns.fake_ip" in codes(out)
    assert "dns.nxdomain_rewrite" not in codes(out)


# ---------------------------------------------------------------- hijack


@pytest.fixture
def tls_pair(ca, tmp_path) -> Iterator[Callable[[list[str], list[str]], tuple[int, str]]]:
    """Two TLS servers on one port: 127.0.0.1 (the true server) and 127.0.0.2."""
    servers: list[HttpServer] = []

    def make(true_names: list[str], other_names: list[str]) -> tuple[int, str]:
        for _ in range(20):
            first = HttpServer(ssl_ctx=server_ctx(ca.issue_cert(*true_names)))
            try:
                second = HttpServer(ssl_ctx=server_ctx(ca.issue_cert(*other_names)),
                                    ip="127.0.0.2", port=first.port)
                break
            except OSError:
                first.close()
        servers.extend([first, second])
        return first.port, write_ca_file(ca, tmp_path)

    yield make
    for s in servers:
        s.close()


def hijack_settings(server: FakeDns, ca_path: str) -> Any:
    return config.load(overrides={"ca_file": ca_path, "dns": {
        "names": [PAY], "resolvers": [{"name": "Trusted", "address": server.address}]}})


def test_dns_when_system_answer_fails_tls_reports_hijack(monkeypatch, dns_server, tls_pair):
    port, ca_path = tls_pair([PAY], ["portal.evil.example"])
    monkeypatch.setattr(DnsCheck, "tls_port", port)
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.2"]})
    out, _ = run_check(hijack_settings(server, ca_path))
    f = finding(out, "dns.hijack")
    assert f.severity == "fail" and f.target == PAY
    assert f.data["failure"] == fc.TLS_HOSTNAME_MISMATCH and f.data["reason"] == "tls_failed"
    assert f.data["system_answers"] == ["127.0.0.2"]
    assert f.data["resolver_answers"] == {"Trusted": ["127.0.0.1"]}


def test_dns_when_answers_differ_but_tls_validates_reports_no_hijack(monkeypatch, dns_server,
                                                                      tls_pair):
    # A CDN: another edge address, a valid certificate for the name. Not a hijack.
    port, ca_path = tls_pair([PAY], [PAY])
    monkeypatch.setattr(DnsCheck, "tls_port", port)
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.2"]})
    out, _ = run_check(hijack_settings(server, ca_path))
    assert "dns.hijack" not in codes(out)
    probe = [e for e in out.evidence if e.get("what") == "hijack_probe"][0]
    assert probe["reason"] == "tls_valid" and probe["hijack"] is False


def test_dns_when_tls_fails_on_trusted_answer_too_reports_no_hijack(monkeypatch, dns_server,
                                                                     tls_pair):
    # Both answers fail TLS (a broken trust store, a TLS-intercepting network):
    # the system's answer is not what is wrong, so this is inconclusive.
    port, ca_path = tls_pair(["elsewhere.example"], ["portal.evil.example"])
    monkeypatch.setattr(DnsCheck, "tls_port", port)
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.2"]})
    out, _ = run_check(hijack_settings(server, ca_path))
    assert "dns.hijack" not in codes(out)
    probe = [e for e in out.evidence if e.get("what") == "hijack_probe"][0]
    assert probe["reason"] == "inconclusive"


def test_dns_when_answers_agree_never_probes_tls(monkeypatch, dns_server, tls_pair):
    port, ca_path = tls_pair(["portal.evil.example"], ["portal.evil.example"])
    monkeypatch.setattr(DnsCheck, "tls_port", port)
    server = dns_server({PAY: ["127.0.0.1", "127.0.0.2"]})
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.2"]})
    out, _ = run_check(hijack_settings(server, ca_path))
    assert "dns.hijack" not in codes(out)
    assert not [e for e in out.evidence if e.get("what") == "hijack_probe"]


def test_dns_when_system_answers_private_where_resolvers_public_reports_hijack(monkeypatch,
                                                                              dns_server):
    # Decided without any traffic: no TLS probe is sent to either address.
    server = dns_server({PAY: ["93.184.216.34"]})
    fake_system_resolver(monkeypatch, {PAY: ["10.10.10.10"]})

    def no_traffic(*a: Any, **kw: Any) -> Any:
        raise AssertionError("the bogon branch must not connect anywhere")

    monkeypatch.setattr(net, "connect", no_traffic)
    out, _ = run_check(settings_for([{"name": "Trusted", "address": server.address}]))
    f = finding(out, "dns.hijack")
    assert f.data["reason"] == "bogon" and f.data["system_answers"] == ["10.10.10.10"]


# ---------------------------------------------------------------- NXDOMAIN rewriting


def test_dns_when_invalid_tld_resolves_reports_nxdomain_rewrite(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.1"]}, default=["127.0.0.99"])
    out, _ = run_check(settings_for([{"name": "Honest", "address": server.address}]))
    f = finding(out, "dns.nxdomain_rewrite")
    assert f.severity == "warn" and f.data["probe"] == "invalid_tld"
    assert f.data["system_answers"] == ["127.0.0.99"]


def test_dns_when_random_name_under_payment_domain_resolves_only_via_system_reports_rewrite(
        monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"]})

    class UnderOnly(dict):
        def get(self, key: str, default: Any = None) -> Any:
            if key.endswith(".example.com") and key.startswith("payprobe-"):
                return ["127.0.0.98"]
            return super().get(key, default)

    fake_system_resolver(monkeypatch, UnderOnly({PAY: ["127.0.0.1"]}))
    out, _ = run_check(settings_for([{"name": "Honest", "address": server.address}]))
    f = finding(out, "dns.nxdomain_rewrite")
    assert f.target == "example.com" and f.data["probe"] == "confirmed_nxdomain"


def test_dns_when_domain_has_wildcard_record_reports_no_rewrite(monkeypatch, dns_server):
    server = dns_server(mode="wildcard", wildcard=["127.0.0.1"])

    class Wildcard(dict):
        def get(self, key: str, default: Any = None) -> Any:
            return ["127.0.0.1"] if key.endswith("example.com") else None

    fake_system_resolver(monkeypatch, Wildcard())
    out, _ = run_check(settings_for([{"name": "Wild", "address": server.address}]))
    assert "dns.nxdomain_rewrite" not in codes(out)
    probe = [e for e in out.evidence if e.get("what") == "nxdomain_probe"][0]
    assert probe["reason"] == "wildcard"


def test_dns_when_nonexistent_names_fail_reports_no_rewrite(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.1"]})
    out, _ = run_check(settings_for([{"name": "Honest", "address": server.address}]))
    assert "dns.nxdomain_rewrite" not in codes(out)


# ---------------------------------------------------------------- DoT and DoH


@pytest.fixture
def dot_server(ca, dns_server) -> Iterator[tuple[int, FakeDns]]:
    backend = dns_server({PAY: ["127.0.0.1"]})
    with DotServer(backend, server_ctx(ca.issue_cert("dot.test"))) as server:
        yield server.port, backend


def test_dns_over_tls_answers_with_hostname_verified(monkeypatch, ca, dot_server, tmp_path):
    port, _ = dot_server
    ca_path = write_ca_file(ca, tmp_path)
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.1"]})
    settings = config.load(overrides={"ca_file": str(ca_path), "dns": {"names": [PAY], "resolvers": [
        {"name": "DoT", "address": f"127.0.0.1:{port}", "protocol": "dot", "hostname": "dot.test"},
        {"name": "DoT wrong name", "address": f"127.0.0.1:{port}", "protocol": "dot",
         "hostname": "other.test"}]}})
    out, _ = run_check(settings)
    good = [e for e in out.evidence if e.get("resolver") == "DoT" and e.get("type") == "A"
            and e["name"] == PAY][0]
    assert good["answers"] == ["127.0.0.1"]
    f = finding(out, "dns.resolver_unreachable")
    assert f.target == "DoT wrong name" and f.data["failure"] == fc.TLS_HOSTNAME_MISMATCH


@pytest.fixture
def doh_server(ca, dns_server) -> Iterator[tuple[int, list[str]]]:
    server = DohServer(dns_server({PAY: ["127.0.0.1", "::1"]}), server_ctx(ca.issue_cert("doh.test")))
    yield server.port, server.paths
    server.close()


def test_dns_over_https_answers_and_http_errors_are_classified(monkeypatch, ca, doh_server,
                                                               tmp_path):
    port, paths = doh_server
    ca_path = write_ca_file(ca, tmp_path)
    # Reached at its configured address; the system resolver cannot resolve doh.test.
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.1", "::1"]})
    settings = config.load(overrides={"ca_file": str(ca_path), "dns": {"names": [PAY], "resolvers": [
        {"name": "DoH", "url": "https://doh.test/dns-query", "address": f"127.0.0.1:{port}",
         "protocol": "doh"},
        {"name": "DoH bad path", "url": "https://doh.test/nope", "address": f"127.0.0.1:{port}",
         "protocol": "doh"}]}})
    out, _ = run_check(settings)
    answers = {e["type"]: e["answers"] for e in out.evidence
               if e.get("resolver") == "DoH" and e.get("name") == PAY}
    assert answers == {"A": ["127.0.0.1"], "AAAA": ["::1"]}
    f = finding(out, "dns.resolver_unreachable")
    assert f.target == "DoH bad path" and f.data["failure"] == fc.HTTP_STATUS_4XX
    assert "/dns-query" in paths


# ---------------------------------------------------------------- through the runner


def test_dns_through_runner_reports_system_failure_and_publishes_answers(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"], "ok.example.org": ["127.0.0.3"]})
    fake_system_resolver(monkeypatch, {"ok.example.org": ["127.0.0.3"],
                              PAY: socket.gaierror(socket.EAI_NONAME, "Name or service not known")})
    settings = settings_for([{"name": "Honest", "address": server.address}],
                            names=[PAY, "ok.example.org"])
    runner = Runner(settings, LINUX)
    loaded = LoadedCheck(name="dns", target="payprobe.checks.resolution:DnsCheck", cls=DnsCheck, builtin=True)
    result = runner.run([loaded], deadline_s=8.0).results[0]
    assert result.status == "fail", result.summary
    assert [f.code for f in result.findings] == ["dns.system_failure"]
    assert result.findings[0].target == PAY
    assert runner.shared.get("dns.system_answers") == {PAY: [], "ok.example.org": ["127.0.0.3"]}
    assert "1/2 names resolved" in result.summary


def test_dns_when_deadline_tiny_ends_without_crash(monkeypatch, dns_server):
    monkeypatch.setattr(resolution, "QUERY_CAP_S", 5.0)
    silent = dns_server(mode="silent")

    def slow_resolve(host: str, port: int, *, timeout: float, family: int = 0) -> list[str]:
        time.sleep(timeout)
        raise socket.gaierror(socket.EAI_AGAIN, "timed out")

    monkeypatch.setattr(net, "resolve", slow_resolve)
    settings = settings_for([{"name": "Silent", "address": silent.address}])
    runner = Runner(settings, LINUX)
    loaded = LoadedCheck(name="dns", target="payprobe.checks.resolution:DnsCheck", cls=DnsCheck, builtin=True)
    result = runner.run([loaded], deadline_s=1.0).results[0]
    assert result.status in ("warn", "fail", "timeout")
    assert result.error in (None, fc.GENERIC_TIMEOUT)


# ---------------------------------------------------------------- found in the network lab


def two_resolver_settings(intercepted: FakeDns, honest: FakeDns, ca_path: str) -> Any:
    return config.load(overrides={"ca_file": ca_path, "dns": {"names": [PAY], "resolvers": [
        {"name": "Intercepted", "address": intercepted.address},
        {"name": "Honest", "address": honest.address}]}})


def test_dns_when_system_agrees_with_intercepted_resolver_but_fails_tls_reports_hijack(
        monkeypatch, dns_server, tls_pair):
    # Lab: port 53 of the system resolver DNAT'ed to a hijacker, and that address is
    # also a configured resolver: the system "agreed" with it and no hijack was seen.
    port, ca_path = tls_pair([PAY], ["portal.evil.example"])
    monkeypatch.setattr(DnsCheck, "tls_port", port)
    intercepted = dns_server({PAY: ["127.0.0.2"]})
    honest = dns_server({PAY: ["127.0.0.1"]})
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.2"]})
    out, _ = run_check(two_resolver_settings(intercepted, honest, ca_path))
    f = finding(out, "dns.hijack")
    assert f.target == PAY and f.data["reason"] == "tls_failed"
    assert f.data["failure"] == fc.TLS_HOSTNAME_MISMATCH
    assert f.data["agreeing_resolvers"] == ["Intercepted"]
    assert f.data["resolver_answers"] == {"Intercepted": ["127.0.0.2"], "Honest": ["127.0.0.1"]}
    assert "Intercepted" in f.message


def test_dns_when_system_agrees_with_one_resolver_and_tls_validates_no_hijack(
        monkeypatch, dns_server, tls_pair):
    # Resolvers giving different CDN nodes, the system one of them: not a hijack.
    port, ca_path = tls_pair([PAY], [PAY])
    monkeypatch.setattr(DnsCheck, "tls_port", port)
    one = dns_server({PAY: ["127.0.0.2"]})
    other = dns_server({PAY: ["127.0.0.1"]})
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.2"]})
    out, _ = run_check(two_resolver_settings(one, other, ca_path))
    assert "dns.hijack" not in codes(out)
    (probe,) = [e for e in out.evidence if e.get("what") == "hijack_probe"]
    assert probe["reason"] == "tls_valid" and probe["agreeing_resolvers"] == ["Intercepted"]


def test_dns_when_system_agrees_with_one_resolver_never_uses_bogon_rule(monkeypatch, dns_server):
    # A private answer that a trusted resolver also gives (a split-horizon DNS) is
    # not judged by the bogon rule; with no TLS server there, it is inconclusive.
    one = dns_server({PAY: ["127.0.0.2"]})
    other = dns_server({PAY: ["93.184.216.34"]})
    fake_system_resolver(monkeypatch, {PAY: ["127.0.0.2"]})
    monkeypatch.setattr(DnsCheck, "tls_port", 9)  # discard port: nothing listens, refused
    monkeypatch.setattr(net, "connect", lambda *a, **kw: (_ for _ in ()).throw(
        ConnectionRefusedError(111, "Connection refused")))
    out, _ = run_check(settings_for([{"name": "Split", "address": one.address},
                                     {"name": "Public", "address": other.address}]))
    assert "dns.hijack" not in codes(out)
    (probe,) = [e for e in out.evidence if e.get("what") == "hijack_probe"]
    assert probe["reason"] == "inconclusive"


def test_query_evidence_when_a_resolver_floods_answers_keeps_a_few_and_the_count():
    from payprobe.checks.resolution import EVIDENCE_ANSWERS, QueryResult
    flood = [f"203.0.113.{i % 250}" for i in range(4000)]
    r = QueryResult(resolver="Flood", name="openapi.alipay.com", qtype="A", protocol="udp")
    r.answers = flood
    ev = r.to_evidence()
    assert ev["answer_count"] == 4000
    assert ev["answers"] == flood[:EVIDENCE_ANSWERS]
