"""The dns check's configured resolvers: how they are reached and when they are given up
(checks/_dns_resolvers.py, checks/_dns_transport.py).

- A resolver that answers none of its probe queries is silent for the rest of the
  run: exactly ``PROBE_QUERIES`` queries reach it, however many names there are,
  and the others are recorded as not sent (``skipped = "resolver_silent"``). A
  silent resolver does not hold up the others.
- DoH/DoT resolvers are reached at the IP the config gives (``address``, or an IP
  URL host), never by looking their name up through the system resolver under
  test; one with only a name is reported as not bootstrapped and never queried.

Every server is on 127.0.0.1; ``socket.getaddrinfo`` is replaced where the test
is about what was (not) looked up.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from payprobe import classify as fc
from payprobe import net
from payprobe.api import Outcome
from payprobe.checks import resolution
from payprobe.checks._dns_resolvers import PROBE_QUERIES, SILENT
from payprobe.checks._dns_transport import Server, server_of
from payprobe.checks.resolution import DnsCheck
from payprobe.engine import config
from payprobe.settings import Resolver

from tests.helpers import codes, finding, findings, make_ctx
from tests.servers import DohServer, FakeDns, fake_system_resolver, server_ctx, write_ca_file

NAMES = [f"pay{i}.example.com" for i in range(6)]
ADDRESS = "127.0.0.1"
# Per resolver: A and AAAA of each name, plus the A of one random name under the
# first name's domain (the NXDOMAIN-rewriting probe).
QUERIES_PER_RESOLVER = 2 * len(NAMES) + 1


def run_check(resolvers: list[dict[str, Any]], *, names: list[str] | None = None,
              budget_s: float = 8.0, **top: Any) -> Outcome:
    settings = config.load(overrides={**top, "dns": {"names": names or NAMES,
                                                    "resolvers": resolvers}})
    ctx = make_ctx(settings.dns, settings=settings, deadline_s=budget_s)
    return DnsCheck().run(ctx)


def queries_of(out: Outcome, resolver: str) -> list[dict[str, Any]]:
    return [e for e in out.evidence if e.get("what") == "dns_query" and e["resolver"] == resolver]


def true_answers(names: list[str]) -> dict[str, list[str]]:
    return {n: [f"127.0.1.{i + 1}"] for i, n in enumerate(names)}


@pytest.fixture
def quick_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    # A silent resolver costs one query timeout; keep it short.
    monkeypatch.setattr(resolution, "QUERY_CAP_S", 0.3)


class DropsAaaa(FakeDns):
    """Answers A queries honestly and never answers AAAA (some home routers do that)."""

    def reply(self, wire: bytes, *, over_tcp: bool) -> bytes | None:
        out = super().reply(wire, over_tcp=over_tcp)
        return None if self.queries[-1][1] == "AAAA" else out


class CountingListener:
    """A TCP port on 127.0.0.1 that accepts connections, counts them, and never speaks."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((ADDRESS, 0))
        self.sock.listen(32)
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="silent-tcp")
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(conn)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        for conn in [*self.accepted, self.sock]:
            conn.close()


@pytest.fixture
def silent_tcp() -> Iterator[CountingListener]:
    listener = CountingListener()
    yield listener
    listener.close()


# ---------------------------------------------------------------- a silent resolver is given up


def test_silent_resolver_when_many_names_receives_only_its_probe_queries(
        monkeypatch, dns_server, quick_timeouts):
    silent = dns_server(mode="silent")
    fake_system_resolver(monkeypatch, true_answers(NAMES))
    out = run_check([{"name": "silent", "address": silent.address}])
    # The rule: the A and AAAA of the first name are sent; nothing came back, so
    # the other QUERIES_PER_RESOLVER - 2 queries are never sent (not 13 timeouts).
    assert sorted(silent.queries) == [(NAMES[0], "A"), (NAMES[0], "AAAA")]
    assert len(silent.queries) == PROBE_QUERIES
    mine = queries_of(out, "silent")
    assert len(mine) == QUERIES_PER_RESOLVER
    sent = [e for e in mine if "skipped" not in e]
    not_sent = [e for e in mine if e.get("skipped") == SILENT]
    assert len(sent) == PROBE_QUERIES and len(not_sent) == QUERIES_PER_RESOLVER - PROBE_QUERIES
    assert {e["failure"] for e in sent} == {fc.DNS_TIMEOUT}
    for e in not_sent:
        # Recorded with the probes' failure, no time: nothing was measured.
        assert e["failure"] == fc.DNS_TIMEOUT and e["seconds"] is None and e["rcode"] is None
        assert e["error"].startswith("not sent: resolver silent")
    f = finding(out, "dns.resolver_unreachable", "silent")
    assert f.severity == "warn"
    assert f.data["failures"] == {fc.DNS_TIMEOUT: PROBE_QUERIES}  # only what was sent counts
    assert f"given up, {QUERIES_PER_RESOLVER - PROBE_QUERIES} more not sent" in f.message
    assert not [m for m in out.metrics if m.labels.get("resolver") == "silent"]
    assert "0/1 trusted resolvers answered" in out.summary


