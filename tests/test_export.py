"""Fleet export: exposition text, textfile, Pushgateway push (loopback fake and the
real prometheus-pushgateway scraped by a real Prometheus)."""

from __future__ import annotations

import base64
import http.server
import io
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from payprobe.agent import export
from payprobe.cli.main import main

from tests.test_history import make_report

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


def _parse(text: str) -> list[tuple[str, str, float]]:
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a valid exposition line: {line!r}"
        samples.append((m.group(1), m.group(2) or "", float(m.group(3))))
    return samples


def test_fallback_exposition_when_report_has_metrics_is_valid_text_without_timestamps() -> None:
    report = make_report("degraded", connect_s={'Ali "pay"\\x': 0.05}, causes=["dns_problem"])
    samples = _parse(export.fallback_exposition(report))
    by_name = {(n, labels): v for n, labels, v in samples}
    assert by_name[("payprobe_status", '{status="degraded"}')] == 1
    assert by_name[("payprobe_status", '{status="healthy"}')] == 0
    assert by_name[("payprobe_cause", '{code="dns_problem",severity="fail"}')] == 1
    assert by_name[("payprobe_tcp_connect_seconds", '{endpoint="Ali \\"pay\\"\\\\x",stat="p50"}')] == 0.05
    assert by_name[("payprobe_clock_offset_seconds", '{source="best"}')] == -2.5
    assert len(samples) == len(set((n, labels) for n, labels, _ in samples))  # no duplicate series


def test_fallback_exposition_when_same_series_twice_keeps_one() -> None:
    report = make_report()
    report["checks"][1]["metrics"].append(dict(report["checks"][1]["metrics"][0]))
    names = [(n, labels) for n, labels, _ in _parse(export.fallback_exposition(report))]
    assert names.count(("payprobe_clock_offset_seconds", '{source="best"}')) == 1


def test_write_textfile_when_prom_path_writes_readable_file_atomically(tmp_path: Path) -> None:
    target = tmp_path / "collector" / "payprobe.prom"
    err = io.StringIO()
    export.write_textfile(target, make_report("unhealthy"), err)
    assert err.getvalue() == ""
    assert target.stat().st_mode & 0o044 == 0o044  # node_exporter runs as another user
    assert any(n.startswith("payprobe_") for n, _, _ in _parse(target.read_text()))
    assert [p.name for p in target.parent.iterdir()] == ["payprobe.prom"]  # no temp file left
    export.write_textfile(tmp_path / "metrics.txt", make_report(), err)
    assert "*.prom" in err.getvalue()


def test_export_cli_when_no_report_exits_64_and_with_report_writes_textfile(tmp_path: Path) -> None:
    err = io.StringIO()
    assert main(["export", "--textfile", str(tmp_path / "p.prom")], stdout=io.StringIO(), stderr=err) == 64
    assert main(["run", "--only", "device", "--quiet"], stdout=io.StringIO(), stderr=io.StringIO()) in (0, 1, 2)
    out = io.StringIO()
    assert main(["export", "--textfile", str(tmp_path / "p.prom")], stdout=out, stderr=io.StringIO()) == 0
    assert "payprobe_" in (tmp_path / "p.prom").read_text()
    assert main(["export"], stdout=io.StringIO(), stderr=io.StringIO()) == 64


def test_instance_label_when_redacted_is_stable_salted_and_hides_hostname() -> None:
    report = make_report()
    first = export.instance_label(report)
    assert first == export.instance_label(report)
    assert re.fullmatch(r"device-[0-9a-f]{16}", first)
    assert socket.gethostname() not in first
    salt = Path(os.environ["PAYPROBE_DATA_DIR"]) / export.SALT_FILE
    salt.write_bytes(b"another-salt")
    assert export.instance_label(report) != first
    assert export.instance_label({**report, "redacted": False}) == socket.gethostname()


