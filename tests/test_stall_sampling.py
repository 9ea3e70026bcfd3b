"""Stalls, adaptive sampling, the MTU black hole and the endpoints check at scale (issue 15,
issue 16 item 2), on loopback servers.

No timing asserts: the tests read which error was raised, how many samples
were taken and why, and what the evidence says. The net-level tests pass a
short ``stall_s``; the check-level ones use the real 3 s stall.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, Outcome
from payprobe.checks import _endpoint_measure, _mtu
from payprobe.checks._endpoint_evidence import FULL_EVIDENCE_CAP
from payprobe.checks._endpoint_samples import DOWN, SLOW, STALLED, EndpointResult, Sample
from payprobe.checks._sampling import agreement
from payprobe.checks.endpoints import EndpointsCheck
from payprobe.settings import Endpoint, LatencyConfig, Settings

from tests.faults.servers import BacklogServer, read_once, read_request, stall, tls_drip_server_hello
from tests.servers import StreamServer, server_ctx
from tests.tls_servers import HOST, codes, finding, make_ctx, run_tls, tls_settings

SHORT_STALL_S = 0.3
CFG = LatencyConfig()   # warn_ms 300, fail_ms 1000


# ---------------------------------------------------------------- servers


def answer_after(delay_s: float, status: int = 200) -> Any:
    """Read the request, wait ``delay_s`` (the server's think time: TTFB), answer."""

    def behave(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn, stop)
        if stop.wait(delay_s):
            return
        conn.sendall(f"HTTP/1.1 {status} OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                     .encode())

    return behave


def mtu_gate(ssl_ctx: ssl.SSLContext, limit: int = 600) -> Any:
    """A path that drops every segment over ``limit`` bytes, seen from the server:
    when the client's SYN allowed larger segments, its answer never arrives (it
    reads the ClientHello and stays silent); with a small MSS it answers TLS."""

    def behave(conn: socket.socket, stop: threading.Event) -> None:
        if conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG) > limit:
            read_once(conn, stop)
            stop.wait()
            return
        conn.settimeout(5)
        with ssl_ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)   # until the client closes

    return behave


@pytest.fixture
def streams() -> Iterator[list[Any]]:
    made: list[Any] = []
    yield made
    for s in made:
        s.close()


def serve(streams: list[Any], behaviour: Any, tls: ssl.SSLContext | None = None) -> StreamServer:
    s = StreamServer(behaviour, tls=tls)
    streams.append(s)
    return s


def tls_client_ctx(ca_file: str) -> ssl.SSLContext:
    return net.tls_context(ca_file=ca_file)


# ---------------------------------------------------------------- payprobe.net: stalls


def test_tls_handshake_when_server_never_answers_raises_stall_with_everything_acked(streams):
    srv = serve(streams, stall)
    sock, _ = net.connect("127.0.0.1", srv.port, timeout=2.0)
    with pytest.raises(net.StallError) as err:
        net.tls_handshake(sock, HOST, context=net.tls_context(verify=False), timeout=5.0,
                          stall_s=SHORT_STALL_S)
    assert err.value.phase == "tls"
    assert fc.classify(err.value) == fc.GENERIC_TIMEOUT   # stalls keep the timeout code
    # The server's kernel acknowledged the ClientHello: the peer is silent, not the path lossy.
    assert err.value.unacked in (0, None)


def test_tls_handshake_when_server_dribbles_is_not_a_stall_but_times_out(streams):
    srv = serve(streams, tls_drip_server_hello)
    sock, _ = net.connect("127.0.0.1", srv.port, timeout=2.0)
    # One byte every DRIP_INTERVAL_S (0.3 s) is progress: the stall (0.8 s) never fires,
    # the timeout does.
    with pytest.raises(TimeoutError) as err:
        net.tls_handshake(sock, HOST, context=net.tls_context(verify=False), timeout=1.5,
                          stall_s=0.8)
    assert not isinstance(err.value, net.StallError)


def test_http_exchange_when_no_first_byte_raises_stall_in_http(streams):
    srv = serve(streams, answer_after(30.0))
    sock, _ = net.connect("127.0.0.1", srv.port, timeout=2.0)
    with sock, pytest.raises(net.StallError) as err:
        net.http_exchange(sock, HOST, "/", timeout=5.0, stall_s=SHORT_STALL_S)
    assert err.value.phase == "http"


