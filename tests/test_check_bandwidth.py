"""bandwidth: an in-process Speedtest Mini server, a 403 server, a fake speedtest.net."""

from __future__ import annotations

import http.server
import io
import json
import threading
from collections.abc import Iterator
from contextlib import redirect_stdout
from typing import Any
from urllib.parse import urlsplit

import pytest
from payprobe.api import CheckContext
from payprobe.checks import _bandwidth_meter as meter_mod
from payprobe.checks._bandwidth_meter import Meter, Stop
from payprobe.checks._bandwidth_phases import plan_download, plan_upload, run_bounded
from payprobe.checks.bandwidth import BandwidthCheck
from payprobe.engine import config
from payprobe.engine.registry import LoadedCheck
from payprobe.engine.runner import Runner
from payprobe.host import detect

from tests.helpers import make_ctx
from tests.servers import closed_port

pytest.importorskip("speedtest")


class MiniHandler(http.server.BaseHTTPRequestHandler):
    """The requests speedtest-cli makes of a Speedtest Mini server (read from speedtest.py):
    GET <mini>  (page naming the upload extension), GET <mini>/speedtest/latency.txt,
    GET <mini>/speedtest/randomNxN.jpg, POST <mini>/speedtest/upload.php."""

    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: bytes, ctype: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        srv: Any = self.server
        path = urlsplit(self.path).path
        srv.paths.append(path)
        if srv.mode == "403":
            self._send(403, b"Forbidden")
            return
        if path.endswith("/speedtest-config.php") or path.endswith("speedtest-servers-static.php"):
            self._send(403, b"Forbidden")
            return
        if path.rstrip("/").endswith("/mini"):
            self._send(200, b'<script>var upload_extension: "php";</script>', "text/html")
        elif path.endswith("/speedtest/latency.txt"):
            self._send(200, b"test=test\n")
        elif "/speedtest/random" in path:
            side = int(path.rsplit("random", 1)[1].split("x", 1)[0])
            srv.served += 2 * side * side
            self._send(200, b"\xff" * (2 * side * side), "image/jpeg")
        else:
            self._send(404, b"not found")

    def do_POST(self) -> None:  # noqa: N802
        srv: Any = self.server
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        srv.uploaded += len(body)
        srv.paths.append(urlsplit(self.path).path)
        self._send(200, f"size={len(body)}".encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def mini_server() -> Iterator[Any]:
    servers = []

    def start(mode: str = "ok") -> Any:
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MiniHandler)
        httpd.daemon_threads = True
        httpd.mode, httpd.paths, httpd.served, httpd.uploaded = mode, [], 0, 0  # type: ignore[attr-defined]
        httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/mini"  # type: ignore[attr-defined]
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return httpd

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def bandwidth_ctx(bandwidth: dict[str, Any] | None = None, *, budget_s: float = 20.0,
                  options: dict[str, Any] | None = None,
                  endpoints: list[dict[str, Any]] | None = None) -> CheckContext[Any]:
    # No endpoints unless a test gives some: the defaults are on the internet,
    # and the responsiveness probes would go there.
    settings = config.load(overrides={"bandwidth": bandwidth or {}, "endpoints": endpoints or []})
    return make_ctx(settings.bandwidth, settings=settings, deadline_s=budget_s, options=options)


def metric(outcome: Any, name: str) -> float:
    return next(m.value for m in outcome.metrics if m.name == name)


def metric_labelled(outcome: Any, name: str, **labels: str) -> float:
    (value,) = [m.value for m in outcome.metrics if m.name == name and dict(m.labels) == labels]
    return float(value)


# ---------------------------------------------------------------- planning


def test_plan_download_when_the_budget_is_small_keeps_the_estimate_under_it():
    sides, count = plan_download(700_000, 4)
    assert sides == [350] and count == 2          # 2 x 245 kB fits, 3 would not
    sides, count = plan_download(17_500_000, 4)
    assert sum(2 * s * s for s in sides) * count <= 17_500_000 and len(sides) >= 3


def test_plan_upload_keeps_the_total_under_the_budget():
    sizes, count = plan_upload(300_000, 2)
    assert sum(sizes) * count <= 300_000 and sizes[0] == 32768


# ---------------------------------------------------------------- mini server


