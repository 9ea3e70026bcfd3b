"""The dns check against in-process DNS servers on 127.0.0.1 (UDP, TCP, DoT, DoH).

The "system" resolver (getaddrinfo) is replaced by a fake; the real one is
exercised in the network lab. Nothing here leaves the loopback interface: the
answers that name non-loopback addresses are never connected to (the bogon
and fake-ip branches decide without traffic).
"""

from __future__ import annotations

import http.server
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from payprobe import classify as fc
from payprobe import net
from payprobe.api import Blackboard, CheckContext, Outcome
from payprobe.checks import resolution
from payprobe.checks.resolution import DnsCheck, base_domain
from payprobe.engine import config
from payprobe.engine.registry import LoadedCheck
from payprobe.engine.runner import Runner
from payprobe.host import HostInfo

PAY = "pay.example.com"
HOST = HostInfo(platform="linux", termux=False, os="test", python="3")


# ---------------------------------------------------------------- fake DNS servers


class FakeDns:
    """A DNS server on UDP and TCP of one random 127.0.0.1 port.

    mode: honest (records, NXDOMAIN otherwise), wildcard (every name gets
    ``wildcard``), silent, servfail, malformed, badid, truncate (UDP sets TC,
    TCP answers in full).
    """

    def __init__(self, records: dict[str, list[str]] | None = None, *, mode: str = "honest",
                 wildcard: list[str] | None = None, delay_s: float = 0.0) -> None:
        self.records = {k.lower(): v for k, v in (records or {}).items()}
        self.mode = mode
        self.wildcard = wildcard or []
        self.delay_s = delay_s
        self.queries: list[tuple[str, str]] = []
        self._stop = threading.Event()
        for _ in range(20):
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", 0))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
        self.tcp.listen(16)
        self.udp.settimeout(0.1)
        self.tcp.settimeout(0.1)
        threading.Thread(target=self._udp_loop, daemon=True).start()
        threading.Thread(target=self._tcp_loop, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stop.set()
        self.udp.close()
        self.tcp.close()

    def reply(self, wire: bytes, *, over_tcp: bool) -> bytes | None:
        q = dns.message.from_wire(wire)
        qname = q.question[0].name.to_text().rstrip(".").lower()
        qtype = dns.rdatatype.to_text(q.question[0].rdtype)
        self.queries.append((qname, qtype))
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.mode == "silent":
            return None
        if self.mode == "malformed":
            return b"\x12\x34\x81"  # shorter than a DNS header
        r = dns.message.make_response(q)
        if self.mode == "servfail":
            r.set_rcode(dns.rcode.SERVFAIL)
            return r.to_wire()
        if self.mode == "badid":
            r.id = (q.id + 1) % 65536
            return r.to_wire()
        if self.mode == "truncate" and not over_tcp:
            r.flags |= dns.flags.TC
            return r.to_wire()
        addrs = self.wildcard if self.mode == "wildcard" else self.records.get(qname)
        if addrs is None:
            r.set_rcode(dns.rcode.NXDOMAIN)
            return r.to_wire()
        want = [a for a in addrs if (":" in a) == (qtype == "AAAA")]
        if want:
            r.answer.append(dns.rrset.from_text_list(q.question[0].name, 60, dns.rdataclass.IN,
                                                     q.question[0].rdtype, want))
        return r.to_wire()

    def _udp_loop(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self.udp.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            out = self.reply(wire, over_tcp=False)
            if out is not None:
                try:
                    self.udp.sendto(out, peer)
                except OSError:
                    pass

    def _tcp_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=serve_tcp_conn, args=(self, conn), daemon=True).start()


def _read_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def serve_tcp_conn(server: FakeDns, conn: socket.socket) -> None:
    try:
        conn.settimeout(5)
        (length,) = struct.unpack("!H", _read_exact(conn, 2))
        out = server.reply(_read_exact(conn, length), over_tcp=True)
        if out is None:
            time.sleep(5)  # silent: hold the connection open, answer nothing
            return
        conn.sendall(struct.pack("!H", len(out)) + out)
    except (OSError, ConnectionError):
        pass
    finally:
        conn.close()


@pytest.fixture
def dns_server() -> Iterator[Callable[..., FakeDns]]:
    made: list[FakeDns] = []

    def make(*args: Any, **kw: Any) -> FakeDns:
        s = FakeDns(*args, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


# ---------------------------------------------------------------- the fake system resolver


def fake_system(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str] | BaseException],
                default: list[str] | BaseException | None = None) -> None:
    """Replace getaddrinfo (payprobe.net.resolve) with a table; unknown names: NXDOMAIN."""

    def resolve(host: str, port: int, *, timeout: float, family: int = 0) -> list[str]:
        value = table.get(host.lower(), default)
        if value is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if isinstance(value, BaseException):
            raise value
        return list(value)

    monkeypatch.setattr(net, "resolve", resolve)