def test_http_exchange_when_answer_comes_before_the_stall_returns_it(streams):
    srv = serve(streams, answer_after(0.0, status=204))
    sock, _ = net.connect("127.0.0.1", srv.port, timeout=2.0)
    with sock:
        resp = net.http_exchange(sock, HOST, "/", timeout=5.0, stall_s=2.0)
    assert resp.status == 204


def test_connect_when_syn_unanswered_is_a_stall_only_before_its_timeout():
    with BacklogServer() as srv:
        with pytest.raises(net.StallError) as err:
            net.connect("127.0.0.1", srv.port, timeout=5.0, stall_s=SHORT_STALL_S)
        assert err.value.phase == "connect"
        # The caller's own (shorter) cap is a plain timeout: a lost SYN, not a stall.
        with pytest.raises(TimeoutError) as plain:
            net.connect("127.0.0.1", srv.port, timeout=SHORT_STALL_S, stall_s=5.0)
        assert not isinstance(plain.value, net.StallError)


def test_connect_happy_when_every_attempt_stalls_raises_stall_and_records_it():
    attempts: list[net.Attempt] = []
    with BacklogServer() as srv:
        with pytest.raises(net.StallError):
            net.connect_happy(["127.0.0.1"], srv.port, timeout=5.0, attempts=attempts,
                              stall_s=SHORT_STALL_S)
    assert [(a.outcome, a.failure) for a in attempts] == [("failed", fc.GENERIC_TIMEOUT)]


def test_connect_when_mss_given_the_peer_sends_small_segments(streams):
    seen: list[int] = []
    done = threading.Event()

    def record(conn: socket.socket, stop: threading.Event) -> None:
        seen.append(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG))
        done.set()

    srv = serve(streams, record)
    sock, _ = net.connect("127.0.0.1", srv.port, timeout=2.0, mss=536)
    with sock:
        assert done.wait(5.0)
    assert seen[0] <= 536


# ---------------------------------------------------------------- when samples agree


def ok(connect_s: float = 0.01, ttfb_s: float = 0.01) -> Sample:
    return Sample(connect_s=connect_s, tls_s=0.01, ttfb_s=ttfb_s, http_status=200)


def lost(failure: str = fc.GENERIC_TIMEOUT, phase: str = "connect", **kw: Any) -> Sample:
    return Sample(failure=failure, phase=phase, **kw)


@pytest.mark.parametrize(("samples", "verdict"), [
    ([lost(phase="tls", stalled=True, unacked=0)], STALLED),
    ([lost(phase="http", stalled=True, unacked=None)], STALLED),     # no TCP_INFO here: silent
    ([ok(ttfb_s=1.5), ok(ttfb_s=1.6)], SLOW),
    ([ok(connect_s=1.2), ok(ttfb_s=1.1)], SLOW),
    ([lost(), lost()], DOWN),
    ([lost(), lost(phase="tls")], DOWN),
])
def test_agreement_when_samples_agree_names_the_verdict(samples, verdict):
    adapted = agreement(samples, CFG)
    assert adapted is not None and adapted.verdict == verdict
    assert adapted.after == len(samples)


@pytest.mark.parametrize("samples", [
    [lost(phase="tls", stalled=True, unacked=2)],         # our data unacknowledged: a lossy path
    [ok(), lost(phase="tls", stalled=True, unacked=0)],   # it answered before: one lost sample
    [lost(phase="connect", stalled=True)],                # an unanswered SYN is "down", later
    [ok(ttfb_s=1.5)],                                     # one sample is an anecdote
    [ok(ttfb_s=1.5), ok(ttfb_s=0.2)],
    [ok(ttfb_s=0.5), ok(ttfb_s=0.6)],                     # warn-level slowness: cheap, sample on
    [lost(), ok()],
    [lost(fc.CONNECTION_REFUSED), lost(fc.CONNECTION_REFUSED)],   # fast failures cost nothing
    [lost(), lost(fc.CONNECTION_RESET)],
    [lost(), lost(phase="deadline")],
])
def test_agreement_when_samples_do_not_agree_or_are_cheap_goes_on(samples):
    assert agreement(samples, CFG) is None