def test_bandwidth_against_a_mini_server_measures_both_ways_within_the_cap(mini_server):
    srv = mini_server()
    steps: list[tuple[str, int, int]] = []
    ctx = bandwidth_ctx({"mini_server": srv.url, "max_bytes": 3_000_000,
                    "low_download_bps": 0.0, "low_upload_bps": 0.0},
                   options={"progress_callback": lambda *a: steps.append(a)})
    stdout = io.StringIO()
    with redirect_stdout(stdout):
        outcome = BandwidthCheck().run(ctx)
    assert stdout.getvalue() == ""                       # a check never prints
    assert outcome.resolved_status() == "ok", outcome.summary
    assert metric(outcome, "download_bits_per_second") > 0
    assert metric(outcome, "upload_bits_per_second") > 0
    assert metric(outcome, "bandwidth_ping_seconds") >= 0
    total = metric(outcome, "bandwidth_bytes_total")
    assert 0 < total <= 3_000_000
    assert srv.served + srv.uploaded <= 3_000_000
    assert metric(outcome, "bandwidth_download_bytes") == srv.served
    assert any("/mini/speedtest/random350x350.jpg" == p for p in srv.paths)
    assert "/mini/speedtest/upload.php" in srv.paths
    assert {s[0] for s in steps} == {"download", "upload"}
    assert "Speedtest Mini" in outcome.summary and "MB" in outcome.summary


def test_bandwidth_with_an_endpoint_measures_its_round_trip_idle_and_under_load(mini_server):
    srv = mini_server()
    port = srv.server_address[1]
    ctx = bandwidth_ctx({"mini_server": srv.url, "max_bytes": 2_000_000,
                         "low_download_bps": 0.0, "low_upload_bps": 0.0},
                        endpoints=[{"name": "Local Pay", "url": f"http://127.0.0.1:{port}/pay"}])
    outcome = BandwidthCheck().run(ctx)
    (resp,) = [e for e in outcome.evidence if e["what"] == "responsiveness"]
    assert resp["targets"] == ["Local Pay"] and resp["unreachable"] == []
    idle = next(p for p in resp["phases"] if p["phase"] == "idle")
    assert idle["answered"] >= 3 and idle["errors"] == 0 and idle["tls_ms"] is None
    assert metric_labelled(outcome, "responsiveness_rpm", phase="idle") == pytest.approx(
        60_000 / idle["rtt_ms"], rel=0.01)
    # An unshaped loopback link builds no queue worth a finding.
    assert "net.bufferbloat" not in {f.code for f in outcome.findings}
    assert outcome.resolved_status() == "ok", outcome.summary


def test_bandwidth_without_endpoints_says_why_responsiveness_was_not_measured(mini_server):
    srv = mini_server()
    outcome = BandwidthCheck().run(bandwidth_ctx({"mini_server": srv.url, "max_bytes": 1_000_000,
                                                  "low_download_bps": 0.0, "low_upload_bps": 0.0}))
    (resp,) = [e for e in outcome.evidence if e["what"] == "responsiveness"]
    assert resp["measured"] is False and resp["reason"] == "no endpoints are configured"
    assert not [m for m in outcome.metrics if m.name == "responsiveness_rpm"]


def test_bandwidth_below_the_thresholds_is_low(mini_server):
    srv = mini_server()
    ctx = bandwidth_ctx({"mini_server": srv.url, "max_bytes": 1_000_000,
                    "low_download_bps": 1e13, "low_upload_bps": 1e13})
    outcome = BandwidthCheck().run(ctx)
    low = [f for f in outcome.findings if f.code == "bandwidth.low"]
    assert len(low) == 1 and low[0].severity == "warn"
    assert "download" in low[0].message and "upload" in low[0].message
    assert low[0].data["download_bps"] == metric(outcome, "download_bits_per_second")


def test_bandwidth_when_the_mini_server_answers_403_is_unavailable_in_one_sentence(mini_server):
    srv = mini_server("403")
    outcome = BandwidthCheck().run(bandwidth_ctx({"mini_server": srv.url}))
    assert outcome.resolved_status() == "error" and outcome.error == "http_status_4xx"
    (finding,) = outcome.findings
    assert finding.code == "bandwidth.unavailable"
    assert "HTTP 403" in finding.message and "Traceback" not in finding.message
    assert "\n" not in finding.message


def test_bandwidth_when_the_mini_server_is_down_is_unavailable_and_classified():
    outcome = BandwidthCheck().run(bandwidth_ctx({"mini_server": f"http://127.0.0.1:{closed_port()}/mini"}))
    assert outcome.findings[0].code == "bandwidth.unavailable"
    assert outcome.findings[0].data["failure"] == "connection_refused"