def settings_for(resolvers: list[dict[str, Any]], *, names: list[str] | None = None,
                 **dns_kw: Any) -> Any:
    return config.load(overrides={"dns": {"names": names or [PAY], "resolvers": resolvers, **dns_kw}})


def run_check(settings: Any, budget_s: float = 8.0) -> tuple[Outcome, CheckContext]:
    ctx = CheckContext(name="dns", config=settings.section("dns"), settings=settings,
                       deadline=time.monotonic() + budget_s, cancelled=threading.Event(),
                       shared=Blackboard(), host=HOST)
    return DnsCheck().run(ctx), ctx


def codes(out: Outcome) -> set[str]:
    return {f.code for f in out.findings}


def finding(out: Outcome, code: str) -> Any:
    matches = [f for f in out.findings if f.code == code]
    assert matches, f"no {code} in {[f.code for f in out.findings]}"
    return matches[0]


# ---------------------------------------------------------------- healthy


def test_dns_when_system_and_resolver_agree_reports_no_findings(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1", "::1"]})
    fake_system(monkeypatch, {PAY: ["127.0.0.1", "::1"]})
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
    ctx = CheckContext(name="dns", config=settings.section("dns"), settings=settings,
                       deadline=time.monotonic() + 1, cancelled=threading.Event(),
                       shared=Blackboard(), host=HOST)
    assert resolution.endpoint_names(ctx) == ["api.one.example", "two.example"]


def test_base_domain_when_cn_second_level_keeps_three_labels():
    assert base_domain("openapi.alipay.com") == "alipay.com"
    assert base_domain("gateway.95516.com") == "95516.com"
    assert base_domain("pay.shop.com.cn") == "shop.com.cn"


# ---------------------------------------------------------------- system failure


def test_dns_when_system_fails_and_resolver_answers_reports_system_failure(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system(monkeypatch, {PAY: socket.gaierror(socket.EAI_AGAIN, "Temporary failure")})
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
    fake_system(monkeypatch, {PAY: socket.gaierror(socket.EAI_AGAIN, "Temporary failure")})
    out, _ = run_check(settings_for([{"name": "Silent", "address": silent.address}]))
    f = finding(out, "dns.system_failure")
    assert f.severity == "warn" and f.data["confirmed"] is False
    assert finding(out, "dns.resolver_unreachable").target == "Silent"


def test_dns_when_name_does_not_exist_anywhere_reports_no_system_failure(monkeypatch, dns_server):
    server = dns_server({})
    fake_system(monkeypatch, {})
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
    fake_system(monkeypatch, {PAY: ["127.0.0.1"]})
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
    fake_system(monkeypatch, {PAY: many[:3]})
    out, _ = run_check(settings_for([{"name": "Big", "address": server.address}]))
    a = [e for e in out.evidence if e.get("resolver") == "Big" and e.get("type") == "A"
         and e["name"] == PAY][0]
    assert a["protocol"] == "udp+tcp" and a["answer_count"] == 400 and len(a["answers"]) == 16
    assert "dns.resolver_unreachable" not in codes(out) and "dns.hijack" not in codes(out)


def test_dns_over_tcp_protocol_queries_tcp(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system(monkeypatch, {PAY: ["127.0.0.1"]})
    out, _ = run_check(settings_for([{"name": "T", "address": server.address, "protocol": "tcp"}]))
    a = [e for e in out.evidence if e.get("resolver") == "T" and e.get("type") == "A"
         and e["name"] == PAY][0]
    assert a["answers"] == ["127.0.0.1"] and a["protocol"] == "tcp"
    assert codes(out) == set()


# ---------------------------------------------------------------- slow


def test_dns_when_resolver_slow_reports_slow_for_that_resolver(monkeypatch, dns_server):
    slow = dns_server({PAY: ["127.0.0.1"]}, delay_s=0.15)
    fake_system(monkeypatch, {PAY: ["127.0.0.1"]})
    out, _ = run_check(settings_for([{"name": "Slow", "address": slow.address}], slow_ms=50))
    f = finding(out, "dns.slow")
    assert f.target == "Slow" and f.data["resolver"] == "Slow" and f.data["p50_ms"] > 50


def test_dns_when_resolver_fast_enough_reports_no_slow(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system(monkeypatch, {PAY: ["127.0.0.1"]})
    out, _ = run_check(settings_for([{"name": "Fast", "address": server.address}], slow_ms=5000))
    assert "dns.slow" not in codes(out)


# ---------------------------------------------------------------- fake-ip


def test_dns_when_system_answers_fake_ip_reports_fake_ip_not_hijack(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system(monkeypatch, {PAY: ["198.18.0.7"]})
    out, _ = run_check(settings_for([{"name": "Honest", "address": server.address}]))
    f = finding(out, "dns.fake_ip")
    assert f.target == PAY and f.data["system_answers"] == ["198.18.0.7"]
    assert "dns.hijack" not in codes(out)


def test_dns_when_fake_ip_answers_everything_reports_no_nxdomain_rewrite(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system(monkeypatch, {}, default=["198.18.3.4"])
    out, _ = run_check(settings_for([{"name": "Honest", "address": server.address}]))
    assert "dns.fake_ip" in codes(out)
    assert "dns.nxdomain_rewrite" not in codes(out)


# ---------------------------------------------------------------- hijack


@pytest.fixture(scope="module")
def ca() -> Any:
    import trustme
    return trustme.CA()


class TlsServer:
    """Accepts TLS on (ip, port) with a certificate for ``names``; handshakes, then closes."""

    def __init__(self, ca: Any, names: list[str], ip: str, port: int = 0) -> None:
        cert = ca.issue_cert(*names)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(self.ctx)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        self._stop = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            try:
                conn.settimeout(2)
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    self.handshakes += 1
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


@pytest.fixture
def tls_pair(ca, tmp_path) -> Iterator[Callable[[list[str], list[str]], tuple[int, str]]]:
    """Two TLS servers on one port: 127.0.0.1 (the true server) and 127.0.0.2."""
    servers: list[TlsServer] = []

    def make(true_names: list[str], other_names: list[str]) -> tuple[int, str]:
        for _ in range(20):
            first = TlsServer(ca, true_names, "127.0.0.1")
            try:
                second = TlsServer(ca, other_names, "127.0.0.2", first.port)
                break
            except OSError:
                first.close()
        servers.extend([first, second])
        ca_path = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_path))
        return first.port, str(ca_path)

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
    fake_system(monkeypatch, {PAY: ["127.0.0.2"]})
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
    fake_system(monkeypatch, {PAY: ["127.0.0.2"]})
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
    fake_system(monkeypatch, {PAY: ["127.0.0.2"]})
    out, _ = run_check(hijack_settings(server, ca_path))
    assert "dns.hijack" not in codes(out)
    probe = [e for e in out.evidence if e.get("what") == "hijack_probe"][0]
    assert probe["reason"] == "inconclusive"


def test_dns_when_answers_agree_never_probes_tls(monkeypatch, dns_server, tls_pair):
    port, ca_path = tls_pair(["portal.evil.example"], ["portal.evil.example"])
    monkeypatch.setattr(DnsCheck, "tls_port", port)
    server = dns_server({PAY: ["127.0.0.1", "127.0.0.2"]})
    fake_system(monkeypatch, {PAY: ["127.0.0.2"]})
    out, _ = run_check(hijack_settings(server, ca_path))
    assert "dns.hijack" not in codes(out)
    assert not [e for e in out.evidence if e.get("what") == "hijack_probe"]


def test_dns_when_system_answers_private_where_resolvers_public_reports_hijack(monkeypatch,
                                                                              dns_server):
    # Decided without any traffic: no TLS probe is sent to either address.
    server = dns_server({PAY: ["93.184.216.34"]})
    fake_system(monkeypatch, {PAY: ["10.10.10.10"]})

    def no_traffic(*a: Any, **kw: Any) -> Any:
        raise AssertionError("the bogon branch must not connect anywhere")

    monkeypatch.setattr(net, "connect", no_traffic)
    out, _ = run_check(settings_for([{"name": "Trusted", "address": server.address}]))
    f = finding(out, "dns.hijack")
    assert f.data["reason"] == "bogon" and f.data["system_answers"] == ["10.10.10.10"]


# ---------------------------------------------------------------- NXDOMAIN rewriting


def test_dns_when_invalid_tld_resolves_reports_nxdomain_rewrite(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system(monkeypatch, {PAY: ["127.0.0.1"]}, default=["127.0.0.99"])
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

    fake_system(monkeypatch, UnderOnly({PAY: ["127.0.0.1"]}))
    out, _ = run_check(settings_for([{"name": "Honest", "address": server.address}]))
    f = finding(out, "dns.nxdomain_rewrite")
    assert f.target == "example.com" and f.data["probe"] == "confirmed_nxdomain"


def test_dns_when_domain_has_wildcard_record_reports_no_rewrite(monkeypatch, dns_server):
    server = dns_server(mode="wildcard", wildcard=["127.0.0.1"])

    class Wildcard(dict):
        def get(self, key: str, default: Any = None) -> Any:
            return ["127.0.0.1"] if key.endswith("example.com") else None

    fake_system(monkeypatch, Wildcard())
    out, _ = run_check(settings_for([{"name": "Wild", "address": server.address}]))
    assert "dns.nxdomain_rewrite" not in codes(out)
    probe = [e for e in out.evidence if e.get("what") == "nxdomain_probe"][0]
    assert probe["reason"] == "wildcard"


def test_dns_when_nonexistent_names_fail_reports_no_rewrite(monkeypatch, dns_server):
    server = dns_server({PAY: ["127.0.0.1"]})
    fake_system(monkeypatch, {PAY: ["127.0.0.1"]})
    out, _ = run_check(settings_for([{"name": "Honest", "address": server.address}]))
    assert "dns.nxdomain_rewrite" not in codes(out)


# ---------------------------------------------------------------- DoT and DoH


@pytest.fixture
def dot_server(ca, dns_server) -> Iterator[tuple[int, FakeDns]]:
    backend = dns_server({PAY: ["127.0.0.1"]})
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("dot.test").configure_cert(ctx)
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    lsock.settimeout(0.1)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except (TimeoutError, OSError):
                continue
            try:
                tls = ctx.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                conn.close()
                continue
            threading.Thread(target=serve_tcp_conn, args=(backend, tls), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    yield lsock.getsockname()[1], backend
    stop.set()
    lsock.close()


def test_dns_over_tls_answers_with_hostname_verified(monkeypatch, ca, dot_server, tmp_path):
    port, _ = dot_server
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    fake_system(monkeypatch, {PAY: ["127.0.0.1"]})
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
    backend = dns_server({PAY: ["127.0.0.1", "::1"]})
    paths: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            paths.append(self.path)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path != "/dns-query":
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            out = backend.reply(body, over_tcp=True) or b""
            self.send_response(200)
            self.send_header("Content-Type", "application/dns-message")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *a: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("doh.test").configure_cert(ctx)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield httpd.server_address[1], paths
    httpd.shutdown()
    httpd.server_close()


def test_dns_over_https_answers_and_http_errors_are_classified(monkeypatch, ca, doh_server,
                                                               tmp_path):
    port, paths = doh_server
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    # Reached at its configured address; the system resolver cannot resolve doh.test.
    fake_system(monkeypatch, {PAY: ["127.0.0.1", "::1"]})
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
    fake_system(monkeypatch, {"ok.example.org": ["127.0.0.3"],
                              PAY: socket.gaierror(socket.EAI_NONAME, "Name or service not known")})
    settings = settings_for([{"name": "Honest", "address": server.address}],
                            names=[PAY, "ok.example.org"])
    runner = Runner(settings, HOST)
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
    runner = Runner(settings, HOST)
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
    fake_system(monkeypatch, {PAY: ["127.0.0.2"]})
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
    fake_system(monkeypatch, {PAY: ["127.0.0.2"]})
    out, _ = run_check(two_resolver_settings(one, other, ca_path))
    assert "dns.hijack" not in codes(out)
    (probe,) = [e for e in out.evidence if e.get("what") == "hijack_probe"]
    assert probe["reason"] == "tls_valid" and probe["agreeing_resolvers"] == ["Intercepted"]


def test_dns_when_system_agrees_with_one_resolver_never_uses_bogon_rule(monkeypatch, dns_server):
    # A private answer that a trusted resolver also gives (a split-horizon DNS) is
    # not judged by the bogon rule; with no TLS server there, it is inconclusive.
    one = dns_server({PAY: ["127.0.0.2"]})
    other = dns_server({PAY: ["93.184.216.34"]})
    fake_system(monkeypatch, {PAY: ["127.0.0.2"]})
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