def _scripted(monkeypatch: pytest.MonkeyPatch, script: list[Sample]) -> list[int]:
    """Replace one sample with the next of ``script``; returns the call log."""
    calls: list[int] = []
    lock = threading.Lock()

    def fake_sample(ctx: Any, req: Any, address: str, tls_ctx: Any, budget: float) -> Sample:
        with lock:
            calls.append(len(calls))
            return script[len(calls) - 1]

    monkeypatch.setattr(_endpoint_measure, "_sample", fake_sample)
    return calls


def _measured(monkeypatch: pytest.MonkeyPatch, samples: int = 5) -> EndpointResult:
    monkeypatch.setattr(net, "resolve", lambda host, port, *, timeout, family=0: ["127.0.0.1"])
    settings = Settings(latency=LatencyConfig(samples=samples, icmp=False),
                        endpoints=[Endpoint(name="A", url=f"https://{HOST}/")])
    ctx = make_ctx(settings, "endpoints", 10.0)
    return _endpoint_measure.measure(ctx, settings.endpoints[0], None)


def test_samples_when_first_two_time_out_take_the_rest_at_once_and_keep_them_all(monkeypatch):
    # A lossy link can time out twice in a row: the rest, taken at once, still show it answers.
    calls = _scripted(monkeypatch, [lost(), lost(), ok(), lost(), ok()])
    res = _measured(monkeypatch)
    assert len(calls) == 5 and len(res.samples) == 5
    assert res.adapted["ipv4"].verdict == DOWN and res.denominator("ipv4") == 5
    assert sum(s.ok for s in res.samples) == 2


def test_samples_when_stalled_stop_and_loss_is_over_the_samples_taken(monkeypatch):
    calls = _scripted(monkeypatch, [lost(phase="tls", stalled=True, unacked=0)] + [ok()] * 4)
    res = _measured(monkeypatch)
    assert len(calls) == 1 and res.adapted["ipv4"].verdict == STALLED
    assert res.denominator("ipv4") == 1


def test_samples_when_healthy_take_every_planned_sample(monkeypatch):
    calls = _scripted(monkeypatch, [ok()] * 5)
    res = _measured(monkeypatch)
    assert len(calls) == 5 and res.adapted == {}


# ---------------------------------------------------------------- the endpoints check


def endpoints_settings(ca_file: str, servers: dict[str, int], **latency: Any) -> Settings:
    latency.setdefault("icmp", False)
    return Settings(ca_file=ca_file, latency=LatencyConfig(**latency), endpoints=[
        Endpoint(name=name, url=f"https://{HOST}:{port}/", provider=name.lower())
        for name, port in servers.items()])


def samples_item(out: Outcome, name: str) -> dict[str, Any]:
    return next(e for e in out.evidence if e["what"] == "endpoint_samples" and e["endpoint"] == name)


def loss_ratio(out: Outcome, name: str) -> float:
    return next(m.value for m in out.metrics if m.name == "loss_ratio"
                and m.labels == {"endpoint": name})


def test_endpoints_when_server_never_speaks_tls_stop_after_one_stalled_sample(
        ca, ca_file, streams, loopback_dns):
    silent = serve(streams, stall)
    good = serve(streams, answer_after(0.0), tls=server_ctx(ca.issue_cert(HOST)))
    out = EndpointsCheck().run(make_ctx(endpoints_settings(
        ca_file, {"Silent": silent.port, "Good": good.port}), "endpoints", 15.0))
    item = samples_item(out, "Silent")
    assert [(s["failure"], s["phase"], s["stalled"]) for s in item["samples"]] == [
        (fc.GENERIC_TIMEOUT, "tls", True)]
    assert item["sampling"]["verdict"] == STALLED and item["sampling"]["taken"] == 1
    assert item["sampling"]["loss_ratio_over"] == "samples taken"
    assert silent.connections == 1
    f = finding(out, "endpoint.unreachable", "Silent")
    assert f.data["failure"] == fc.GENERIC_TIMEOUT and f.data["loss_ratio"] == 1.0
    assert len(samples_item(out, "Good")["samples"]) == 5 and "sampling" not in samples_item(out, "Good")


