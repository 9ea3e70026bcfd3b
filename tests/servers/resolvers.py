"""DNS servers on loopback (UDP, TCP, DoT, DoH) and the fake system resolver
(``payprobe.net.resolve``) that sends payment names to the loopback servers."""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from payprobe import net

from tests.servers.streams import QuietHandler, Server, StreamServer, ThreadedHttp, datagrams

# ---------------------------------------------------------------- DNS


class FakeDns(Server):
    """A DNS server on UDP and TCP of one random 127.0.0.1 port.

    mode: honest (records, NXDOMAIN otherwise), wildcard (every name gets
    ``wildcard``), silent, servfail, malformed, badid, truncate (UDP sets TC,
    TCP answers in full). ``queries`` collects (name, type).
    """

    def __init__(self, records: dict[str, list[str]] | None = None, *, mode: str = "honest",
                 wildcard: list[str] | None = None, delay_s: float = 0.0) -> None:
        super().__init__()
        self.records = {k.lower(): v for k, v in (records or {}).items()}
        self.mode = mode
        self.wildcard = wildcard or []
        self.delay_s = delay_s
        self.queries: list[tuple[str, str]] = []
        self.udp, self.tcp = self._bind_pair()
        self.port = self.udp.getsockname()[1]
        for sock in (self.udp, self.tcp):
            sock.settimeout(0.1)
            self._track(sock)
        self._spawn(self._udp_loop, name="dns-udp")
        self._spawn(self._tcp_loop, name="dns-tcp")

    @staticmethod
    def _bind_pair() -> tuple[socket.socket, socket.socket]:
        """A UDP and a TCP socket on the same free port (retried: the port may be taken for TCP)."""
        for _ in range(20):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(("127.0.0.1", 0))
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind(("127.0.0.1", udp.getsockname()[1]))
            except OSError:
                udp.close()
                tcp.close()
                continue
            tcp.listen(16)
            return udp, tcp
        raise OSError("no free port for UDP and TCP")

    def reply(self, wire: bytes, *, over_tcp: bool) -> bytes | None:
        """The answer to one query (None: say nothing)."""
        q = dns.message.from_wire(wire)
        qname = q.question[0].name.to_text().rstrip(".").lower()
        qtype = dns.rdatatype.to_text(q.question[0].rdtype)
        self.queries.append((qname, qtype))
        if self.delay_s:
            self.stop.wait(self.delay_s)
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
        for wire, peer in datagrams(self.udp, self.stop):
            out = self.reply(wire, over_tcp=False)
            if out is not None:
                with contextlib.suppress(OSError):
                    self.udp.sendto(out, peer)

    def _tcp_loop(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except (TimeoutError, OSError):
                continue
            self._track(conn)
            self._spawn(self.serve_stream, conn, self.stop, name="dns-tcp-conn")

    def serve_stream(self, conn: socket.socket, stop: threading.Event) -> None:
        """One length-prefixed query and its answer (DNS over TCP, or over TLS)."""
        try:
            conn.settimeout(5)
            (length,) = struct.unpack("!H", _read_exact(conn, 2))
            out = self.reply(_read_exact(conn, length), over_tcp=True)
            if out is None:
                stop.wait(5)  # silent: hold the connection open, answer nothing
                return
            conn.sendall(struct.pack("!H", len(out)) + out)
        except (OSError, ConnectionError):
            pass
        finally:
            conn.close()


def _read_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


class DotServer(StreamServer):
    """DNS over TLS on 127.0.0.1:random, answering as ``backend`` does."""

    def __init__(self, backend: FakeDns, tls: ssl.SSLContext) -> None:
        super().__init__(backend.serve_stream, tls=tls, name="dot")


class DohServer(ThreadedHttp):
    """DNS over HTTPS (POST /dns-query; 404 elsewhere), answering as ``backend`` does.

    ``paths`` collects the paths asked for.
    """

    def __init__(self, backend: FakeDns, tls: ssl.SSLContext) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                paths.append(self.path)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path != "/dns-query":
                    self.reply(404)
                    return
                out = backend.reply(body, over_tcp=True) or b""
                self.reply(200, out, {"Content-Type": "application/dns-message"})

        super().__init__(Handler, tls)


# ---------------------------------------------------------------- the system resolver


def fake_system_resolver(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str] | BaseException],
                         default: list[str] | BaseException | None = None, *, delay_s: float = 0.0) -> None:
    """Replace getaddrinfo (payprobe.net.resolve) with ``table``; unknown names: NXDOMAIN.

    A value that is an exception is raised; ``default`` answers names not in the table;
    every lookup takes ``delay_s`` first (a slow system resolver).
    """

    def resolve(host: str, port: int, *, timeout: float, family: int = 0) -> list[str]:
        if delay_s:
            time.sleep(min(delay_s, timeout))
        value = table.get(host.lower(), default)
        if value is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if isinstance(value, BaseException):
            raise value
        return list(value)

    monkeypatch.setattr(net, "resolve", resolve)


def install_loopback_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Every name -> 127.0.0.1, but *.invalid is NXDOMAIN. Counts lookups per name."""
    calls: dict[str, int] = {}

    def fake_resolve(host: str, port: int, *, timeout: float, family: int = 0) -> list[str]:
        calls[host] = calls.get(host, 0) + 1
        if host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return ["127.0.0.1"]

    monkeypatch.setattr(net, "resolve", fake_resolve)
    return calls
