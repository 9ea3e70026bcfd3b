"""device: thresholds from config, termux-battery-status, AccessDenied everywhere."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from payprobe.api import Outcome
from payprobe.checks.device import DeviceCheck
from payprobe.engine import config
from payprobe.engine.registry import LoadedCheck
from payprobe.engine.runner import Runner
from payprobe.host import HostInfo, detect

from tests.helpers import LINUX, TERMUX, codes, make_ctx, put_command, put_printing_command
from tests.servers import idle_listener

psutil = pytest.importorskip("psutil")

# Thresholds that never fire, so each test turns on only the one it is about.
QUIET = {"low_memory_mb": 0.0, "low_storage_mb": 0.0, "low_battery_percent": 0.0,
         "high_load_per_cpu": 1e9}


def run(device: dict[str, Any] | None = None, host: HostInfo = LINUX) -> Outcome:
    settings = config.load(overrides={"device": {**QUIET, **(device or {})}})
    return DeviceCheck().run(make_ctx(settings.device, settings=settings, host=host))


def sources(outcome: Outcome) -> dict[str, str]:
    return next(e for e in outcome.evidence if e["what"] == "sources")["sources"]


@pytest.fixture
def fake_battery(tmp_path: Path, monkeypatch) -> Any:
    """A termux-battery-status (and a settings) script on PATH, printing what the test says."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")

    def install(payload: str, *, low_power: str | None = None) -> None:
        put_printing_command(bindir, "termux-battery-status", payload)
        if low_power is not None:
            put_command(bindir, "settings", f"[ \"$*\" = 'get global low_power' ] && echo {low_power}")

    return install


def test_device_with_quiet_thresholds_is_ok():
    outcome = run()
    assert outcome.findings == [] and outcome.resolved_status() == "ok"
    names = {m.name for m in outcome.metrics}
    assert {"memory_available_bytes", "storage_free_bytes", "load_per_cpu"} <= names


def test_device_low_memory_when_below_the_threshold_warns():
    outcome = run({"low_memory_mb": 1e9})
    (finding,) = outcome.findings
    assert finding.code == "device.low_memory" and finding.severity == "warn"
    assert finding.data["threshold_mb"] == 1e9 and finding.data["available_mb"] >= 0


def test_device_low_storage_when_below_the_threshold_warns():
    outcome = run({"low_storage_mb": 1e12})
    assert codes(outcome) == {"device.low_storage"}
    assert outcome.findings[0].data["threshold_mb"] == 1e12


def test_device_high_load_when_above_the_threshold_warns():
    outcome = run({"high_load_per_cpu": 0.0})
    assert codes(outcome) == {"device.high_load"}
    assert outcome.findings[0].data["threshold_per_cpu"] == 0.0


def test_device_low_battery_on_termux_reads_termux_battery_status(fake_battery):
    fake_battery('{"percentage": 9, "plugged": "UNPLUGGED", "status": "DISCHARGING",'
                 ' "temperature": 31.5}', low_power="1")
    outcome = run({"low_battery_percent": 15.0}, host=TERMUX)
    (finding,) = outcome.findings
    assert finding.code == "device.low_battery"
    assert finding.data == {"percent": 9.0, "threshold_percent": 15.0, "plugged": False,
                            "power_saving": True}
    assert "power saving is on" in finding.message
    battery = next(e for e in outcome.evidence if e["what"] == "battery")
    assert battery["status"] == "DISCHARGING" and battery["temperature_c"] == 31.5
    assert sources(outcome)["battery"] == "ok"


def test_device_low_battery_while_charging_is_not_a_finding(fake_battery):
    fake_battery('{"percentage": 9, "plugged": "PLUGGED_AC", "status": "CHARGING"}')
    outcome = run({"low_battery_percent": 15.0}, host=TERMUX)
    assert outcome.findings == []
    assert next(m.value for m in outcome.metrics if m.name == "battery_percent") == 9.0