def test_endpoints_when_first_byte_takes_1_5_s_stop_once_two_slow_samples_agree(
        ca, ca_file, streams, loopback_dns):
    slow = serve(streams, answer_after(1.5), tls=server_ctx(ca.issue_cert(HOST)))
    out = EndpointsCheck().run(make_ctx(endpoints_settings(ca_file, {"Slow": slow.port}),
                                        "endpoints", 15.0))
    item = samples_item(out, "Slow")
    # Two agree; a third already under way (started on the second's connect) is kept,
    # and the last two of the five planned never start.
    assert item["sampling"]["verdict"] == SLOW and item["sampling"]["after"] == 2
    assert item["sampling"]["taken"] == len(item["samples"]) in (2, 3)
    f = finding(out, "endpoint.slow", "Slow")
    assert f.severity == "fail" and f.data["phase"] == "ttfb"
    assert loss_ratio(out, "Slow") == 0.0
    assert "endpoint.loss" not in codes(out)


def test_endpoints_when_syns_blackholed_take_every_sample_at_most_two_one_after_another(
        ca_file, loopback_dns):
    with BacklogServer() as srv:
        out = EndpointsCheck().run(make_ctx(endpoints_settings(ca_file, {"Down": srv.port}),
                                            "endpoints", 15.0))
    item = samples_item(out, "Down")
    assert [s["phase"] for s in item["samples"]] == ["connect"] * 5
    assert item["sampling"] == {"verdict": DOWN, "after": 2, "taken": 5, "why": item["sampling"]["why"],
                                "concurrent_from": 3}
    assert loss_ratio(out, "Down") == 1.0


# ---------------------------------------------------------------- the tls check: stall and MTU


def test_tls_when_server_never_answers_reports_stalled_handshake_without_capture(
        ca_file, streams, loopback_dns):
    silent = serve(streams, stall)
    out = run_tls(tls_settings(ca_file, [f"{HOST}:{silent.port}"]), deadline_s=12.0)
    f = finding(out, "tls.handshake_failed")
    assert f.data["failure"] == fc.GENERIC_TIMEOUT and f.data["phase"] == "handshake"
    (item,) = [e for e in out.evidence if e["what"] == "tls"]
    assert item["stalled"] is True and "small_mss" not in item
    assert "net.mtu_blackhole" not in codes(out)
    # The usual handshake and, beside it, the small-MSS one: no capture retry after the stall.
    assert silent.connections <= 2


@pytest.mark.skipif(not _mtu.can_hedge(), reason="no TCP_MAXSEG on this platform")
def test_tls_when_large_segments_are_dropped_reports_mtu_blackhole_not_the_host(
        ca, ca_file, streams, loopback_dns):
    gate = serve(streams, mtu_gate(server_ctx(ca.issue_cert(HOST))))
    target = f"{HOST}:{gate.port}"
    out = run_tls(tls_settings(ca_file, [target]), deadline_s=12.0)
    f = finding(out, "net.mtu_blackhole")
    assert f.severity == "warn" and f.data["targets"] == [target]
    assert f.data["mss"] == {target: 536}
    assert "tls.handshake_failed" not in codes(out)
    (item,) = [e for e in out.evidence if e["what"] == "tls"]
    assert item["ok"] is False and item["failure"] == fc.GENERIC_TIMEOUT and item["stalled"] is True
    # What the server presented, from the small-MSS handshake.
    assert item["small_mss"]["mss"] == 536 and item["captured_unverified"] is True
    assert item["chain"] and HOST in item["chain"][0]["sans"]


# ---------------------------------------------------------------- at scale


def _fake_measure(failing: set[int]) -> Any:
    def measure(ctx: Any, ep: Endpoint, tls_ctx: Any, pings: Any = None) -> EndpointResult:
        i = int(ep.name.split()[-1])
        sample = lost() if i in failing else ok()
        res = EndpointResult(ep, resolve_s=0.001, addresses=1, planned=1, ip_family="ipv4",
                             samples=[sample], families={"ipv4": [sample]})
        res.icmp = {"status": "skipped", "reason": "disabled by latency.icmp = false"}
        return res
    return measure