def test_silent_resolvers_when_several_each_receives_only_its_probes(
        monkeypatch, dns_server, quick_timeouts):
    silents = [dns_server(mode="silent") for _ in range(3)]
    honest = dns_server(true_answers(NAMES))
    fake_system_resolver(monkeypatch, true_answers(NAMES))
    out = run_check([{"name": f"silent{i}", "address": s.address} for i, s in enumerate(silents)]
                    + [{"name": "honest", "address": honest.address}])
    for i, s in enumerate(silents):
        assert len(s.queries) == PROBE_QUERIES, i
        assert finding(out, "dns.resolver_unreachable", f"silent{i}").data["failures"] == {
            fc.DNS_TIMEOUT: PROBE_QUERIES}
    assert len(honest.queries) == QUERIES_PER_RESOLVER
    assert [f.target for f in findings(out, "dns.resolver_unreachable")] == [
        "silent0", "silent1", "silent2"]


def test_silent_resolver_when_listed_first_does_not_hold_up_the_others(monkeypatch, dns_server):
    # The silent resolver's probes may wait the whole budget (no per-query cap below
    # it): whatever the others answer must still be in the report when it ends.
    monkeypatch.setattr(resolution, "QUERY_CAP_S", 60.0)
    silent = dns_server(mode="silent")
    answers = true_answers(NAMES)
    working = [dns_server(answers) for _ in range(2)]
    fake_system_resolver(monkeypatch, answers)
    out = run_check([{"name": "silent", "address": silent.address}]
                    + [{"name": f"ok{i}", "address": s.address} for i, s in enumerate(working)],
                    budget_s=2.0)
    for i, server in enumerate(working):
        assert len(server.queries) == QUERIES_PER_RESOLVER
        got = {(e["name"], e["type"]): e for e in queries_of(out, f"ok{i}")}
        for name in NAMES:
            assert got[(name, "A")]["rcode"] == "NOERROR", got[(name, "A")]
            assert got[(name, "A")]["answers"] == answers[name]
            assert got[(name, "AAAA")]["rcode"] == "NOERROR" and got[(name, "AAAA")]["answers"] == []
    assert [f.target for f in findings(out, "dns.resolver_unreachable")] == ["silent"]
    assert not {"dns.system_failure", "dns.hijack"} & codes(out)
    assert "2/3 trusted resolvers answered" in out.summary


def test_resolver_when_it_drops_only_aaaa_is_not_given_up(monkeypatch, quick_timeouts):
    answers = true_answers(NAMES)
    server = DropsAaaa(answers)
    try:
        fake_system_resolver(monkeypatch, answers)
        out = run_check([{"name": "v4only", "address": server.address}])
    finally:
        server.close()
    # One probe came back, so every query was sent.
    assert len(server.queries) == QUERIES_PER_RESOLVER
    mine = queries_of(out, "v4only")
    assert not [e for e in mine if "skipped" in e]
    assert {e["name"]: e["answers"] for e in mine if e["type"] == "A" and e["name"] in NAMES} == answers
    assert "dns.resolver_unreachable" not in codes(out)