def test_push_url_when_credentials_in_url_moves_them_to_a_header() -> None:
    url, auth = export.push_url("https://u%40x:p%3Aw@gw.example.invalid:9091/base/", "device-1")
    assert url == "https://gw.example.invalid:9091/base/metrics/job/payprobe/instance/device-1"
    assert auth == "Basic " + base64.b64encode(b"u@x:p:w").decode()
    with pytest.raises(Exception, match="http"):
        export.push_url("ftp://gw/", "x")


class _Gateway(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        type(self).received.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                    "body": body})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_gateway() -> Iterator[tuple[int, type[_Gateway]]]:
    handler = type("Gw", (_Gateway,), {"received": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


def test_push_when_gateway_answers_puts_exposition_to_job_instance_group(
        fake_gateway: tuple[int, type[_Gateway]]) -> None:
    port, handler = fake_gateway
    report = make_report("unhealthy")
    err = io.StringIO()
    assert export.push(f"http://user:secret@127.0.0.1:{port}", report, err) is True
    (hit,) = handler.received
    assert hit["path"] == f"/metrics/job/payprobe/instance/{export.instance_label(report)}"
    assert hit["auth"] == "Basic " + base64.b64encode(b"user:secret").decode()
    assert "payprobe_" in hit["body"]
    assert err.getvalue() == ""


def test_push_when_gateway_down_warns_without_credentials() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    err = io.StringIO()
    assert export.push(f"http://user:secret@127.0.0.1:{port}", make_report(), err, deadline_s=2) is False
    assert "push to http://127.0.0.1" in err.getvalue() and "secret" not in err.getvalue()


def test_run_when_push_given_pushes_after_saving(fake_gateway: tuple[int, type[_Gateway]]) -> None:
    port, handler = fake_gateway
    code = main(["run", "--only", "device", "--quiet", "--push", f"http://127.0.0.1:{port}"],
                stdout=io.StringIO(), stderr=io.StringIO())
    assert code in (0, 1, 2)
    assert len(handler.received) == 1


# ------------------------------------------------------------------ the real stack


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


def _binaries() -> tuple[str, str]:
    gw, prom = shutil.which("prometheus-pushgateway"), shutil.which("prometheus")
    if not (gw and prom):
        message = "needs prometheus-pushgateway and prometheus (apt-get install prometheus-pushgateway prometheus)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return gw, prom


def test_push_when_real_pushgateway_scraped_by_prometheus_metric_queryable(tmp_path: Path) -> None:
    gw_bin, prom_bin = _binaries()
    gw_port, prom_port = _free_port(), _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:{gw_port}"]
""")
    procs = [
        subprocess.Popen([gw_bin, f"--web.listen-address=127.0.0.1:{gw_port}",
                          f"--persistence.file={tmp_path / 'gw.data'}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE),
        subprocess.Popen([prom_bin, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                          f"--web.listen-address=127.0.0.1:{prom_port}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE),
    ]
    try:
        deadline = time.monotonic() + 20
        _wait_http(f"http://127.0.0.1:{gw_port}/-/ready", deadline)
        report = make_report("unhealthy", connect_s={"Alipay": 0.05}, causes=["dns_problem"])
        err = io.StringIO()
        assert export.push(f"http://127.0.0.1:{gw_port}", report, err) is True, err.getvalue()
        instance = export.instance_label(report)
        _wait_http(f"http://127.0.0.1:{prom_port}/-/ready", deadline)
        query = urllib.parse.urlencode({"query": f'{{__name__=~"payprobe_.+",job="payprobe",instance="{instance}"}}'})
        names: set[str] = set()
        while time.monotonic() < deadline and not names:
            with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/query?{query}", timeout=2) as r:
                doc = json.loads(r.read())
            assert doc["status"] == "success"
            names = {s["metric"]["__name__"] for s in doc["data"]["result"]}
            if not names:
                time.sleep(0.3)
        assert names, "Prometheus never saw a payprobe metric from the Pushgateway"
        assert any("connect" in n for n in names), names
        status = urllib.parse.urlencode({"query": f'payprobe_status{{instance="{instance}"}} == 1'})
        with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/query?{status}", timeout=2) as r:
            result = json.loads(r.read())["data"]["result"]
        assert [s["metric"]["status"] for s in result] == ["unhealthy"]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
