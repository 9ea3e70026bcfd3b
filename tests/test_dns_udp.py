"""DNS over UDP resent as a stub resolver does (payprobe.checks._dns_udp), against a
scripted server on loopback, IPv4 and IPv6: which datagram it drops, delays or
answers wrongly is fixed by the test, so every count below is exact."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dns.exception
import dns.message
import dns.query
import pytest
from payprobe.checks import _dns_udp
from payprobe.checks._dns_udp import udp_with_resends
from payprobe.reports.evidence import MAX_LOST, read_places

from tests.helpers import needs_ipv6_loopback
from tests.servers import datagrams

RESEND_S = 0.15


class ScriptedDns:
    """Answers the n-th datagram as ``script[n]`` says: "drop", "answer", "late"
    (answer after the next datagram arrived) or "badid". Past the script: drop."""

    def __init__(self, script: list[str], host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.script = list(script)
        self.received = 0
        self.stop = threading.Event()
        self.held: tuple[bytes, tuple] | None = None
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _answer(self, wire: bytes, peer: tuple, *, bad_id: bool = False) -> None:
        q = dns.message.from_wire(wire)
        r = dns.message.make_response(q)
        if bad_id:
            r.id = (q.id + 1) % 65536
        self.sock.sendto(r.to_wire(), peer)

    def _loop(self) -> None:
        for wire, peer in datagrams(self.sock, self.stop, 4096):
            if self.held is not None:           # the late answer goes out after the next query
                self._answer(*self.held)
                self.held = None
            step = self.script[self.received] if self.received < len(self.script) else "drop"
            self.received += 1
            if step == "answer":
                self._answer(wire, peer)
            elif step == "late":
                self.held = (wire, peer)
            elif step == "badid":
                self._answer(wire, peer, bad_id=True)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture(autouse=True)
def quick_resends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_dns_udp, "RESEND_S", RESEND_S)


@pytest.fixture(params=["127.0.0.1", pytest.param("::1", marks=needs_ipv6_loopback)])
def host(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def serve(script: list[str], host: str) -> Iterator[ScriptedDns]:
    server = ScriptedDns(script, host)
    try:
        yield server
    finally:
        server.close()


def ask(server: ScriptedDns, host: str, timeout: float = 2.0) -> tuple[dns.message.Message, int, int]:
    q = dns.message.make_query("openapi.alipay.com", "A")
    response, tries, lost = udp_with_resends(q, host, server.port, timeout)
    assert q.question == response.question
    return response, tries, lost


def test_udp_when_the_first_try_is_answered_sends_once_and_loses_nothing(host):
    with serve(["answer"], host) as server:
        _, tries, lost = ask(server, host)
        assert (tries, lost, server.received) == (1, 0, 1)


def test_udp_when_the_first_datagram_is_lost_sends_again_and_counts_one_lost(host):
    with serve(["drop", "answer"], host) as server:
        _, tries, lost = ask(server, host)
        assert (tries, lost, server.received) == (2, 1, 2)


def test_udp_when_two_datagrams_are_lost_counts_two(host):
    with serve(["drop", "drop", "answer"], host) as server:
        _, tries, lost = ask(server, host)
        assert (tries, lost) == (3, 2)


def test_udp_when_the_first_try_is_answered_late_is_a_slow_answer_not_a_loss(host):
    # The server answers the first query only once the resent one arrived: the answer
    # is the first try's (its ID), so nothing was lost; it was slow.
    with serve(["late", "drop"], host) as server:
        _, tries, lost = ask(server, host)
        assert (tries, lost) == (2, 0)


def test_udp_when_nothing_answers_times_out_after_resending_until_the_timeout(host):
    with serve([], host) as server:
        with pytest.raises(dns.exception.Timeout):
            ask(server, host, timeout=0.5)
        # resent every 0.15 s within the 0.5 s timeout: at 0, 0.15, 0.30 and 0.45 s on
        # time, fewer if the machine is slow to wake the sender; never more than four
        server.stop.wait(0.1)
        assert 2 <= server.received <= 4


def test_udp_when_the_answer_matches_no_try_is_a_bad_response(host):
    with serve(["badid"], host) as server:
        with pytest.raises(dns.query.BadResponse):
            ask(server, host)


def _dns_check(*items: dict) -> dict:
    return {"dns": {"name": "dns", "status": "ok", "metrics": [], "findings": [],
                    "evidence": list(items)}}


def test_places_when_a_query_was_answered_after_lost_tries_make_the_resolver_flaky():
    items = [{"what": "dns_query", "resolver": "Lab DNS", "name": "a.example", "rcode": "NOERROR",
              "answers": ["192.0.2.1"], "lost": 2},
             {"what": "dns_query", "resolver": "Lab DNS 2", "name": "a.example", "rcode": "NOERROR",
              "answers": ["192.0.2.1"]}]
    first, second = read_places(_dns_check(*items), {})
    assert (first.ok, first.lossy, first.flaky) == (1, 2, True)
    assert (second.ok, second.lossy, second.flaky) == (1, 0, False)


@pytest.mark.parametrize("lost", [10**12, -3, True, "2", 2.0])
def test_places_when_a_report_claims_a_strange_lost_count_bounds_or_ignores_it(lost):
    item = {"what": "dns_query", "resolver": "r", "name": "a.example", "rcode": "NOERROR", "lost": lost}
    (place,) = read_places(_dns_check(item), {})
    assert place.ok == 1
    assert place.lossy == (MAX_LOST if lost == 10**12 else 0)