def test_bandwidth_when_speedtest_net_answers_403_is_unavailable(mini_server, monkeypatch):
    import speedtest
    srv = mini_server("403")
    real = speedtest.build_request
    base = f"http://127.0.0.1:{srv.server_address[1]}/"

    def local(url: str, *a: Any, **k: Any) -> Any:
        # speedtest.net itself is never contacted: its URLs are sent to the 403 server.
        url = url.replace("://www.speedtest.net/", "://speedtest.invalid/")
        if "speedtest.invalid/" in url:
            url = base + url.split("speedtest.invalid/", 1)[1]
        return real(url, *a, **{**k, "secure": False})

    monkeypatch.setattr(speedtest, "build_request", local)
    outcome = BandwidthCheck().run(bandwidth_ctx({"mini_server": ""}))
    assert srv.paths == ["/speedtest-config.php"]
    (finding,) = outcome.findings
    assert finding.code == "bandwidth.unavailable" and finding.target == "speedtest.net"
    assert "speedtest.net refused the bandwidth test (HTTP 403)" in finding.message
    assert "mini_server" in finding.message


def test_bandwidth_with_a_zero_cap_is_skipped():
    outcome = BandwidthCheck().run(bandwidth_ctx({"mini_server": "http://127.0.0.1:9/mini", "max_bytes": 0}))
    assert outcome.resolved_status() == "skipped"


def test_bandwidth_through_the_runner_runs_last_and_serializes(mini_server):
    srv = mini_server()
    settings = config.load(overrides={"endpoints": [],
                                      "bandwidth": {"mini_server": srv.url, "max_bytes": 1_000_000,
                                                    "low_download_bps": 0.0, "low_upload_bps": 0.0,
                                                    "timeout_s": 15.0}})
    check = LoadedCheck(name="bandwidth", target="payprobe.checks.bandwidth:BandwidthCheck", cls=BandwidthCheck)
    result = Runner(settings, detect(), options={"bandwidth": True}).run([check], deadline_s=5).results[0]
    assert result.status == "ok", result.summary
    doc = json.loads(json.dumps(result.to_dict()))
    names = {m["name"] for m in doc["metrics"]}
    assert {"download_bits_per_second", "upload_bits_per_second", "bandwidth_bytes_total"} <= names



# ---------------------------------------------------------------- found in the lab


def test_meter_rate_counts_reads_within_the_phase_after_the_first(monkeypatch):
    # At 1.5 Mbit/s speedtest-cli's own figure was 0.6 of the tbf rate: it divides
    # by the time until its last thread ended, blocked in a request opened just
    # before the phase ended. The meter's rate uses only reads inside the phase.
    import types

    stop = Stop(bandwidth_ctx(budget_s=30.0))
    clock = iter([100.0,                       # start_phase
                  100.5, 101.0, 101.5, 102.0,  # four reads inside a 3 s phase
                  104.0])                      # one read after it: not counted
    monkeypatch.setattr(meter_mod, "time", types.SimpleNamespace(monotonic=lambda: next(clock)))
    meter = Meter(stop)
    meter.start_phase(float("inf"), 3.0)
    for n in (1000, 2000, 2000, 2000, 50_000):
        meter.add(n)
    # The first read's bytes arrived before it: 6000 bytes in 1.5 s.
    assert meter.rate_bps() == pytest.approx(8 * 6000 / 1.5)
    assert meter.phase_bytes == 57_000


def test_meter_rate_without_enough_reads_is_none():
    meter = Meter(Stop(bandwidth_ctx(budget_s=30.0)))
    meter.start_phase(float("inf"), 3.0)
    assert meter.rate_bps() is None
    meter.add(1000)
    assert meter.rate_bps() is None


def test_bounded_phase_when_it_outlives_the_deadline_gives_up_and_stops():
    ctx = bandwidth_ctx(budget_s=0.6)
    stop = Stop(ctx)
    release = threading.Event()
    # None, not the work's own answer: it gave up on the work while it still ran.
    assert run_bounded(ctx, stop, lambda: release.wait(10) and 1.0) is None
    assert not release.is_set()
    assert stop.phase.is_set()
    release.set()
    assert run_bounded(bandwidth_ctx(budget_s=5.0), stop, lambda: 42.0) == 42.0


def test_importing_speedtest_leaves_stdout_and_stderr_open():
    # speedtest-cli wraps fd 1 and 2 in writers that close them when collected;
    # the check imports it so that a run's last lines still reach the terminal.
    import subprocess
    import sys
    code = (
        "import gc, sys\n"
        "from payprobe.checks._bandwidth_driver import import_speedtest\n"
        "import_speedtest()\n"
        "del sys.modules['speedtest']\n"
        "gc.collect()\n"
        "print('stdout alive', flush=True)\n"
        "print('stderr alive', file=sys.stderr, flush=True)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout == "stdout alive\n"
    assert proc.stderr == "stderr alive\n"
