"""The path trace as a follow-up: traced at once in runs nobody waits for, suggested
in runs somebody waits for, never when there is nothing to trace."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from payprobe.api import Finding
from payprobe.engine import followup
from payprobe.engine.results import CheckResult, RunResult

from tests.helpers import run_cli, to_toml
from tests.servers.streams import closed_port

OTHERS = "connectivity,dns,tls,clock,proxy,device"


def _run(*findings: Finding, partial: bool = False, names: tuple[str, ...] = ("endpoints",)) -> RunResult:
    results = [CheckResult(name=n, version="1", status="fail", duration_s=0.1, findings=list(findings))
               for n in names]
    return RunResult(started_at=0.0, duration_s=0.1, results=results, partial=partial)


@pytest.mark.parametrize("code", ["endpoint.loss", "endpoint.unreachable"])
def test_wants_path_when_endpoints_lose_packets_or_are_unreachable_is_true(code: str) -> None:
    assert followup.wants_path(_run(Finding(code, "fail", "x", target="alipay")))


def test_wants_path_when_healthy_offline_partial_or_already_traced_is_false() -> None:
    lost = Finding("endpoint.loss", "warn", "x", target="alipay")
    assert not followup.wants_path(_run())
    assert not followup.wants_path(_run(lost, Finding("net.offline", "fail", "offline")))
    assert not followup.wants_path(_run(lost, partial=True))
    assert not followup.wants_path(_run(lost, names=("endpoints", "path")))


def _config(tmp_path: Path) -> Path:
    port = closed_port()
    path = tmp_path / "payprobe.toml"
    path.write_text(to_toml({
        "endpoints": [{"name": "local", "url": f"https://127.0.0.1:{port}/", "provider": "alipay"}],
        "latency": {"samples": 2},
        "path": {"window_s": 0.3, "probes": 2, "families": ["ipv4"]},
    }), encoding="utf-8")
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the path check reads Linux's error queue")
def test_run_when_scheduled_and_endpoint_unreachable_traces_the_path_in_the_same_report(tmp_path: Path) -> None:
    result = run_cli("run", "-c", str(_config(tmp_path)), "--skip", OTHERS, "--trigger", "schedule",
                     "-f", "json", "-d", "15")
    report = result.json()
    names = [c["name"] for c in report["checks"]]
    assert names == ["endpoints", "path"], result.stderr
    assert "--path" not in result.stderr


def test_run_when_someone_waits_and_endpoint_unreachable_suggests_path_without_tracing(tmp_path: Path) -> None:
    result = run_cli("run", "-c", str(_config(tmp_path)), "--skip", OTHERS, "-f", "json", "-d", "10")
    assert [c["name"] for c in result.json()["checks"]] == ["endpoints"]
    assert "--path" in result.stderr
