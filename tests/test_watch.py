"""`payprobe watch` and the scheduled run: child processes, the run lock, signals,
and the bandwidth gate."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from payprobe.agent import schedule, watch
from payprobe.cli.main import main

from tests.helpers import make_plugin_dist, put_command, put_printing_command

REPO = Path(__file__).resolve().parents[1]


def fake_settings(on_schedule: bool = False, deadline_s: float = 5.0) -> Any:
    return SimpleNamespace(deadline_s=deadline_s,
                           bandwidth=SimpleNamespace(on_schedule=on_schedule),
                           connectivity=SimpleNamespace(termux_api_timeout_s=2.0),
                           device=SimpleNamespace(low_battery_percent=15.0))


def slow_plugin(tmp_path: Path) -> Path:
    """A third-party check that takes 30 s, installed as a distribution on PYTHONPATH."""
    return make_plugin_dist(tmp_path / "site", "slowcheck", {"slow": f"""
        import time
        from typing import ClassVar
        from payprobe.api import Outcome

        class Plugin:
            name: ClassVar[str] = "slow"
            version: ClassVar[str] = "1"
            description: ClassVar[str] = "sleeps (test plugin)"
            timeout_s: ClassVar[float] = 60.0

            def run(self, ctx):
                open({str(tmp_path / 'started')!r}, "w").close()
                end = time.monotonic() + 30
                while time.monotonic() < end:
                    ctx.check_cancelled()
                    time.sleep(0.05)
                return Outcome()
    """})


def _env(tmp_path: Path, site: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(REPO)] + ([str(site)] if site else [])
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


# ------------------------------------------------------------------ options and gate


def test_run_options_when_bandwidth_not_allowed_skips_it_and_passes_run_options() -> None:
    opts = watch.RunOptions(config="c.toml", only=None, skip=["dns"], deadline=12.0, lang="zh",
                            push="http://127.0.0.1:1")
    argv = opts.argv("watch", bandwidth=False)
    assert argv[1:7] == ["-m", "payprobe", "run", "--trigger", "watch", "--quiet"]
    assert argv[argv.index("--skip") + 1] == "dns,bandwidth"
    assert argv[argv.index("--config") + 1] == "c.toml"
    assert argv[argv.index("--deadline") + 1] == "12.0"
    assert argv[argv.index("--lang") + 1] == "zh"
    assert "--bandwidth" not in argv
    assert "--bandwidth" in opts.argv("watch", bandwidth=True)


def test_run_options_when_only_bandwidth_and_not_allowed_runs_nothing() -> None:
    assert watch.RunOptions(only=["bandwidth"]).argv("schedule", bandwidth=False) is None
    argv = watch.RunOptions(only=["bandwidth", "dns"]).argv("schedule", bandwidth=False)
    assert argv is not None and argv[argv.index("--only") + 1] == "dns"


def test_bandwidth_allowed_when_on_schedule_false_says_why() -> None:
    allowed, why = watch.bandwidth_allowed(fake_settings(on_schedule=False))
    assert allowed is False and "on_schedule" in why


def _sysnet(tmp_path: Path, iface: str, *, wireless: bool, ethernet: bool = False) -> tuple[Path, Path]:
    sys_net = tmp_path / "sys"
    (sys_net / iface).mkdir(parents=True)
    if wireless:
        (sys_net / iface / "wireless").mkdir()
    (sys_net / iface / "type").write_text("1\n")
    if ethernet:
        (sys_net / iface / "device").mkdir()
    route = tmp_path / "route"
    route.write_text("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                     f"{iface}\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
                     f"{iface}\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")
    return sys_net, route


def test_link_kind_when_default_route_on_wireless_is_wifi(tmp_path: Path) -> None:
    sys_net, route = _sysnet(tmp_path, "wlan0", wireless=True)
    assert watch.link_kind(sys_net, route)[0] == "wifi"


def test_link_kind_when_default_route_on_wwan_is_cellular(tmp_path: Path) -> None:
    sys_net, route = _sysnet(tmp_path, "wwan0", wireless=False)
    assert watch.link_kind(sys_net, route)[0] == "cellular"
    sys_net, route = _sysnet(tmp_path / "e", "enp3s0", wireless=False, ethernet=True)
    assert watch.link_kind(sys_net, route)[0] == "ethernet"


def test_bandwidth_allowed_when_termux_on_wifi_and_battery_low_refuses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    put_printing_command(bin_dir, "termux-wifi-connectioninfo", '{"supplicant_state": "COMPLETED", "ssid": "x"}')
    put_printing_command(bin_dir, "termux-battery-status", '{"percentage": 9, "plugged": "UNPLUGGED"}')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("TERMUX_VERSION", "0.118")
    allowed, why = watch.bandwidth_allowed(fake_settings(on_schedule=True))
    assert allowed is False and "battery 9%" in why
    put_printing_command(bin_dir, "termux-battery-status", '{"percentage": 9, "plugged": "PLUGGED_AC"}')
    assert watch.bandwidth_allowed(fake_settings(on_schedule=True))[0] is True
    put_printing_command(bin_dir, "termux-wifi-connectioninfo", '{"supplicant_state": "DISCONNECTED"}')
    allowed, why = watch.bandwidth_allowed(fake_settings(on_schedule=True))
    assert allowed is False and "Wi-Fi" in why


def test_bandwidth_allowed_when_termux_api_hangs_refuses_and_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    put_command(bin_dir, "termux-wifi-connectioninfo", "exec sleep 60")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("TERMUX_VERSION", "0.118")
    settings = fake_settings(on_schedule=True)
    settings.connectivity.termux_api_timeout_s = 0.2
    allowed, why = watch.bandwidth_allowed(settings)
    assert allowed is False
    assert "termux-wifi-connectioninfo did not answer in 0.2 s" in why and "Termux:API" in why


def test_link_kind_when_route_table_unreadable_is_unknown(tmp_path: Path) -> None:
    kind, how = watch.link_kind(tmp_path / "sys", tmp_path / "no-such-route-file")
    assert (kind, how) == ("unknown", "no default route found")


# ------------------------------------------------------------------ the loop


def test_watch_when_count_2_runs_two_children_and_sleeps_between(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "runs.txt"
    child = [sys.executable, "-c", f"open({str(log)!r}, 'a').write('run\\n'); raise SystemExit(1)"]
    monkeypatch.setattr(watch.RunOptions, "argv", lambda self, trigger, bandwidth: child)
    waits: list[float] = []
    runner = watch.ChildRunner()
    real_wait = runner.stop.wait
    monkeypatch.setattr(runner.stop, "wait", lambda t: (waits.append(t), real_wait(0))[1])
    out = io.StringIO()
    code = watch.watch(watch.WatchPlan(every_s=600, jitter_s=60, count=2), watch.RunOptions(),
                       fake_settings(), out, io.StringIO(), runner=runner)
    assert code == 0
    assert log.read_text() == "run\nrun\n"
    assert out.getvalue().count("degraded") == 2
    assert len(waits) == 1 and 540 <= waits[0] <= 660  # one sleep, with jitter


def test_watch_when_lock_held_exits_75_with_clear_message() -> None:
    lock = schedule.RunLock().acquire("payprobe watch (test)")
    try:
        out, err = io.StringIO(), io.StringIO()
        code = main(["watch", "--every", "1m", "--count", "1", "--only", "device"], stdout=out, stderr=err)
    finally:
        lock.release()
    assert code == schedule.EXIT_BUSY
    assert "payprobe watch (test)" in err.getvalue() and "overlap" in err.getvalue()
    assert "a run every" not in out.getvalue()


def test_schedule_run_when_watch_holds_lock_exits_75_in_another_process(tmp_path: Path) -> None:
    lock = schedule.RunLock().acquire("payprobe watch (test)")
    try:
        proc = subprocess.run([sys.executable, "-m", "payprobe", "schedule", "run"], env=_env(tmp_path),
                              capture_output=True, text=True, timeout=60)
    finally:
        lock.release()
    assert proc.returncode == schedule.EXIT_BUSY
    assert "two runs must not overlap" in proc.stderr


def test_schedule_run_when_free_runs_once_with_trigger_schedule(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "payprobe", "schedule", "run"], env=_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1, 2), proc.stderr
    reports = list((Path(os.environ["PAYPROBE_DATA_DIR"]) / "reports").glob("report-*.json"))
    assert len(reports) == 1
    assert json.loads(reports[0].read_text())["trigger"] == "schedule"


def test_watch_when_real_runs_with_count_2_records_two_watch_runs() -> None:
    out = io.StringIO()
    code = main(["watch", "--every", "1s", "--jitter", "0", "--count", "2", "--only", "device"],
                stdout=out, stderr=io.StringIO())
    assert code == 0
    from payprobe.agent import history
    runs = history.recent_summaries(10)
    assert [r["trigger"] for r in runs] == ["watch", "watch"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_watch_when_signalled_during_a_run_child_writes_partial_report_and_watch_exits_130(
        tmp_path: Path, sig: signal.Signals) -> None:
    site = slow_plugin(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "payprobe", "watch", "--every", "1h", "--only", "slow",
                             "--deadline", "50"], env=_env(tmp_path, site),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 30
        while not (tmp_path / "started").exists() and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.05)
        assert (tmp_path / "started").exists(), proc.stderr.read() if proc.poll() is not None else ""
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "run 1: interrupted" in out
    assert "Traceback" not in err
    reports = list((Path(os.environ["PAYPROBE_DATA_DIR"]) / "reports").glob("report-*.json"))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text())
    assert report["partial"] is True and report["trigger"] == "watch"
    # the lock went with the watch: a new one can start
    schedule.RunLock().acquire("next").release()


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_watch_when_sigterm_between_runs_exits_130_without_new_run(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "payprobe", "watch", "--every", "1h", "--only", "device"],
                            env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = []
        end = time.monotonic() + 60
        while time.monotonic() < end:
            line = proc.stdout.readline()
            lines.append(line)
            if "next run at" in line or not line:
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "stopped by SIGTERM after 1 run(s)" in err
    assert "".join(lines).count("run 1:") == 1 and "run 2" not in out


def test_child_runner_when_child_overruns_terminates_it(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch, "CHILD_TERM_WAIT_S", 5.0)
    runner = watch.ChildRunner()
    code = runner.run([sys.executable, "-c", "import time; time.sleep(60)"], timeout_s=0.5)
    assert code == -signal.SIGTERM