def test_device_when_termux_battery_status_prints_garbage_skips_battery(fake_battery):
    fake_battery("Error: Termux:API app is not installed")
    outcome = run({"low_battery_percent": 100.0}, host=TERMUX)
    assert sources(outcome)["battery"].startswith("skipped: unreadable output")
    assert "device.low_battery" not in codes(outcome)


def test_device_when_termux_battery_status_exits_1_silently_skips_battery_with_reason(
        tmp_path: Path, monkeypatch) -> None:
    bindir = tmp_path / "bin"
    put_command(bindir, "termux-battery-status", "exit 1")
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    outcome = run({"low_battery_percent": 100.0}, host=TERMUX)
    reason = sources(outcome)["battery"]
    assert reason.startswith("skipped: termux-battery-status failed (exit 1) without output")
    assert "Termux:API app" in reason
    assert not [e for e in outcome.evidence if e["what"] == "battery"]


def test_device_when_termux_battery_status_hangs_skips_battery_at_the_configured_timeout(
        tmp_path: Path, monkeypatch) -> None:
    bindir = tmp_path / "bin"
    put_command(bindir, "termux-battery-status", "exec sleep 60")
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    settings = config.load(overrides={"device": QUIET, "connectivity": {"termux_api_timeout_s": 0.2}})
    outcome = DeviceCheck().run(make_ctx(settings.device, settings=settings, host=TERMUX))
    assert sources(outcome)["battery"].startswith(
        "skipped: termux-battery-status did not answer in 0.2 s: is the Termux:API app installed")


def test_device_counts_processes_holding_network_connections():
    with idle_listener() as port, socket.create_connection(("127.0.0.1", port), timeout=2):
        outcome = run()
    if not sources(outcome)["connections"] == "ok":
        pytest.skip(f"net_connections unreadable here: {sources(outcome)['connections']}")
    procs = next(m.value for m in outcome.metrics if m.name == "network_processes")
    assert procs >= 1
    ev = next(e for e in outcome.evidence if e["what"] == "network_processes")
    assert ev["connections"] >= 3 and ev["established"] >= 2


def test_device_when_every_psutil_source_is_access_denied_degrades_to_skipped_sources(monkeypatch):
    def denied(*a: Any, **k: Any) -> Any:
        raise psutil.AccessDenied(pid=None, msg="permission denied by SELinux")

    for fn in ("getloadavg", "virtual_memory", "net_connections", "sensors_battery"):
        monkeypatch.setattr(psutil, fn, denied)
    outcome = run({"low_memory_mb": 1e9, "high_load_per_cpu": 0.0})
    src = sources(outcome)
    for name in ("load", "memory", "connections", "battery"):
        assert src[name].startswith("skipped: AccessDenied"), (name, src[name])
    assert src["storage"] == "ok"
    assert outcome.resolved_status() == "ok"          # storage was still read
    assert "unreadable" in outcome.summary


def test_device_when_nothing_is_readable_is_skipped_with_reasons(monkeypatch):
    def denied(*a: Any, **k: Any) -> Any:
        raise psutil.AccessDenied(pid=None)

    for fn in ("getloadavg", "virtual_memory", "net_connections", "sensors_battery"):
        monkeypatch.setattr(psutil, fn, denied)
    import shutil

    def no_disk(path: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(shutil, "disk_usage", no_disk)
    outcome = run()
    assert outcome.resolved_status() == "skipped"
    assert "AccessDenied" in outcome.summary and "Permission denied" in outcome.summary


def test_device_through_the_runner_serializes(fake_battery):
    fake_battery('{"percentage": 5, "plugged": "UNPLUGGED"}')
    settings = config.load(overrides={"device": {**QUIET, "low_battery_percent": 10.0}})
    check = LoadedCheck(name="device", target="payprobe.checks.device:DeviceCheck", cls=DeviceCheck)
    result = Runner(settings, TERMUX).run([check], deadline_s=8).results[0]
    assert result.status == "warn"
    doc = json.loads(json.dumps(result.to_dict()))
    assert [f["code"] for f in doc["findings"]] == ["device.low_battery"]


def test_device_on_this_host_runs(monkeypatch):
    assert run(host=detect()).resolved_status() in ("ok", "warn")
