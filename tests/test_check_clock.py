"""clock: fake NTP servers (UDP) and HTTP(S) Date servers on 127.0.0.1 random ports."""

from __future__ import annotations

import http.server
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

import pytest
from payprobe.api import Blackboard, CheckContext, Outcome
from payprobe.checks.clock import ClockCheck, human_duration
from payprobe.engine import config
from payprobe.engine.registry import LoadedCheck
from payprobe.engine.runner import Runner
from payprobe.host import detect

from tests.servers import datagrams

NTP_EPOCH_DELTA = 2208988800


def _ntp_stamp(unix: float) -> tuple[int, int]:
    ntp = unix + NTP_EPOCH_DELTA
    return int(ntp) & 0xFFFFFFFF, int((ntp - int(ntp)) * 2**32) & 0xFFFFFFFF


class FakeNtp:
    """Answers NTPv3 client packets with a chosen offset, or misbehaves on purpose.

    mode: "ok" | "leap3" | "stratum0" | "bogus_ts" (server time 1900) | "no_echo" | "silent".
    ``slow_first`` delays the first answer's inbound leg (an asymmetric, high-delay sample).
    """

    def __init__(self, offset_s: float = 0.0, mode: str = "ok", slow_first_s: float = 0.0) -> None:
        self.offset_s = offset_s
        self.mode = mode
        self.slow_first_s = slow_first_s
        self.requests = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        for data, peer in datagrams(self.sock, self._stop, 512):
            self.requests += 1
            if self.mode == "silent" or len(data) < 48:
                continue
            if self.slow_first_s and self.requests == 1:
                time.sleep(self.slow_first_s)
            now = time.time() + self.offset_s
            leap, stratum = 0, 2
            if self.mode == "leap3":
                leap = 3
            if self.mode == "stratum0":
                stratum = 0
            recv = tx = _ntp_stamp(now)
            if self.mode == "bogus_ts":
                recv = tx = (5, 0)   # 1900: no real server says that
            orig = struct.unpack("!II", data[40:48])
            if self.mode == "no_echo":
                orig = (0, 0)
            packet = struct.pack("!BBbbII4sIIIIIIII", (leap << 6) | (3 << 3) | 4, stratum, 6, -20,
                                 0, 0, b"LOCL", *recv, *orig, *recv, *tx)
            self.sock.sendto(packet, peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def ntp() -> Iterator[Any]:
    servers: list[FakeNtp] = []

    def start(**kw: Any) -> FakeNtp:
        server = FakeNtp(**kw)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.close()


class DateHandler(http.server.BaseHTTPRequestHandler):
    date_value: str = ""

    def date_time_string(self, timestamp: float | None = None) -> str:  # noqa: ARG002
        value = self.server.date_value  # type: ignore[attr-defined]
        # A number is an offset from now, taken when the request arrives.
        return formatdate(time.time() + value, usegmt=True) if isinstance(value, float) else value

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def date_server() -> Iterator[Any]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(date_value: str | float, *, tls: Any = None) -> str:
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), DateHandler)
        httpd.date_value = date_value  # type: ignore[attr-defined]
        scheme = "http"
        if tls is not None:
            httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
            scheme = "https"
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"{scheme}://127.0.0.1:{httpd.server_address[1]}/"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def make_ctx(settings: Any, *, budget_s: float = 8.0) -> CheckContext:
    return CheckContext(name="clock", config=settings.clock, settings=settings,
                        deadline=time.monotonic() + budget_s, cancelled=threading.Event(),
                        shared=Blackboard(), host=detect(), options={})


def run_clock(servers: list[str], urls: list[str] | None = None, **extra: Any) -> tuple[Outcome, CheckContext]:
    settings = config.load(overrides={"clock": {"ntp_servers": servers,
                                                "http_date_urls": urls or []}, **extra})
    ctx = make_ctx(settings)
    return ClockCheck().run(ctx), ctx


def metric(outcome: Outcome, name: str, source: str) -> float:
    found = [m.value for m in outcome.metrics if m.name == name and m.labels.get("source") == source]
    assert found, f"no {name}{{source={source}}} in {[m.to_dict() for m in outcome.metrics]}"
    return found[0]


def codes(outcome: Outcome) -> dict[str, str]:
    return {f.code: f.severity for f in outcome.findings}


# ---------------------------------------------------------------- human units


@pytest.mark.parametrize(("seconds", "text"), [
    (10920, "3 hours 2 minutes"), (37.4, "37 seconds"), (-300, "5 minutes"),
    (1, "1 second"), (90000, "1 day 1 hour"), (0.4, "0.4 seconds"),
])
def test_human_duration_when_given_seconds_names_the_two_largest_units(seconds, text):
    assert human_duration(seconds) == text


# ---------------------------------------------------------------- NTP