def test_endpoints_when_200_endpoints_summarize_healthy_samples_beyond_the_cap_and_keep_every_try(
        monkeypatch):
    n, failing = 200, {7, 120}
    monkeypatch.setattr(_endpoint_measure, "measure", _fake_measure(failing))
    settings = Settings(latency=LatencyConfig(samples=1, icmp=False), endpoints=[
        Endpoint(name=f"E {i}", url=f"https://{HOST}/{i}", provider=f"p{i % 10}") for i in range(n)])
    out = EndpointsCheck().run(make_ctx(settings, "endpoints", 10.0))
    items = [e for e in out.evidence if e["what"] == "endpoint_samples"]
    assert len(items) == n and len([e for e in out.evidence if e["what"] == "endpoint"]) == n
    full = {e["endpoint"] for e in items if not e.get("summarized")}
    assert full == {f"E {i}" for i in range(FULL_EVIDENCE_CAP)} | {"E 120"}
    # Every try is still there for the diagnosis: one answered sample per healthy endpoint.
    summarized = [e for e in items if e.get("summarized")]
    assert all(e["samples"] == [{"http_status": 200}] for e in summarized)
    (cap,) = [e for e in out.evidence if e["what"] == "endpoint_sampling"]
    assert cap["full_evidence_cap"] == FULL_EVIDENCE_CAP and cap["summarized"] == len(summarized)
    # One sample: its one value, once (p50), per phase; no min/p95/max copies of it.
    stats = {m.labels.get("stat") for m in out.metrics if m.name == "tcp_connect_seconds"}
    assert stats == {"p50"}
    size = len(json.dumps({"metrics": [dataclasses.asdict(m) for m in out.metrics],
                           "evidence": out.evidence}, separators=(",", ":")))
    assert size / n < 1000   # bytes per endpoint (about 3,800 before the cap)


def test_measure_all_when_300_endpoints_uses_at_most_max_workers_threads(monkeypatch):
    active, peak = [0], [0]
    lock = threading.Lock()
    release = threading.Event()

    def measure(ctx: Any, ep: Endpoint, tls_ctx: Any, pings: Any = None) -> str:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            if active[0] >= _endpoint_measure.MAX_WORKERS:
                release.set()
        release.wait(5.0)
        with lock:
            active[0] -= 1
        return ep.name

    monkeypatch.setattr(_endpoint_measure, "measure", measure)
    eps = [Endpoint(name=f"E {i}", url=f"https://{HOST}/") for i in range(300)]
    settings = Settings(latency=LatencyConfig(samples=1, icmp=False), endpoints=eps)
    results = _endpoint_measure.measure_all(make_ctx(settings, "endpoints", 10.0), eps, None)
    assert results == [e.name for e in eps]
    assert peak[0] == _endpoint_measure.MAX_WORKERS


def test_certificate_evidence_when_many_names_keeps_twenty_and_counts_the_rest():
    from payprobe.checks._certs import MAX_SANS, CertInfo

    names = [f"h{i}.example.com" for i in range(MAX_SANS + 10)]
    item = CertInfo("ab" * 32, sans=names, parsed=True).to_dict()
    assert item["sans"] == names[:MAX_SANS] and item["sans_total"] == len(names)
    assert "sans_total" not in CertInfo("ab" * 32, sans=names[:3]).to_dict()


def test_endpoints_when_deadline_comes_before_some_start_says_not_measured_not_unreachable(
        monkeypatch):
    release = threading.Event()

    def measure(ctx: Any, ep: Endpoint, tls_ctx: Any, pings: Any = None) -> EndpointResult:
        release.wait(ctx.remaining() + 1.0)   # held until after the check's deadline
        raise CheckCancelled("deadline reached")

    monkeypatch.setattr(_endpoint_measure, "measure", measure)
    monkeypatch.setattr(_endpoint_measure, "MAX_WORKERS", 2)
    eps = [Endpoint(name=f"E {i}", url=f"https://{HOST}/", provider=f"p{i}") for i in range(10)]
    settings = Settings(latency=LatencyConfig(samples=1, icmp=False), endpoints=eps)
    try:
        out = EndpointsCheck().run(make_ctx(settings, "endpoints", 0.5))
    finally:
        release.set()
    (item,) = [e for e in out.evidence if e["what"] == "unmeasured_endpoints"]
    assert item["endpoints"] == [f"E {i}" for i in range(2, 10)]
    # The two cut short while being measured are what they always were; the rest say nothing.
    assert {f.target for f in out.findings} == {"E 0", "E 1"}
    assert {e["endpoint"] for e in out.evidence if e["what"] == "endpoint"} == {"E 0", "E 1"}
    assert "8 of 10 not measured" in out.summary
