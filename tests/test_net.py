"""payprobe.net's Happy Eyeballs connect (RFC 8305) on loopback: ::1 and 127.0.0.1
on one port, each side listening, refusing (nothing there) or black-holing SYNs
(a listener whose accept queue is full: Linux drops further SYNs).

The ::1 cases skip on a machine without an IPv6 loopback. No timing asserts:
what the tests read is which attempt started why and how each one ended.
"""

from __future__ import annotations

import http.server
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
from payprobe import classify as fc
from payprobe import net

from tests.helpers import needs_ipv6_loopback as needs_ipv6


def _listener(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind((address, port))
    return sock


def free_port_on_both() -> int:
    """A port free on ::1 and on 127.0.0.1 (nothing listens there afterwards)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            _listener("::1", port).close()
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on both ::1 and 127.0.0.1")


@contextmanager
def side(address: str, port: int, behaviour: str) -> Iterator[None]:
    """``address``:``port`` "listens" (accepts), "blackholes" (drops SYNs) or is "closed"."""
    if behaviour == "closed":
        yield
        return
    listener = _listener(address, port)
    held: list[socket.socket] = [listener]
    try:
        if behaviour == "listens":
            listener.listen(16)
        else:
            # Backlog 0 holds one connection; with it never accepted, further SYNs are dropped.
            listener.listen(0)
            held.append(socket.create_connection((address, port), timeout=2))
        yield
    finally:
        for sock in held:
            sock.close()


@contextmanager
def sides(v6: str, v4: str) -> Iterator[int]:
    port = free_port_on_both()
    with ExitStack() as stack:
        stack.enter_context(side("::1", port, v6))
        stack.enter_context(side("127.0.0.1", port, v4))
        yield port


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


BOTH = ["127.0.0.1", "::1"]   # resolver order; Happy Eyeballs still tries IPv6 first


# ---------------------------------------------------------------- ordering


def test_interleave_families_starts_with_ipv6_and_alternates_keeping_each_order():
    assert net.interleave_families(["192.0.2.1", "2001:db8::1", "192.0.2.2", "2001:db8::2",
                                    "192.0.2.3"]) == [
        "2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2", "192.0.2.3"]
    assert net.interleave_families(["192.0.2.1"]) == ["192.0.2.1"]
    assert [net.ip_family(a) for a in ("::1", "127.0.0.1")] == ["ipv6", "ipv4"]


def test_connect_happy_when_no_address_raises_value_error():
    with pytest.raises(ValueError):
        net.connect_happy([], 443, timeout=1.0)


# ---------------------------------------------------------------- races


@needs_ipv6
def test_connect_happy_when_both_listen_ipv6_wins_and_ipv4_is_never_tried():
    with sides("listens", "listens") as port:
        # A long delay: IPv4 would start only if IPv6 had not connected in 5 s.
        happy = net.connect_happy(BOTH, port, timeout=10.0, delay_s=5.0)
        with happy.sock:
            assert happy.ip_family == "ipv6" and happy.address == "::1"
            assert happy.sock.getpeername()[0] == "::1"
    assert [(a.ip_family, a.why_started, a.outcome) for a in happy.attempts] == [
        ("ipv6", "first", "won")]
    assert happy.connect_s is not None and happy.seconds >= happy.connect_s


@needs_ipv6
def test_connect_happy_when_ipv6_refused_starts_ipv4_at_once_and_ipv4_wins():
    with sides("closed", "listens") as port:
        happy = net.connect_happy(BOTH, port, timeout=10.0, delay_s=5.0)
        happy.sock.close()
    assert [(a.ip_family, a.why_started, a.outcome, a.failure) for a in happy.attempts] == [
        ("ipv6", "first", "failed", "connection_refused"),
        ("ipv4", "failure", "won", None)]


@needs_ipv6
def test_connect_happy_when_ipv6_blackholed_ipv4_wins_after_the_delay_and_ipv6_is_closed():
    with sides("blackholes", "listens") as port:
        before = open_fds()
        happy = net.connect_happy(BOTH, port, timeout=5.0, delay_s=0.05)
        happy.sock.close()
        # The loser was closed, not leaked.
        assert open_fds() == before
    assert [(a.ip_family, a.why_started, a.outcome) for a in happy.attempts] == [
        ("ipv6", "first", "abandoned"), ("ipv4", "delay", "won")]
    assert happy.ip_family == "ipv4"


@needs_ipv6
def test_connect_happy_when_every_address_refuses_raises_the_refusal_with_every_attempt():
    attempts: list[net.Attempt] = []
    with sides("closed", "closed") as port:
        with pytest.raises(OSError) as info:
            net.connect_happy(BOTH, port, timeout=5.0, attempts=attempts)
    assert fc.classify(info.value) == fc.CONNECTION_REFUSED
    assert [(a.ip_family, a.outcome, a.failure) for a in attempts] == [
        ("ipv6", "failed", "connection_refused"), ("ipv4", "failed", "connection_refused")]


@needs_ipv6
def test_connect_happy_when_every_address_blackholed_times_out_and_closes_all():
    attempts: list[net.Attempt] = []
    with sides("blackholes", "blackholes") as port:
        before = open_fds()
        with pytest.raises(TimeoutError):
            net.connect_happy(BOTH, port, timeout=0.4, delay_s=0.05, attempts=attempts)
        assert open_fds() == before
    assert [(a.ip_family, a.outcome) for a in attempts] == [("ipv6", "abandoned"),
                                                            ("ipv4", "abandoned")]


def test_connect_happy_when_one_ipv4_address_behaves_like_connect():
    with sides("closed", "listens") as port:
        happy = net.connect_happy(["127.0.0.1"], port, timeout=5.0)
        with happy.sock:
            # Blocking again, with a timeout: ready for tls_handshake / http_exchange.
            assert happy.sock.gettimeout() is not None and happy.sock.gettimeout() > 0
    assert [(a.ip_family, a.outcome) for a in happy.attempts] == [("ipv4", "won")]


# ---------------------------------------------------------------- fetch


class _NoContent(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_fetch_when_name_has_a_dead_ipv6_address_answers_over_ipv4(monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NoContent)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # AAAA first, as getaddrinfo orders it on a host with IPv6; nothing listens on ::1.
    monkeypatch.setattr(net, "resolve", lambda host, port, *, timeout, family=0: ["::1",
                                                                                "127.0.0.1"])
    try:
        result = net.fetch(f"http://pay.example:{server.server_address[1]}/generate_204",
                           timeout=5.0)
    finally:
        server.shutdown()
        server.server_close()
    assert result.response is not None and result.response.status == 204
    assert result.address == "127.0.0.1" and result.extra["ip_family"] == "ipv4"
    assert result.extra["happy_eyeballs_s"] >= (result.connect_s or 0.0)