def test_resolver_when_it_answers_servfail_is_not_given_up(monkeypatch, dns_server, quick_timeouts):
    # It answers, only to say no: not silent, so every query is sent and counted.
    servfail = dns_server(mode="servfail")
    fake_system_resolver(monkeypatch, true_answers(NAMES))
    out = run_check([{"name": "servfail", "address": servfail.address}])
    assert len(servfail.queries) == QUERIES_PER_RESOLVER
    mine = queries_of(out, "servfail")
    assert not [e for e in mine if "skipped" in e]
    f = finding(out, "dns.resolver_unreachable", "servfail")
    assert f.data["failures"] == {fc.DNS_SERVFAIL: QUERIES_PER_RESOLVER}
    assert "not sent" not in f.message


@pytest.mark.parametrize("protocol", ["dot", "doh"])
def test_silent_encrypted_resolver_when_tls_never_starts_gets_only_its_probe_connections(
        monkeypatch, silent_tcp, quick_timeouts, protocol):
    # A DoT/DoH server that accepts TCP and says nothing (a middlebox eating port
    # 853/443): two connections, then given up.
    fake_system_resolver(monkeypatch, true_answers(NAMES))
    resolver = {"name": "mute", "address": f"{ADDRESS}:{silent_tcp.port}", "protocol": protocol,
                "hostname": "mute.test"}
    if protocol == "doh":
        resolver["url"] = "https://mute.test/dns-query"
    out = run_check([resolver])
    assert len(silent_tcp.accepted) == PROBE_QUERIES
    mine = queries_of(out, "mute")
    assert len([e for e in mine if e.get("skipped") == SILENT]) == QUERIES_PER_RESOLVER - PROBE_QUERIES
    f = finding(out, "dns.resolver_unreachable", "mute")
    assert f"given up, {QUERIES_PER_RESOLVER - PROBE_QUERIES} more not sent" in f.message


# ---------------------------------------------------------------- DoH/DoT bootstrap


