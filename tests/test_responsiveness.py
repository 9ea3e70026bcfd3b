"""Responsiveness under load (the bandwidth check's RPM and net.bufferbloat): the
arithmetic on fixed numbers, the judgement, the sampler with a fake probe, and
real probes against a local TLS server that answers slowly while "loaded"."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from payprobe.api import CheckContext
from payprobe.checks import _responsiveness_probe as probe_mod
from payprobe.checks._responsiveness import (
    THRESHOLD_SOURCE,
    PhaseFigures,
    Probe,
    bloat_grade,
    judge,
    rpm,
    rpm_class,
    summarise,
    trimmed_mean,
)
from payprobe.checks._responsiveness_probe import Responsiveness, Sampler, Target, find_targets, probe_once
from payprobe.settings import BandwidthConfig, Endpoint, Settings

from tests.helpers import make_ctx
from tests.servers import closed_port, new_ca, server_ctx

LOCAL = Target("Local Pay", "127.0.0.1", "127.0.0.1", 443, True)


def ctx(deadline_s: float = 10.0) -> CheckContext[Any]:
    return make_ctx(BandwidthConfig(), settings=Settings(), name="bandwidth", deadline_s=deadline_s)


def probes(phase: str, tcp_s: float, n: int, *, tls_s: float | None = None) -> list[Probe]:
    return [Probe(phase, "Local Pay", tcp_s=tcp_s, tls_rtt_s=tls_s if i % 4 == 0 else None)
            for i in range(n)]


def figures(phase: str, rtt_s: float | None, *, loaded: bool = True, answered: int = 10) -> PhaseFigures:
    return PhaseFigures(phase, answered, answered, 0, 0, rtt_s, None, rtt_s, loaded)


def metric(metrics: list[Any], name: str, **labels: str) -> float:
    (value,) = [m.value for m in metrics if m.name == name and dict(m.labels) == labels]
    return float(value)


# ---------------------------------------------------------------- the arithmetic


def test_trimmed_mean_of_20_samples_drops_the_highest():
    values = [float(v) for v in range(1, 21)]
    assert trimmed_mean(values) == pytest.approx(sum(range(1, 20)) / 19)


def test_trimmed_mean_of_10_samples_keeps_all_of_them():
    assert trimmed_mean([float(v) for v in range(1, 11)]) == pytest.approx(5.5)


def test_trimmed_mean_when_one_outlier_in_twenty_leaves_it_out():
    assert trimmed_mean([0.05] * 19 + [5.0]) == pytest.approx(0.05)


def test_trimmed_mean_of_nothing_is_none_and_of_one_is_that_one():
    assert trimmed_mean([]) is None
    assert trimmed_mean([0.3]) == 0.3


def test_rpm_is_60_over_the_round_trip_in_seconds():
    assert rpm(0.06) == pytest.approx(1000.0)
    assert rpm(0.2) == pytest.approx(300.0)
    assert rpm(None) is None and rpm(0.0) is None


@pytest.mark.parametrize(("value", "expected"), [
    (299.9, "poor"), (300.0, "fair"), (999.0, "fair"), (1000.0, "good"), (5999.0, "good"),
    (6000.0, "excellent"), (None, None)])
def test_rpm_class_follows_the_drafts_lines(value, expected):
    assert rpm_class(value) == expected


@pytest.mark.parametrize(("added_s", "expected"), [
    (0.004, "A+"), (0.005, "A"), (0.029, "A"), (0.059, "B"), (0.199, "C"), (0.2, "D"),
    (0.399, "D"), (0.4, "F"), (3.0, "F"), (None, None)])
def test_bloat_grade_follows_dslreports_grades(added_s, expected):
    assert bloat_grade(added_s) == expected


def test_summarise_weighs_tcp_and_tls_equally():
    fig = summarise("download", probes("download", 0.02, 8, tls_s=0.04) + probes("idle", 9.0, 5))
    assert fig.probes == 8 and fig.answered == 8
    assert fig.tcp_s == pytest.approx(0.02) and fig.tls_s == pytest.approx(0.04)
    assert fig.rtt_s == pytest.approx(0.03)
    assert fig.rpm == pytest.approx(2000.0)


def test_summarise_when_too_few_answered_has_no_round_trip():
    fig = summarise("idle", probes("idle", 0.02, 2) + [Probe("idle", "x", failure="connection_refused")] * 3)
    assert fig.rtt_s is None and fig.rpm is None
    assert (fig.probes, fig.answered, fig.errors) == (5, 2, 3)


def test_summarise_counts_a_timed_out_probe_as_a_lower_bound():
    timed_out = Probe("download", "x", tcp_s=3.0, failure="generic_timeout", timed_out=True)
    fig = summarise("download", probes("download", 1.0, 3) + [timed_out])
    assert fig.timeouts == 1 and fig.answered == 4
    assert fig.rtt_s == pytest.approx(1.5)


# ---------------------------------------------------------------- the judgement


def test_judge_when_the_load_adds_more_than_the_threshold_reports_bufferbloat():
    judged = judge(figures("idle", 0.03), [figures("download", 0.75), figures("upload", 0.25)],
                   threshold_ms=200.0, evidence={"what": "responsiveness"})
    (bloat,) = judged.findings
    assert (bloat.code, bloat.severity, bloat.target) == ("net.bufferbloat", "warn", "download")
    data = bloat.data
    assert data["idle_rtt_ms"] == 30.0 and data["loaded_rtt_ms"] == 750.0 and data["increase_ms"] == 720.0
    assert data["rpm"] == 80 and data["idle_rpm"] == 2000
    assert (data["grade"], data["responsiveness"], data["threshold_ms"]) == ("F", "poor", 200.0)
    assert data["source"] == THRESHOLD_SOURCE
    assert metric(judged.metrics, "responsiveness_rpm", phase="idle") == 2000.0
    assert metric(judged.metrics, "responsiveness_rpm", phase="download") == 80.0
    assert metric(judged.metrics, "idle_latency_seconds") == 0.03
    assert metric(judged.metrics, "loaded_latency_seconds", phase="upload") == 0.25
    assert metric(judged.metrics, "latency_increase_seconds", phase="download") == pytest.approx(0.72)
    assert judged.evidence["measured"] is True and judged.evidence["grade"] == "F"
    assert "80 RPM during the download" in judged.summary


def test_judge_when_the_load_adds_less_than_the_threshold_reports_figures_only():
    judged = judge(figures("idle", 0.03), [figures("download", 0.2)], threshold_ms=200.0, evidence={})
    assert judged.findings == []
    assert metric(judged.metrics, "latency_increase_seconds", phase="download") == pytest.approx(0.17)
    assert judged.evidence["grade"] == "C"


def test_judge_with_a_configured_threshold_names_the_config_as_source():
    judged = judge(figures("idle", 0.03), [figures("download", 0.2)], threshold_ms=100.0, evidence={})
    (bloat,) = judged.findings
    assert bloat.data["threshold_ms"] == 100.0 and "bufferbloat_ms" in bloat.data["source"]


def test_judge_with_idle_figures_only_reports_no_finding():
    judged = judge(figures("idle", 0.03), [figures("download", None), figures("upload", None)],
                   threshold_ms=200.0, evidence={})
    assert judged.findings == []
    assert {m.name for m in judged.metrics} == {"idle_latency_seconds", "responsiveness_rpm"}
    assert judged.evidence["measured"] is False
    assert "loaded" in judged.evidence["reason"]


def test_judge_when_the_phase_moved_no_data_does_not_blame_the_queue():
    judged = judge(figures("idle", 0.03), [figures("download", 3.0, loaded=False)],
                   threshold_ms=200.0, evidence={})
    assert judged.findings == [] and judged.evidence["measured"] is False


def test_judge_without_an_idle_figure_reports_no_finding():
    judged = judge(figures("idle", None), [figures("download", 3.0)], threshold_ms=200.0, evidence={})
    assert judged.findings == [] and judged.evidence["reason"] == "too few probes answered before the load"


def test_responsiveness_when_no_endpoint_answers_leaves_evidence_and_no_finding():
    endpoints = [Endpoint("Closed", f"https://127.0.0.1:{closed_port()}/"),
                 Endpoint("Also closed", f"http://127.0.0.1:{closed_port()}/")]
    measured = Responsiveness(ctx(), threshold_ms=200.0)
    measured.before_load(endpoints)
    judged = measured.judge({"download": True, "upload": True})
    assert judged.findings == [] and judged.metrics == []
    assert judged.evidence["measured"] is False
    assert judged.evidence["reason"] == "no endpoint answered a TCP connect before the load"
    assert {u["failure"] for u in judged.evidence["unreachable"]} == {"connection_refused"}


def test_responsiveness_without_endpoints_says_so():
    measured = Responsiveness(ctx(), threshold_ms=200.0)
    measured.before_load([])
    assert measured.judge({}).evidence["reason"] == "no endpoints are configured"


# ---------------------------------------------------------------- the sampler, with a fake probe


def test_sampler_pick_rotates_targets_and_adds_tls_every_nth_round():
    plain = Target("Plain", "plain.example", "127.0.0.2", 80, False)
    sampler = Sampler(ctx(), [LOCAL, plain], tls_every=2)
    picks = [(t.name, tls) for t, tls in (sampler.pick(n) for n in range(6))]
    assert picks == [("Local Pay", True), ("Plain", False), ("Local Pay", False), ("Plain", False),
                     ("Local Pay", True), ("Plain", False)]


def test_sampler_with_a_fake_probe_slow_under_load_reports_bufferbloat():
    # The probe's figures depend only on the phase: the judgement sees fixed numbers.
    timings = {"idle": 0.02, "download": 0.6}

    def fake(_ctx: Any, target: Target, phase: str, with_tls: bool, _tls: ssl.SSLContext) -> Probe:
        return Probe(phase, target.name, tcp_s=timings[phase], tls_rtt_s=timings[phase] if with_tls else None)

    sampler = Sampler(ctx(), [LOCAL], probe=fake, interval_s=0.01, tls_every=2)
    sampler.measure_idle(0.1)
    with sampler.phase("download"):
        sampler.ctx.cancelled.wait(0.1)
    assert sampler.drain(1.0) == 0
    found = sampler.probes()
    idle, download = summarise("idle", found), summarise("download", found, loaded=True)
    assert idle.rtt_s == pytest.approx(0.02) and download.rtt_s == pytest.approx(0.6)
    judged = judge(idle, [download], threshold_ms=200.0, evidence={})
    assert [f.code for f in judged.findings] == ["net.bufferbloat"]
    assert judged.findings[0].data["increase_ms"] == 580.0


def test_sampler_when_a_probe_raises_records_a_classified_failure():
    def broken(*_args: Any) -> Probe:
        raise ConnectionResetError("reset")

    sampler = Sampler(ctx(), [LOCAL], probe=broken, interval_s=0.01)
    sampler.measure_idle(0.05)
    found = sampler.probes()
    assert found and {p.failure for p in found} == {"connection_reset"}


def test_sampler_near_the_deadline_starts_no_probe():
    sampler = Sampler(ctx(deadline_s=0.2), [LOCAL], probe=lambda *a: Probe("idle", "x", tcp_s=0.01))
    sampler.measure_idle(1.0)
    assert sampler.started == 0


# ---------------------------------------------------------------- real probes, a local server


class SlowTlsServer:
    """Accepts TLS on a random loopback port; while ``loaded`` is set it waits
    ``delay_s`` before the handshake, as a server behind a full queue would seem."""

    def __init__(self, context: ssl.SSLContext, delay_s: float) -> None:
        self.context, self.delay_s = context, delay_s
        self.loaded = threading.Event()
        self.closing = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn, self.loaded.is_set()), daemon=True).start()

    def _serve(self, conn: socket.socket, slow: bool) -> None:
        with conn:
            if slow:
                self.closing.wait(self.delay_s)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except OSError:
                pass

    def close(self) -> None:
        self.closing.set()
        self.sock.close()


@pytest.fixture
def slow_tls() -> Iterator[SlowTlsServer]:
    ca = new_ca()
    server = SlowTlsServer(server_ctx(ca.issue_cert("127.0.0.1")), delay_s=0.4)
    yield server
    server.close()


def test_local_server_slow_while_loaded_reports_bufferbloat(slow_tls: SlowTlsServer):
    check_ctx = ctx()
    targets, failed = find_targets(check_ctx, [Endpoint("Local Pay", f"https://127.0.0.1:{slow_tls.port}/")])
    assert [t.name for t in targets] == ["Local Pay"] and failed == []
    sampler = Sampler(check_ctx, targets, interval_s=0.05, tls_every=1)
    sampler.measure_idle(0.3)
    # The "load": a thread that keeps the server slow until the phase and its probes are over.
    released = threading.Event()
    loader = threading.Thread(target=lambda: (slow_tls.loaded.set(), released.wait(10)))
    loader.start()
    with sampler.phase("download"):
        check_ctx.cancelled.wait(0.6)
    sampler.drain(2.0)
    released.set()
    loader.join()
    found = sampler.probes()
    idle, download = summarise("idle", found), summarise("download", found, loaded=True)
    # Every handshake begun under load waited out most of the server's 0.4 s delay
    # (a lower bound, with room for timer granularity): no assertion on how fast anything was.
    delayed = [p.tls_rtt_s for p in found if p.phase == "download" and p.tls_rtt_s is not None]
    assert delayed and min(delayed) >= 0.3
    assert download.tls_s is not None and download.tls_s >= 0.3
    assert idle.rtt_s is not None and download.rtt_s is not None
    judged = judge(idle, [download], threshold_ms=100.0, evidence={})
    assert [f.code for f in judged.findings] == ["net.bufferbloat"]
    assert judged.findings[0].data["loaded_rtt_ms"] >= 150.0


def test_probe_once_when_the_handshake_waits_its_cap_is_a_lower_bound(slow_tls: SlowTlsServer, monkeypatch):
    monkeypatch.setattr(probe_mod, "PROBE_CAP_S", 0.1)
    slow_tls.loaded.set()
    target = Target("Local Pay", "127.0.0.1", "127.0.0.1", slow_tls.port, True)
    result = probe_once(ctx(), target, "download", True, ssl.create_default_context())
    assert result.timed_out and result.failure == "generic_timeout"
    # At least the cap, over the two round trips an unknown TLS version may need.
    assert result.tcp_s is not None and result.tls_rtt_s is not None and result.tls_rtt_s >= 0.05


def test_probe_once_when_the_deadline_cuts_the_handshake_short_is_no_sample(slow_tls: SlowTlsServer):
    slow_tls.loaded.set()
    target = Target("Local Pay", "127.0.0.1", "127.0.0.1", slow_tls.port, True)
    result = probe_once(ctx(deadline_s=0.15), target, "download", True, ssl.create_default_context())
    assert not result.timed_out and result.tls_rtt_s is None
    assert result.failure == "generic_timeout" and result.tcp_s is not None
