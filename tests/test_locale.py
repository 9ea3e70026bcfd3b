"""lang = "auto": the phone's getprop, the environment, the OS locale, in that order.

getprop and defaults are fake scripts first on PATH in a temp dir; each call
appends its arguments to a log, so a test can tell which sources were asked.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from payprobe import external
from payprobe import host as hostmod
from payprobe.engine import locale as lc
from payprobe.host import HostInfo

EN_ENV = {"LANG": "en_US.UTF-8"}   # what Termux exports whatever the phone's language


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    lc.detected_lang.cache_clear()
    yield
    lc.detected_lang.cache_clear()


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder that is the whole PATH: only the fakes a test writes are found."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


def fake(bin_dir: Path, name: str, body: str) -> Path:
    """An executable ``name`` that logs its arguments to ``name``.log, then runs ``body``."""
    log = bin_dir.parent / f"{name}.log"
    script = bin_dir / name
    script.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return log


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for init to reap it does not)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return False
    return fields[0] != "Z"


# ------------------------------------------------------------------ locale names

@pytest.mark.parametrize("name", ["zh-CN", "zh_CN.UTF-8", "zh-Hans-CN", "zh_TW", "zh", "ZH-hk",
                                  "zh_CN.GB18030", "zh@pinyin", "Chinese (Simplified)_China"])
def test_lang_of_when_chinese_name_gives_zh(name: str) -> None:
    assert lc.lang_of(name) == "zh"


@pytest.mark.parametrize("name", ["en_US.UTF-8", "en-US", "fr_FR", "zha_CN", "ja-JP", "de"])
def test_lang_of_when_other_language_gives_en(name: str) -> None:
    assert lc.lang_of(name) == "en"


@pytest.mark.parametrize("name", ["", "  ", "C", "POSIX", "C.UTF-8", "c.utf8", "[]", "getprop: error"])
def test_lang_of_when_no_language_named_gives_none(name: str) -> None:
    assert lc.lang_of(name) is None


# ------------------------------------------------------------------ Android: getprop first

def test_system_lang_when_android_getprop_says_zh_beats_termux_lang(bin_dir: Path) -> None:
    log = fake(bin_dir, "getprop", 'echo "zh-CN"')
    assert lc.system_lang(EN_ENV, platform="android") == "zh"
    assert calls(log) == ["persist.sys.locale"]   # the first answer is enough


def test_system_lang_when_user_locale_unset_reads_product_locale(bin_dir: Path) -> None:
    log = fake(bin_dir, "getprop", 'if [ "$1" = ro.product.locale ]; then echo zh-Hans-CN; fi')
    assert lc.system_lang(EN_ENV, platform="android") == "zh"
    assert calls(log) == ["persist.sys.locale", "ro.product.locale"]


def test_system_lang_when_getprop_prints_nothing_falls_back_to_environment(bin_dir: Path) -> None:
    log = fake(bin_dir, "getprop", "true")
    assert lc.system_lang({"LANG": "zh_CN.UTF-8"}, platform="android") == "zh"
    assert lc.system_lang(EN_ENV, platform="android") == "en"
    assert calls(log) == ["persist.sys.locale", "ro.product.locale"] * 2


def test_system_lang_when_getprop_fails_falls_back_to_environment(bin_dir: Path) -> None:
    log = fake(bin_dir, "getprop", 'echo "zh-CN"; exit 1')
    assert lc.system_lang(EN_ENV, platform="android") == "en"
    assert len(calls(log)) == 2


def test_system_lang_when_getprop_missing_falls_back_to_environment(bin_dir: Path) -> None:
    assert not Path(lc.ANDROID_GETPROP).exists()   # this machine is no phone
    assert lc.system_lang({"LANG": "zh_CN.UTF-8"}, platform="android") == "zh"
    assert lc.system_lang({}, platform="android") == "en"


@pytest.mark.timeout(60)   # the fake hangs for 600 s: waiting for it fails the test here
def test_system_lang_when_getprop_hangs_kills_its_group_and_moves_on(bin_dir: Path) -> None:
    pids = bin_dir.parent / "pids"
    log = fake(bin_dir, "getprop", f'/bin/sleep 600 &\necho "$$ $!" > "{pids}"\nwait')
    assert lc.system_lang({"LANG": "zh_CN.UTF-8"}, platform="android", timeout_s=2.0) == "zh"
    # Hung once: the next property is not asked, which would cost another timeout.
    assert calls(log) == ["persist.sys.locale"]
    started = [int(p) for p in pids.read_text().split()]
    assert len(started) == 2   # the script and the sleep it left running
    for _ in range(100):   # SIGKILL lands at once; init may take a moment to reap
        if not any(alive(p) for p in started):
            break
        time.sleep(0.05)
    assert [p for p in started if alive(p)] == []


def test_system_lang_when_laptop_never_asks_getprop(bin_dir: Path) -> None:
    log = fake(bin_dir, "getprop", 'echo "zh-CN"')
    assert lc.system_lang(EN_ENV, platform="linux") == "en"
    assert lc.system_lang({}, platform="linux") == "en"
    assert calls(log) == []


# ------------------------------------------------------------------ the environment

@pytest.mark.parametrize(("env", "expected"), [
    ({"LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),         # LC_ALL wins (POSIX)
    ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
    ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),    # then LC_MESSAGES
    ({"LC_ALL": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "en"),
    ({"LC_ALL": "", "LANG": "zh_CN.UTF-8"}, "zh"),                    # empty is unset
    ({"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}, "zh"),          # gettext's order
    ({"LANGUAGE": "en:zh_CN", "LANG": "zh_CN.UTF-8"}, "en"),          # its first choice only
    ({"LANGUAGE": "zh_CN", "LC_ALL": "C"}, "en"),                     # ignored under C
    ({"LANGUAGE": "zh_CN"}, "zh"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({}, "en"),
])
def test_system_lang_when_environment_varies_follows_posix_order(
        env: dict[str, str], expected: str, bin_dir: Path) -> None:
    assert lc.system_lang(env, platform="linux") == expected


# ------------------------------------------------------------------ macOS and Windows

def test_system_lang_when_macos_without_lang_reads_apple_locale(bin_dir: Path) -> None:
    log = fake(bin_dir, "defaults", 'echo "zh-Hans_CN"')
    assert lc.system_lang({}, platform="darwin") == "zh"
    assert lc.system_lang({"LANG": "C"}, platform="darwin") == "zh"   # C names no language
    assert calls(log) == ["read -g AppleLocale"] * 2


def test_system_lang_when_macos_lang_set_environment_comes_first(bin_dir: Path) -> None:
    log = fake(bin_dir, "defaults", 'echo "zh_CN"')
    assert lc.system_lang(EN_ENV, platform="darwin") == "en"
    assert calls(log) == []


def test_system_lang_when_macos_defaults_missing_gives_en(bin_dir: Path) -> None:
    assert lc.system_lang({}, platform="darwin") == "en"


def test_system_lang_when_windows_reads_user_locale(monkeypatch: pytest.MonkeyPatch,
                                                     bin_dir: Path) -> None:
    monkeypatch.setattr(lc, "_windows_locales", lambda: iter(["zh-CN"]))
    assert lc.system_lang({}, platform="windows") == "zh"
    assert lc.system_lang(EN_ENV, platform="windows") == "en"


def test_windows_locales_when_not_windows_still_answers_from_locale_module() -> None:
    # No windll here: the ctypes branch is passed over and getlocale() answers (maybe "").
    names = list(lc._windows_locales())
    assert len(names) == 1 and isinstance(names[0], str)


# ------------------------------------------------------------------ resolve_lang and the cache

def test_resolve_lang_when_cli_or_config_given_asks_nothing(bin_dir: Path) -> None:
    log = fake(bin_dir, "getprop", 'echo "zh-CN"')
    assert lc.resolve_lang("en", "zh") == "en"
    assert lc.resolve_lang(None, "zh") == "zh"
    assert lc.resolve_lang(None, "en", environ={"LANG": "zh_CN.UTF-8"}) == "en"
    assert calls(log) == []


def test_resolve_lang_when_environ_given_reads_it(bin_dir: Path) -> None:
    assert lc.resolve_lang(None, "auto", environ={"LANG": "zh_CN.UTF-8"}) == "zh"
    assert lc.resolve_lang(None, None, environ={"LC_ALL": "en_GB.UTF-8"}) == "en"


def test_resolve_lang_when_auto_on_termux_detects_once_per_process(
        bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = fake(bin_dir, "getprop", 'echo "zh-CN"')
    phone = HostInfo(platform="android", termux=True, os="Linux 4.19", python="3.12.0")
    monkeypatch.setattr(hostmod, "detect", lambda: phone)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert lc.resolve_lang(None, "auto") == "zh"
    assert lc.resolve_lang(None, None) == "zh"
    assert lc.detected_lang() == "zh"
    assert calls(log) == ["persist.sys.locale"]


def test_resolve_lang_when_auto_on_laptop_uses_process_environment(
        bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = fake(bin_dir, "getprop", 'echo "en-US"')
    laptop = HostInfo(platform="linux", termux=False, os="Linux 6.8", python="3.12.0")
    monkeypatch.setattr(hostmod, "detect", lambda: laptop)
    for var in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert lc.resolve_lang(None, "auto") == "zh"
    assert calls(log) == []


# ------------------------------------------------------------------ the external command runner

def test_run_external_when_missing_raises_not_found(bin_dir: Path) -> None:
    with pytest.raises(external.CommandNotFound, match="nothing-here not found"):
        external.run_external(["nothing-here"], 1.0)


def test_run_external_when_input_given_feeds_stdin_and_reports_exit(bin_dir: Path) -> None:
    fake(bin_dir, "tool", '/bin/cat; echo "oops" >&2; exit 3')
    done = external.run_external(["tool", "arg"], 10.0, input_bytes="支付 ok".encode())
    assert done.returncode == 3
    assert done.stdout.decode() == "支付 ok"
    assert done.first_line() == "支付 ok"
    assert done.failure() == "tool failed (exit 3): oops"


def test_run_external_when_child_keeps_running_returns_at_leader_exit(bin_dir: Path) -> None:
    # Like xclip and wl-copy: the leader exits, a child stays to serve the clipboard.
    pid_file = bin_dir.parent / "child"
    fake(bin_dir, "tool", f'/bin/sleep 600 &\necho $! > "{pid_file}"\necho done')
    done = external.run_external(["tool"], 30.0)
    child = int(pid_file.read_text())
    try:
        assert done.returncode == 0 and done.first_line() == "done"
        assert alive(child)   # left alone: it was not the command that hung
    finally:
        os.kill(child, 9)
