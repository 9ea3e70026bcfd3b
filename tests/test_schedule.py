"""`payprobe schedule`: systemd units, crontab and termux-job-scheduler, all against fakes
in a temporary HOME (never the real user's crontab or systemd)."""

from __future__ import annotations

import configparser
import io
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from payprobe.agent import schedule
from payprobe.cli.main import main
from payprobe.engine.errors import UsageError


def fake_command(bin_dir: Path, name: str, body: str) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    return home


@pytest.fixture
def fake_crontab(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = tmp_path / "crontab.txt"
    fake_command(tmp_path / "bin", "crontab", f"""
store={store}
case "$1" in
  -l) if [ -f "$store" ]; then cat "$store"; else echo "no crontab for tester" >&2; exit 1; fi ;;
  -r) rm -f "$store" ;;
  -) cat > "$store" ;;
  *) echo "fake crontab: unexpected $*" >&2; exit 2 ;;
esac
""")
    monkeypatch.setenv("PAYPROBE_SCHEDULER", "cron")
    return store


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------ durations


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("15m", 900), ("1h", 3600), ("7d", 604800),
                                          ("1h30m", 5400), ("45", 45), ("2w", 1209600)])
def test_parse_duration_when_valid_gives_seconds(text: str, seconds: float) -> None:
    assert schedule.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5x", "", "m", "-5m", "0m", "15 m", "1h2"])
def test_parse_duration_when_invalid_raises_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        schedule.parse_duration(text, "--every")


def test_parse_jitter_when_percent_or_duration_scales_to_period() -> None:
    assert schedule.parse_jitter("10%", 900) == 90
    assert schedule.parse_jitter("30s", 900) == 30
    with pytest.raises(UsageError):
        schedule.parse_jitter("80%", 900)
    with pytest.raises(UsageError):
        schedule.parse_jitter("10m", 900)


def test_schedule_when_every_is_bad_exits_64(fake_crontab: Path) -> None:
    code, _, err = run_cli("schedule", "install", "--every", "5x")
    assert code == 64 and "--every 5x" in err
    assert not fake_crontab.exists()


# ------------------------------------------------------------------ systemd


def _ini(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def test_systemd_units_when_15m_use_calendar_persistent_and_random_delay() -> None:
    units = schedule.render_systemd_units(900, environ={"PAYPROBE_DATA_DIR": "/tmp/my data%x"})
    service = _ini(units["payprobe.service"])
    timer = _ini(units["payprobe.timer"])
    assert service["Service"]["Type"] == "oneshot"
    exec_start = service["Service"]["ExecStart"]
    assert exec_start.split()[:6] == [sys.executable, "-I", "-m", "payprobe", "schedule", "run"]
    assert service["Service"]["Environment"] == '"PAYPROBE_DATA_DIR=/tmp/my data%%x"'
    assert "1" in service["Service"]["SuccessExitStatus"].split()
    assert timer["Timer"]["OnCalendar"] == "*-*-* *:00/15:00"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["RandomizedDelaySec"] == "90s"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_units_when_period_odd_use_on_unit_active_sec() -> None:
    timer = _ini(schedule.render_systemd_units(45 * 60)["payprobe.timer"])
    assert timer["Timer"]["OnUnitActiveSec"] == "2700s"
    assert "OnCalendar" not in timer["Timer"] and "Persistent" not in timer["Timer"]
    assert _ini(schedule.render_systemd_units(2 * 3600)["payprobe.timer"])["Timer"]["OnCalendar"] \
        == "*-*-* 00/2:00:00"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_systemd_units_when_verified_by_systemd_analyze_have_no_errors(tmp_path: Path) -> None:
    for name, text in schedule.render_systemd_units(900).items():
        (tmp_path / name).write_text(text)
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no",
                           str(tmp_path / "payprobe.timer"), str(tmp_path / "payprobe.service")],
                          capture_output=True, text=True, timeout=60)
    problems = [line for line in proc.stderr.splitlines() if "payprobe" in line]
    assert problems == [], proc.stderr