def test_clock_when_ntp_servers_are_3h2m_ahead_fails_saying_behind(ntp):
    a, b = ntp(offset_s=10920.0), ntp(offset_s=10920.0)
    outcome, ctx = run_clock([a.address, b.address])
    assert codes(outcome) == {"clock.skew": "fail"}
    skew = outcome.findings[0]
    assert "3 hours 2 minutes behind" in skew.message
    assert skew.data["offset_s"] == pytest.approx(10920.0, abs=0.05)
    assert metric(outcome, "clock_offset_seconds", "best") == pytest.approx(10920.0, abs=0.05)
    assert metric(outcome, "clock_offset_seconds", a.address) == pytest.approx(10920.0, abs=0.05)
    assert metric(outcome, "ntp_delay_seconds", b.address) >= 0.0
    assert ctx.shared.get("clock.offset_s") == pytest.approx(10920.0, abs=0.05)
    ntp_evidence = [e for e in outcome.evidence if e["what"] == "ntp"]
    assert {e["stratum"] for e in ntp_evidence} == {2} and {e["leap"] for e in ntp_evidence} == {0}


def test_clock_when_device_is_45s_ahead_warns_saying_ahead(ntp):
    a = ntp(offset_s=-45.0)
    outcome, _ = run_clock([a.address])
    assert codes(outcome) == {"clock.skew": "warn"}
    assert "45 seconds ahead" in outcome.findings[0].message
    assert outcome.resolved_status() == "warn"


def test_clock_when_in_sync_is_ok_with_no_findings(ntp):
    a, b, c = ntp(offset_s=0.2), ntp(offset_s=0.25), ntp(offset_s=0.3)
    outcome, _ = run_clock([a.address, b.address, c.address])
    assert outcome.findings == []
    assert outcome.resolved_status() == "ok"
    assert metric(outcome, "clock_offset_seconds", "best") == pytest.approx(0.25, abs=0.03)
    assert "right" in outcome.summary


def test_clock_when_servers_answer_several_times_takes_the_lowest_delay_answer(ntp):
    # The first answer's inbound leg is delayed 0.4 s: its offset is off by ~0.2 s.
    a = ntp(offset_s=100.0, slow_first_s=0.4)
    outcome, _ = run_clock([a.address])
    assert a.requests >= 2
    assert metric(outcome, "clock_offset_seconds", a.address) == pytest.approx(100.0, abs=0.1)
    assert metric(outcome, "ntp_delay_seconds", a.address) < 0.3


def test_clock_best_is_the_median_and_disagreement_is_reported(ntp):
    a, b, c = ntp(offset_s=0.0), ntp(offset_s=5.0), ntp(offset_s=200.0)
    outcome, _ = run_clock([a.address, b.address, c.address])
    assert metric(outcome, "clock_offset_seconds", "best") == pytest.approx(5.0, abs=0.05)
    dis = [e for e in outcome.evidence if e["what"] == "clock_disagreement"]
    assert dis and dis[0]["spread_s"] == pytest.approx(200.0, abs=0.1)
    assert "disagree" in outcome.summary


@pytest.mark.parametrize("mode", ["leap3", "stratum0", "bogus_ts", "no_echo"])
def test_clock_when_a_server_answers_unusably_ignores_it(ntp, mode):
    bad, good = ntp(offset_s=9999.0, mode=mode), ntp(offset_s=1.0)
    outcome, _ = run_clock([bad.address, good.address])
    assert metric(outcome, "clock_offset_seconds", "best") == pytest.approx(1.0, abs=0.05)
    assert not [m for m in outcome.metrics if m.labels.get("source") == bad.address]
    bad_ev = next(e for e in outcome.evidence if e.get("source") == bad.address)
    assert bad_ev["ok"] is False and bad_ev["rejected"]
    assert outcome.findings == []


def test_clock_when_every_answer_is_unusable_and_no_fallback_is_unknown(ntp):
    servers = [ntp(mode="leap3"), ntp(mode="stratum0"), ntp(mode="bogus_ts")]
    outcome, ctx = run_clock([s.address for s in servers])
    assert codes(outcome) == {"clock.unknown": "warn"}
    assert "ntp_unsynchronised" in outcome.findings[0].data["failures"]
    assert not [m for m in outcome.metrics if m.name == "clock_offset_seconds"]
    assert ctx.shared.get("clock.offset_s", default="unset") is None


def test_clock_when_one_server_never_answers_classifies_it_and_uses_the_others(ntp):
    # Nobody listens on this port: unconnected UDP gets no error back, only silence.
    probe_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe_sock.bind(("127.0.0.1", 0))
    closed = probe_sock.getsockname()[1]
    probe_sock.close()
    good = ntp(offset_s=0.0)
    outcome, _ = run_clock([f"127.0.0.1:{closed}", good.address])
    ev = next(e for e in outcome.evidence if e.get("source") == f"127.0.0.1:{closed}")
    assert ev["ok"] is False and ev["failure"] in ("ntp_failure", "generic_timeout")
    assert outcome.findings == []
    assert metric(outcome, "clock_offset_seconds", "best") == pytest.approx(0.0, abs=0.05)


# ---------------------------------------------------------------- HTTP Date fallback