class CountingGetaddrinfo:
    """socket.getaddrinfo that knows only ``table`` (and IP literals), counting lookups by host."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, table: dict[str, str]) -> None:
        self.table = table
        self.calls: dict[str, int] = {}
        self._real: Callable[..., Any] = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        self.calls[name] = self.calls.get(name, 0) + 1
        try:
            ipaddress.ip_address(name)
        except ValueError:
            pass
        else:
            return self._real(host, port, *args, **kw)
        if name in self.table:
            return self._real(self.table[name], port, *args, **kw)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.fixture
def doh_backend(ca, dns_server) -> Iterator[tuple[DohServer, dict[str, list[str]]]]:
    answers = {NAMES[0]: ["127.0.1.1", "::1"]}
    server = DohServer(dns_server(answers), server_ctx(ca.issue_cert("doh.test")))
    yield server, answers
    server.close()


def test_doh_when_address_configured_is_reached_without_looking_up_its_name(
        monkeypatch, ca, tmp_path, doh_backend):
    server, answers = doh_backend
    # The system resolver knows the payment name only: doh.test does not resolve.
    lookups = CountingGetaddrinfo(monkeypatch, {NAMES[0]: "127.0.1.1"})
    out = run_check([{"name": "DoH", "protocol": "doh", "url": "https://doh.test/dns-query",
                      "address": f"{ADDRESS}:{server.port}"}],
                    names=[NAMES[0]], ca_file=write_ca_file(ca, tmp_path))
    got = {e["type"]: e for e in queries_of(out, "DoH") if e["name"] == NAMES[0]}
    assert got["A"]["answers"] == ["127.0.1.1"] and got["AAAA"]["answers"] == ["::1"]
    assert {e["protocol"] for e in got.values()} == {"doh"}
    assert server.paths.count("/dns-query") == 3  # A, AAAA, the NXDOMAIN-rewrite probe
    assert lookups.calls.get("doh.test", 0) == 0
    assert lookups.calls.get(NAMES[0], 0) >= 1  # the system resolver was asked, through the fake
    assert "dns.resolver_unreachable" not in codes(out)
    assert not [e for e in out.evidence if e.get("what") == "resolver_not_bootstrapped"]
    assert "1/1 trusted resolvers answered" in out.summary


def test_doh_when_url_host_is_an_ip_is_reached_there_with_the_configured_tls_name(
        monkeypatch, ca, tmp_path, doh_backend):
    server, _ = doh_backend
    lookups = CountingGetaddrinfo(monkeypatch, {NAMES[0]: "127.0.1.1"})
    out = run_check([{"name": "DoH by IP", "protocol": "doh", "hostname": "doh.test",
                      "url": f"https://{ADDRESS}:{server.port}/dns-query"}],
                    names=[NAMES[0]], ca_file=write_ca_file(ca, tmp_path))
    got = {e["type"]: e["answers"] for e in queries_of(out, "DoH by IP") if e["name"] == NAMES[0]}
    assert got == {"A": ["127.0.1.1"], "AAAA": ["::1"]}
    assert lookups.calls.get("doh.test", 0) == 0


def test_doh_without_address_when_url_host_is_a_name_is_not_bootstrapped_nor_looked_up(
        monkeypatch, dns_server):
    lookups = CountingGetaddrinfo(monkeypatch, {NAMES[0]: "127.0.1.1"})
    honest = dns_server({NAMES[0]: ["127.0.1.1"]})
    out = run_check([{"name": "DoH by name", "protocol": "doh", "url": "https://doh.test/dns-query"},
                     {"name": "honest", "address": honest.address}], names=[NAMES[0]])
    assert lookups.calls.get("doh.test", 0) == 0
    assert queries_of(out, "DoH by name") == []
    (note,) = [e for e in out.evidence if e.get("what") == "resolver_not_bootstrapped"]
    assert note["resolver"] == "DoH by name" and note["protocol"] == "doh"
    assert note["queried"] is False
    assert "system resolver under test" in note["reason"]
    assert "not queried (no bootstrap address): DoH by name" in out.summary
    # Nothing about the network was seen: not a finding, and not "unreachable".
    assert not findings(out, "dns.resolver_unreachable", "DoH by name")
    assert "1/1 trusted resolvers answered" in out.summary


def test_default_profile_when_loaded_reaches_every_resolver_by_ip():
    settings = config.load()
    servers = {r.name: server_of(r) for r in settings.dns.resolvers}
    assert None not in servers.values(), servers
    assert servers["AliDNS DoH"] == Server("223.5.5.5", 443, "dns.alidns.com",
                                           "https://dns.alidns.com/dns-query")


@pytest.mark.parametrize("resolver,expected", [
    (Resolver("v6", url="https://dns.example/dns-query", address="[2400:3200::1]:8443",
              protocol="doh"),
     Server("2400:3200::1", 8443, "dns.example", "https://dns.example/dns-query")),
    (Resolver("v6 bare", url="https://dns.example:8443/q", address="2400:3200::1", protocol="doh"),
     Server("2400:3200::1", 8443, "dns.example", "https://dns.example:8443/q")),
    (Resolver("ip url", url="https://[2400:3200::1]/dns-query", protocol="doh"),
     Server("2400:3200::1", 443, "2400:3200::1", "https://[2400:3200::1]/dns-query")),
    (Resolver("dot", address="1.1.1.1", protocol="dot", hostname="one.one.one.one"),
     Server("1.1.1.1", 853, "one.one.one.one")),
    (Resolver("dot no name", address="1.1.1.1:8853", protocol="dot"), Server("1.1.1.1", 8853, "1.1.1.1")),
    (Resolver("doh by name", url="https://dns.example/dns-query", protocol="doh"), None),
    (Resolver("doh name as address", url="https://dns.example/dns-query", address="dns.example",
              protocol="doh"), None),
])
def test_server_of_when_resolver_configured_gives_ip_port_and_tls_name(resolver, expected):
    assert server_of(resolver) == expected


def test_doh_resolver_when_reached_sends_the_url_host_as_tls_name_not_the_ip(monkeypatch):
    # What reaches the wire: connect to the IP, verify (and SNI) the URL's host.
    seen: dict[str, Any] = {}

    def connect(address: str, port: int, *, timeout: float) -> Any:
        seen["connect"] = (address, port)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(net, "connect", connect)
    lookups = CountingGetaddrinfo(monkeypatch, {NAMES[0]: "127.0.1.1"})
    out = run_check([{"name": "AliDNS DoH", "protocol": "doh", "address": "223.5.5.5",
                      "url": "https://dns.alidns.com/dns-query"}], names=[NAMES[0]])
    assert seen["connect"] == ("223.5.5.5", 443)
    assert lookups.calls.get("dns.alidns.com", 0) == 0
    f = finding(out, "dns.resolver_unreachable", "AliDNS DoH")
    assert f.data["failure"] == fc.CONNECTION_REFUSED