def test_systemd_install_and_remove_when_fake_systemctl_writes_then_deletes_units(
        tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "systemctl.log"
    fake_command(tmp_path / "bin", "systemctl", f'echo "$*" >> {calls}\n')
    monkeypatch.setenv("PAYPROBE_SCHEDULER", "systemd")
    unit_dir = home / ".config" / "systemd" / "user"
    unit_dir.mkdir(parents=True)
    (unit_dir / "other.timer").write_text("[Timer]\nOnCalendar=daily\n")
    code, out, _ = run_cli("schedule", "install", "--every", "30m")
    assert code == 0, out
    assert sorted(p.name for p in unit_dir.iterdir()) == ["other.timer", "payprobe.service", "payprobe.timer"]
    assert "--user enable --now payprobe.timer" in calls.read_text()
    assert _ini((unit_dir / "payprobe.timer").read_text())["Timer"]["OnCalendar"] == "*-*-* *:00/30:00"
    code, out, _ = run_cli("schedule", "remove")
    assert code == 0
    assert [p.name for p in unit_dir.iterdir()] == ["other.timer"]
    assert "--user disable --now payprobe.timer" in calls.read_text()


def test_systemd_install_when_foreign_unit_exists_refuses(tmp_path: Path, home: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    fake_command(tmp_path / "bin", "systemctl", "exit 0\n")
    monkeypatch.setenv("PAYPROBE_SCHEDULER", "systemd")
    unit_dir = home / ".config" / "systemd" / "user"
    unit_dir.mkdir(parents=True)
    (unit_dir / "payprobe.service").write_text("[Service]\nExecStart=/bin/true\n")
    code, _, err = run_cli("schedule", "install")
    assert code != 0 and "not written by payprobe" in err
    assert (unit_dir / "payprobe.service").read_text() == "[Service]\nExecStart=/bin/true\n"


# ------------------------------------------------------------------ cron


def test_cron_install_when_crontab_has_lines_keeps_them_and_remove_restores_exactly(
        fake_crontab: Path) -> None:
    original = "MAILTO=me@example.invalid\n# my backup\n0 3 * * * /usr/local/bin/backup --all\n"
    fake_crontab.write_text(original)
    code, out, err = run_cli("schedule", "install", "--every", "15m")
    assert code == 0, err
    lines = fake_crontab.read_text().splitlines()
    assert lines[:3] == original.splitlines()
    ours = [line for line in lines if schedule.CRON_MARKER in line]
    assert len(ours) == 1 and ours[0].startswith("*/15 * * * * ")
    assert f"{sys.executable} -I -m payprobe schedule run --max-delay 90s" in ours[0]
    assert "PAYPROBE_DATA_DIR=" in ours[0]  # the job uses the same data dir as the installer
    # installing again replaces our line instead of adding a second one
    assert run_cli("schedule", "install", "--every", "30m")[0] == 0
    ours = [line for line in fake_crontab.read_text().splitlines() if schedule.CRON_MARKER in line]
    assert len(ours) == 1 and ours[0].startswith("*/30 * * * * ")
    code, out, _ = run_cli("schedule", "remove")
    assert code == 0 and "removed" in out
    assert fake_crontab.read_text() == original


def test_cron_install_when_last_line_lacks_newline_remove_restores_bytes(fake_crontab: Path) -> None:
    original = "0 3 * * * /usr/local/bin/backup"
    fake_crontab.write_text(original)
    assert run_cli("schedule", "install")[0] == 0
    assert run_cli("schedule", "remove")[0] == 0
    assert fake_crontab.read_text() == original


def test_cron_install_when_no_crontab_remove_leaves_none(fake_crontab: Path) -> None:
    assert run_cli("schedule", "install", "--every", "1h")[0] == 0
    assert fake_crontab.read_text().startswith("0 * * * * ")
    assert run_cli("schedule", "remove")[0] == 0
    assert not fake_crontab.exists()


def test_cron_when_period_does_not_divide_an_hour_exits_64(fake_crontab: Path) -> None:
    code, _, err = run_cli("schedule", "install", "--every", "45m")
    assert code == 64 and "divide an hour" in err
    code, _, err = run_cli("schedule", "install", "--every", "30s")
    assert code == 64


def test_cron_remove_when_not_installed_says_so(fake_crontab: Path) -> None:
    fake_crontab.write_text("0 3 * * * backup\n")
    code, out, _ = run_cli("schedule", "remove")
    assert code == 0 and "nothing to remove" in out
    assert fake_crontab.read_text() == "0 3 * * * backup\n"


def test_cron_line_when_value_has_percent_escapes_it() -> None:
    line = schedule.cron_line(900, environ={"PAYPROBE_DATA_DIR": "/d/50%"})
    assert "50\\%" in line and "50%'" not in line.replace("\\%", "")


# ------------------------------------------------------------------ termux


def test_termux_install_when_fake_scheduler_builds_the_android_command_line(
        tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    argv_log = tmp_path / "argv.txt"
    fake_command(tmp_path / "bin", "termux-job-scheduler",
                 f'for a in "$@"; do printf "%s\\n" "$a"; done > {argv_log}\n')
    monkeypatch.setenv("PAYPROBE_SCHEDULER", "termux")
    monkeypatch.setenv("PREFIX", "/data/data/com.termux/files/usr")
    code, out, err = run_cli("schedule", "install", "--every", "30m")
    assert code == 0, err
    argv = argv_log.read_text().splitlines()
    opts = dict(zip(argv[::2], argv[1::2], strict=True))
    assert opts["--period-ms"] == "1800000"
    assert opts["--network"] == "any"
    assert opts["--battery-not-low"] == "true"
    assert opts["--persisted"] == "true"
    assert opts["--job-id"] == str(schedule.TERMUX_JOB_ID)
    script = Path(opts["--script"])
    assert script.stat().st_mode & stat.S_IXUSR
    text = script.read_text()
    assert text.startswith("#!/data/data/com.termux/files/usr/bin/sh\n")
    assert f"exec {sys.executable} -I -m payprobe schedule run" in text
    code, _, _ = run_cli("schedule", "remove")
    assert code == 0
    assert argv_log.read_text().splitlines() == ["--cancel", "--job-id", str(schedule.TERMUX_JOB_ID)]
    assert not script.exists()


def test_termux_install_when_period_under_15m_exits_64(tmp_path: Path, home: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    argv_log = tmp_path / "argv.txt"
    fake_command(tmp_path / "bin", "termux-job-scheduler", f'echo "$@" > {argv_log}\n')
    monkeypatch.setenv("PAYPROBE_SCHEDULER", "termux")
    code, _, err = run_cli("schedule", "install", "--every", "5m")
    assert code == 64 and "15 minutes" in err
    assert not argv_log.exists()


def test_choose_backend_when_termux_env_picks_termux() -> None:
    assert isinstance(schedule.choose_backend({"TERMUX_VERSION": "0.118"}), schedule.TermuxBackend)
    assert isinstance(schedule.choose_backend({"PAYPROBE_SCHEDULER": "cron"}), schedule.CronBackend)
    with pytest.raises(UsageError):
        schedule.choose_backend({"PAYPROBE_SCHEDULER": "atd"})


# ------------------------------------------------------------------ launchd / status


def test_launchd_plist_when_rendered_runs_schedule_run_every_period(tmp_path: Path) -> None:
    import plistlib
    doc = plistlib.loads(schedule.render_launchd_plist(1800, tmp_path, environ={"PAYPROBE_DATA_DIR": "/x"}))
    assert doc["StartInterval"] == 1800
    assert doc["ProgramArguments"][:6] == [sys.executable, "-I", "-m", "payprobe", "schedule", "run"]
    assert doc["EnvironmentVariables"] == {"PAYPROBE_DATA_DIR": "/x"}


def test_status_when_installed_shows_next_run_and_last_scheduled_result(fake_crontab: Path) -> None:
    from payprobe.agent import history

    from tests.test_history import make_report, settings
    r = make_report("unhealthy", causes=["dns_problem"], trigger="schedule")
    history.record_run(settings(), r)
    assert run_cli("schedule", "install", "--every", "15m")[0] == 0
    code, out, _ = run_cli("schedule", "status")
    assert code == 0
    assert "every 15m" in out
    next_line = next(line for line in out.splitlines() if line.startswith("next run:"))
    assert next_line != "next run: unknown"
    assert "last scheduled run:" in out and "unhealthy" in out and "dns_problem" in out
    state = json.loads((Path(os.environ["PAYPROBE_DATA_DIR"]) / "schedule.json").read_text())
    assert state["backend"] == "cron"


def test_status_when_not_installed_says_so() -> None:
    code, out, _ = run_cli("schedule", "status")
    assert code == 0 and "not installed" in out
