"""The CLI contract (DESIGN §3), driven in-process through payprobe.cli.main.main()."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from payprobe import __version__
from payprobe.reports.model import validate

from tests.helpers import make_plugin_dist, run_cli, run_subprocess, sigint_as_default

# Unit tests never reach the network: every `run` here selects the device check
# or a plugin check only.


def saved_reports(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "data" / "reports").glob("report-*.json"))


def test_version_and_help():
    from payprobe import __version__
    res = run_cli("--version")
    assert res.exit_status == 0
    assert __version__ in res.stdout
    res = run_cli("--help")
    assert res.exit_status == 0
    for command in ("run", "checks", "show", "schema", "explain"):
        assert command in res.stdout


def test_run_device_only_prints_a_summary_and_saves_a_valid_report(tmp_path):
    res = run_cli("run", "--only", "device")
    assert res.exit_status in (0, 1)          # healthy, or degraded on a busy/low-disk machine
    assert "device" in res.stdout
    assert res.stdout.startswith("payprobe: ")
    files = saved_reports(tmp_path)
    assert len(files) == 1
    assert str(files[0]) in res.stderr        # the path is printed
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    report = json.loads(files[0].read_text())
    assert validate(report) == []
    assert report["checks"][0]["name"] == "device"
    assert report["redacted"] is True


def test_json_to_stdout_is_only_json(tmp_path):
    res = run_cli("run", "--only", "device", "--format", "json", "--output", "-")
    report = res.json()                         # would raise if anything else were on stdout
    assert report["schema_version"] == 1
    assert validate(report) == []


def test_output_file_gets_the_chosen_format(tmp_path):
    out = tmp_path / "r.json"
    res = run_cli("run", "--only", "device", "--format", "json", "--output", str(out), "--quiet")
    assert res.exit_status in (0, 1)
    assert json.loads(out.read_text())["checks"][0]["name"] == "device"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_show_renders_a_saved_report(tmp_path):
    run_cli("run", "--only", "device", "--quiet")
    path = saved_reports(tmp_path)[0]
    res = run_cli("show", str(path))
    assert res.exit_status == 0
    assert "device" in res.stdout
    res = run_cli("show", str(path), "--format", "json")
    assert json.loads(res.stdout)["run_id"] == json.loads(path.read_text())["run_id"]


def test_schema_prints_the_json_schema():
    res = run_cli("schema")
    schema = json.loads(res.stdout)
    assert schema["$schema"].endswith("2020-12/schema")
    assert "checks" in schema["required"]


@pytest.mark.parametrize("argv, needle", [
    (["run", "--only", "nosuch"], "--only: unknown check 'nosuch'"),
    (["run", "--only", "devic"], 'did you mean "device"'),
    (["run", "--skip", "x"], "--skip: unknown check 'x'"),
    (["run", "--deadline", "-3"], "expected a positive number of seconds"),
    (["run", "--deadline", "soon"], "expected a number of seconds"),
    (["run", "--format", "yaml"], "invalid choice: 'yaml'"),
    (["run", "--output", "/nonexistent-dir/r.json"], "does not exist"),
    (["frobnicate"], "invalid choice"),
    (["run", "--only", "device", "--skip", "device"], "no checks selected"),
])
def test_bad_usage_is_one_sentence_and_exit_64(argv, needle, tmp_path):
    res = run_cli(*argv)
    assert res.exit_status == 64
    assert needle in res.stderr
    assert "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1
    assert not saved_reports(tmp_path)          # nothing half-written left behind


def test_output_that_is_a_directory_is_refused_before_running(tmp_path):
    res = run_cli("run", "--only", "device", "--output", str(tmp_path))
    assert res.exit_status == 64 and "is a directory" in res.stderr
    assert not saved_reports(tmp_path)


def test_output_that_fails_at_write_time_is_exit_64_and_the_report_is_kept(tmp_path):
    # /proc accepts no new files, even for root: the write fails after the run.
    res = run_cli("run", "--only", "device", "--output", "/proc/payprobe-test.json", "--quiet")
    assert res.exit_status == 64
    assert "could not write /proc/payprobe-test.json" in res.stderr
    assert "Traceback" not in res.stderr
    assert len(saved_reports(tmp_path)) == 1      # nothing lost: the JSON report is saved


@pytest.mark.parametrize("content, needle", [
    (b"[dns\n", "invalid TOML"),
    (b"deadline_s = 'x'\n", "deadline_s: expected a number"),
    (b"deadline_s = -5\n", "deadline_s: expected a number >= 0.5"),
    (b"[tls]\nslow = 3\n", "tls.slow: unknown key"),
])
def test_bad_config_is_exit_64_naming_file_and_key(tmp_path, content, needle):
    cfg = tmp_path / "bad.toml"
    cfg.write_bytes(content)
    res = run_cli("run", "--config", str(cfg), "--only", "device")
    assert res.exit_status == 64
    assert str(cfg) in res.stderr and needle in res.stderr
    assert "Traceback" not in res.stderr
    assert not saved_reports(tmp_path)


def test_config_from_the_user_config_dir_is_used(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text("deadline_s = 'bad'\n")
    res = run_cli("run", "--only", "device")
    assert res.exit_status == 64 and "config.toml" in res.stderr


@pytest.mark.parametrize("content, needle", [
    (b"not json at all", "not a JSON file"),
    (b'{"hello": 1}', "not a payprobe report"),
    (b'{"schema_version": 1, "checks": "x"}', "not a valid payprobe report"),
    (b"\xff\xfe", "not a JSON file"),
])
def test_show_rejects_non_reports_with_exit_64(tmp_path, content, needle):
    path = tmp_path / "x.json"
    path.write_bytes(content)
    res = run_cli("show", str(path))
    assert res.exit_status == 64 and needle in res.stderr
    assert "Traceback" not in res.stderr


def test_show_missing_file(tmp_path):
    res = run_cli("show", str(tmp_path / "missing.json"))
    assert res.exit_status == 64 and "no such file" in res.stderr


# ------------------------------------------------------------ plugins


PLUGIN_OK = '''
from payprobe.api import Outcome, Metric, Finding
class Plugin:
    name = "hello"
    version = "1"
    description = "says hello from a plugin"
    def run(self, ctx):
        return Outcome(summary="hello", metrics=[Metric("hello_seconds", 0.25, "s")],
                       findings=[Finding("hello.wave", "warn", "waving")])
'''
PLUGIN_BROKEN = '''
raise RuntimeError("plugin module exploded")
'''
PLUGIN_MISNAMED = '''
class Plugin:
    name = "other"
    version = "1"
    def run(self, ctx):
        return None
'''


@pytest.fixture
def plugin_path(tmp_path):
    return make_plugin_dist(tmp_path / "site", "pp_plugins",
                            {"hello": PLUGIN_OK, "broken": PLUGIN_BROKEN, "misnamed": PLUGIN_MISNAMED})


def test_plugin_distribution_appears_in_checks(plugin_path):
    proc = run_subprocess("checks", env={"PYTHONPATH": str(plugin_path)})
    assert proc.returncode == 0, proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines()}
    assert "says hello from a plugin" in lines["hello"]
    assert "failed to import" in lines["broken"] and "exploded" in lines["broken"]
    assert "registered as 'misnamed'" in lines["misnamed"]
    assert {"device", "dns", "tls", "clock"} <= set(lines)
    # The opt-in checks name the flag that runs each; the others are run by default.
    assert lines["path"].endswith("[not run by default: --path]")
    assert lines["bandwidth"].endswith("[not run by default: --bandwidth]")
    assert "not run by default" not in lines["dns"]


def test_plugin_runs_and_a_broken_one_is_an_error_naming_it(plugin_path, tmp_path):
    proc = run_subprocess("run", "--only", "hello,broken,device", "--format", "json", "--output", "-",
                          env={"PYTHONPATH": str(plugin_path),
                               "PAYPROBE_DATA_DIR": str(tmp_path / "data")})
    report = json.loads(proc.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["hello"]["status"] == "warn"
    assert checks["hello"]["metrics"][0]["name"] == "hello_seconds"
    assert checks["broken"]["status"] == "error"
    assert checks["broken"]["error"] == "plugin_import_error"
    assert "broken" in checks["broken"]["summary"]
    assert checks["device"]["status"] in ("ok", "warn")
    assert proc.returncode == 1            # the plugin's warning makes the run degraded
    assert validate(report) == []


# ------------------------------------------------------------ signals


SLOW_PLUGIN = '''
import time
from payprobe.api import Outcome
class Plugin:
    name = "slow"
    version = "1"
    def run(self, ctx):
        ctx.cancelled.wait(30)
        return Outcome()
'''


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_writes_a_partial_report_and_exits_130(tmp_path, sig):
    import subprocess
    site = make_plugin_dist(tmp_path / "site", "pp_slow", {"slow": SLOW_PLUGIN})
    env = {**os.environ, "PYTHONPATH": str(site), "PAYPROBE_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "payprobe", "run", "--only", "device,slow",
                             "--format", "json", "--output", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=sigint_as_default)
    # Wait until the device check has finished (its progress line), then signal.
    deadline = time.monotonic() + 20
    buf = ""
    while "device:" not in buf and time.monotonic() < deadline:
        buf += proc.stderr.readline()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    report = json.loads(out)
    assert report["partial"] is True
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["slow"]["status"] == "timeout"
    assert checks["device"]["status"] in ("ok", "warn")
    saved = list((tmp_path / "data" / "reports").glob("report-*.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text())["partial"] is True


# ------------------------------------------------------------------ live progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _result(name: str, status: str) -> SimpleNamespace:
    return SimpleNamespace(name=name, status=status, duration_s=0.25)


@pytest.mark.parametrize("lang,word", [("en", "ok"), ("zh", "正常")])
def test_progress_plain_when_a_check_ends_says_its_status_in_the_report_language(lang, word):
    from payprobe.cli.progress import PlainProgress
    out = io.StringIO()
    progress = PlainProgress(out, lang=lang)
    progress.finished(_result("dns", "ok"))
    progress.finished(_result("tls", "fail"))
    lines = out.getvalue().splitlines()
    assert lines[0] == f"payprobe: dns: {word} (0.25 s)"
    assert lines[1] == f"payprobe: tls: {'fail' if lang == 'en' else '失败'} (0.25 s)"


@pytest.mark.parametrize("lang,line", [("en", "payprobe: endpoints: skipped, not error (0.25 s)"),
                                       ("zh", "payprobe: endpoints: 跳过（原为出错） (0.25 s)")])
def test_progress_plain_when_the_runner_revises_a_result_says_what_it_replaces(lang, line):
    # An offline run: endpoints ended in an error the offline verdict then explained.
    from payprobe.cli.progress import PlainProgress
    out = io.StringIO()
    progress = PlainProgress(out, lang=lang)
    progress.finished(_result("endpoints", "error"))
    progress.finished(_result("dns", "skipped"))
    progress.finished(_result("endpoints", "skipped"))
    lines = out.getvalue().splitlines()
    assert lines[2] == line
    assert lines[1].startswith("payprobe: dns: ") and "(" in lines[1]


def test_progress_terminal_when_chinese_says_running_waiting_and_statuses_in_chinese():
    from payprobe.cli.progress import TerminalProgress
    out = _Tty()
    progress = TerminalProgress(["dns", "tls", "clock"], out, colour=False, lang="zh")
    progress.started("tls")
    progress.finished(_result("dns", "warn"))
    progress._draw()
    progress.close()
    text = out.getvalue()
    assert "警告" in text and "运行中" in text and "等待中" in text
    assert "running" not in text and "waiting" not in text and " warn " not in text
    assert not re.search(r"\x1b\[3\dm", text)   # colour off: only cursor movement


@pytest.mark.parametrize("env,kind,colour", [({}, "TerminalProgress", True),
                                             ({"NO_COLOR": "1"}, "TerminalProgress", False),
                                             ({"TERM": "dumb"}, "PlainProgress", False)])
def test_make_progress_when_environment_says_so_drops_colour_or_redrawing(monkeypatch, env, kind, colour):
    from payprobe.cli.progress import make_progress
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    progress = make_progress(["dns"], quiet=False, stream=_Tty(), lang="zh")
    try:
        assert type(progress).__name__ == kind
        assert getattr(progress, "colour", False) is colour
        assert progress.lang == "zh"
    finally:
        progress.close()
    plain = make_progress(["dns"], quiet=False, stream=io.StringIO(), lang="zh")   # not a TTY
    assert type(plain).__name__ == "PlainProgress"


# ---------------------------------------------------------------- the command's exit


def _entry(argv: list[str], before: str = "") -> subprocess.CompletedProcess[str]:
    code = f"import sys\n{before}\nsys.argv = ['payprobe', *{argv!r}]\nfrom payprobe.cli.main import entry\nentry()\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_entry_exits_with_main_s_code_and_every_byte_of_its_output():
    # The command skips the interpreter's teardown: what it printed must still all arrive.
    schema = _entry(["schema"])
    assert schema.returncode == 0 and schema.stdout == run_cli("schema").stdout
    assert json.loads(schema.stdout)["$schema"]
    bad = _entry(["run", "--no-such-option"])
    assert bad.returncode == 64 and "payprobe:" in bad.stderr


def test_entry_runs_atexit_handlers_when_something_registered_one():
    # A coverage tool or a plugin that registered one gets the interpreter's normal exit.
    done = _entry(["--version"], before="import atexit\natexit.register(lambda: print('atexit ran'))")
    assert done.returncode == 0
    assert done.stdout.splitlines() == [f"payprobe {__version__}", "atexit ran"]


def test_entry_when_the_reader_goes_away_exits_with_main_s_code(monkeypatch):
    # `payprobe ... | head -c 20`: the pipe closes under the final flush. The exit is
    # main()'s code, at once: no traceback, no "Exception ignored" at teardown.
    class Exited(Exception):
        pass

    class GoneReader(io.StringIO):
        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    def fake_exit(code: int) -> None:
        exits.append(code)
        raise Exited

    exits: list[int] = []
    monkeypatch.setattr(sys, "argv", ["payprobe", "--version"])
    monkeypatch.setattr(sys, "stdout", GoneReader())
    monkeypatch.setattr(os, "_exit", fake_exit)
    from payprobe.cli.main import entry

    with pytest.raises(Exited):
        entry()
    assert exits == [0]