def test_clock_when_ntp_is_blocked_falls_back_to_http_date(ntp, date_server):
    silent = ntp(mode="silent")
    url = date_server(600.0)
    outcome, ctx = run_clock([silent.address], [url])
    assert codes(outcome) == {"clock.ntp_blocked": "warn", "clock.skew": "fail"}
    assert metric(outcome, "clock_offset_seconds", url) == pytest.approx(600.0, abs=1.5)
    assert metric(outcome, "clock_offset_seconds", "best") == pytest.approx(600.0, abs=1.5)
    assert ctx.shared.get("clock.offset_s") == pytest.approx(600.0, abs=1.5)
    best = next(e for e in outcome.evidence if e["what"] == "clock_best")
    assert best["method"] == "http_date" and best["resolution_s"] == 1.0
    assert "10 minutes behind" in next(f for f in outcome.findings if f.code == "clock.skew").message
    assert silent.requests >= 1


def test_clock_http_date_over_tls_verifies_with_ca_file(date_server, tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    import ssl
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    url = date_server(-7200.0, tls=server_ctx)
    outcome, _ = run_clock([], [url], ca_file=str(ca_path))
    assert metric(outcome, "clock_offset_seconds", url) == pytest.approx(-7200.0, abs=1.5)
    assert "2 hours ahead" in next(f for f in outcome.findings if f.code == "clock.skew").message
    # Without the CA the same server is untrusted, and that is classified, not raised.
    outcome, _ = run_clock([], [url])
    assert codes(outcome) == {"clock.unknown": "warn"}
    assert outcome.findings[0].data["failures"] == ["tls_unknown_authority"]


@pytest.mark.parametrize("shift_s", [2 * 86400.0, -2 * 86400.0])
def test_clock_http_date_when_certificate_is_out_of_the_device_clocks_window_still_reads_date(
        date_server, tmp_path, shift_s):
    # Found in the lab: with the clock 2 days off, every certificate is "not yet
    # valid" (or "expired") to the device, which made the fallback useless exactly
    # when it is needed. Validity dates are not judged; chain and name still are.
    import datetime as dt
    import ssl
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    world = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=shift_s)
    cert = ca.issue_cert("127.0.0.1", not_before=world - dt.timedelta(hours=1),
                         not_after=world + dt.timedelta(hours=1))
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    url = date_server(shift_s, tls=server_ctx)
    outcome, _ = run_clock([], [url], ca_file=str(ca_path))
    assert metric(outcome, "clock_offset_seconds", "best") == pytest.approx(shift_s, abs=1.5)
    assert codes(outcome) == {"clock.skew": "fail"}
    # An untrusted issuer is still refused: only the time window is not checked.
    outcome, _ = run_clock([], [url])
    assert outcome.findings[0].data["failures"] == ["tls_unknown_authority"]


@pytest.mark.parametrize("garbage", ["yesterday-ish", "Tue, 99 Foo 20x6 25:61:00 GMT", "",
                                     "Thu, 01 Jan 1970 00:00:00 GMT"])
def test_clock_when_the_date_header_is_garbage_ends_classified(date_server, garbage):
    url = date_server(garbage)
    outcome, _ = run_clock([], [url])
    assert codes(outcome) == {"clock.unknown": "warn"}
    ev = next(e for e in outcome.evidence if e.get("source") == url)
    assert ev["failure"] in ("http_date_garbage", "http_date_missing")


def test_clock_with_nothing_configured_is_skipped():
    outcome, _ = run_clock([], [])
    assert outcome.resolved_status() == "skipped"
    assert "configured" in outcome.summary


# ---------------------------------------------------------------- through the runner


def test_clock_through_the_runner_reports_a_serializable_result(ntp):
    a = ntp(offset_s=-400.0)
    settings = config.load(overrides={"clock": {"ntp_servers": [a.address], "http_date_urls": []}})
    runner = Runner(settings, detect())
    check = LoadedCheck(name="clock", target="payprobe.checks.clock:ClockCheck", cls=ClockCheck)
    result = runner.run([check], deadline_s=8).results[0]
    assert result.status == "fail"
    assert result.findings[0].code == "clock.skew"
    assert "6 minutes 40 seconds ahead" in result.findings[0].message
    assert runner.shared.get("clock.offset_s") == pytest.approx(-400.0, abs=0.05)
    doc = json.loads(json.dumps(result.to_dict()))
    assert {m["labels"]["source"] for m in doc["metrics"] if m["name"] == "clock_offset_seconds"} \
        == {a.address, "best"}


class TwoDatesHandler(DateHandler):
    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)                     # Date: now (from date_time_string)
        self.send_header("Date", formatdate(time.time() + 50 * 365 * 86400, usegmt=True))
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_clock_when_the_server_sends_two_different_date_headers_believes_neither():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TwoDatesHandler)
    httpd.date_value = 0.0  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/"
        outcome, _ = run_clock([], [url])
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert codes(outcome) == {"clock.unknown": "warn"}     # not a 50-year clock.skew
    ev = next(e for e in outcome.evidence if e.get("source") == url)
    assert ev["failure"] == "http_date_garbage"
