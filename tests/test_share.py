"""Getting the ticket to the chat: shared storage, the share menu, the clipboard.

termux-share, termux-clipboard-set, wl-copy, xclip and pbcopy are fake scripts,
the whole PATH is their temp folder, and HOME is a temp folder too: no test
reaches the real home or the real clipboard. Each fake logs its arguments and
keeps what it read on standard input.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest
from payprobe.agent import share
from payprobe.host import HostInfo
from payprobe.reports import bundle

from tests.test_history import make_report

PHONE = HostInfo(platform="android", termux=True, os="Linux 4.19", python="3.12.0")
LAPTOP = HostInfo(platform="linux", termux=False, os="Linux 6.8", python="3.12.0")
SUMMARY = "工单编号: 3f9a2c1d-unhealthy-clock_wrong\n手机时间不准\n"


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    return folder


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder


@pytest.fixture
def storage(home: Path) -> Path:
    """What termux-setup-storage leaves: ~/storage/downloads (a link to the phone's Download)."""
    phone_download = home.parent / "sdcard" / "Download"
    phone_download.mkdir(parents=True)
    (home / "storage").mkdir()
    (home / "storage" / "downloads").symlink_to(phone_download)
    return phone_download


@pytest.fixture
def ticket_zip(tmp_path: Path) -> Path:
    report = make_report("unhealthy", causes=["clock_wrong"])
    data, code = bundle.build_bundle(report, lang="en")
    path = tmp_path / "private" / f"payprobe-{code}.zip"
    path.parent.mkdir()
    path.write_bytes(data)
    return path


class Fake:
    """A fake command: ``calls`` are its argument lines, ``stdin`` what it read last."""

    def __init__(self, bin_dir: Path, name: str, body: str = "") -> None:
        self.log = bin_dir.parent / f"{name}.args"
        self.input = bin_dir.parent / f"{name}.stdin"
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "$*" >> "{self.log}"\n/bin/cat > "{self.input}"\n{body}\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR)

    @property
    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    @property
    def stdin(self) -> str:
        return self.input.read_text(encoding="utf-8")


# ------------------------------------------------------------------ the summary to paste

def test_summary_text_when_bundle_made_is_its_summary_txt(ticket_zip: Path) -> None:
    text = share.summary_text(ticket_zip)
    code = ticket_zip.stem.removeprefix("payprobe-")
    assert text.startswith(f"Ticket code: {code}\n")
    assert "started_at: " in text and "status: unhealthy" in text
    assert "clock_wrong: title of clock_wrong" in text
    with zipfile.ZipFile(ticket_zip) as zf:
        assert text == zf.read(f"payprobe-{code}/summary.txt").decode("utf-8")


def test_summary_text_when_zip_holds_none_raises(tmp_path: Path) -> None:
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x/report.json", "{}")
    with pytest.raises(ValueError, match=r"no summary\.txt"):
        share.summary_text(path)


# ------------------------------------------------------------------ shared storage

def test_copy_to_downloads_when_storage_set_up_copies_bundle(ticket_zip: Path, home: Path,
                                                             storage: Path) -> None:
    handed = share.copy_to_downloads(ticket_zip, lang="en", host=PHONE, home=home)
    assert handed is not None and handed.done
    target = storage / "payprobe" / ticket_zip.name
    assert handed.path == home / "storage" / "downloads" / "payprobe" / ticket_zip.name
    assert target.read_bytes() == ticket_zip.read_bytes()
    assert ticket_zip.name in handed.message and "Download/payprobe" in handed.message
    # Again (payprobe bundle after run --ticket): replaced in place, nothing half-written left.
    again = share.copy_to_downloads(ticket_zip, lang="zh", host=PHONE, home=home)
    assert again is not None and again.done and "支持包已复制" in again.message
    assert sorted(p.name for p in (storage / "payprobe").iterdir()) == [ticket_zip.name]


@pytest.mark.parametrize(("lang", "words"), [("en", "let Termux use the phone's storage"),
                                              ("zh", "请先允许 Termux 访问手机存储")])
def test_copy_to_downloads_when_no_shared_storage_says_how(ticket_zip: Path, home: Path,
                                                          lang: str, words: str) -> None:
    handed = share.copy_to_downloads(ticket_zip, lang=lang, host=PHONE, home=home)
    assert handed is not None and not handed.done and handed.path is None
    assert "termux-setup-storage" in handed.message and words in handed.message
    assert list(home.iterdir()) == []


def test_copy_to_downloads_when_copy_fails_says_why_and_how(ticket_zip: Path, home: Path,
                                                           storage: Path) -> None:
    (storage / "payprobe").write_text("a file where the folder goes")
    handed = share.copy_to_downloads(ticket_zip, lang="en", host=PHONE, home=home)
    assert handed is not None and not handed.done
    assert "File exists" in handed.message and "termux-setup-storage" in handed.message


def test_copy_to_downloads_when_not_termux_does_nothing(ticket_zip: Path, home: Path,
                                                       storage: Path) -> None:
    assert share.copy_to_downloads(ticket_zip, lang="en", host=LAPTOP, home=home) is None
    assert list(storage.iterdir()) == []


# ------------------------------------------------------------------ the share menu

def test_share_when_termux_share_present_sends_the_zip(ticket_zip: Path, bin_dir: Path) -> None:
    fake = Fake(bin_dir, "termux-share")
    handed = share.share(ticket_zip, lang="en", host=PHONE)
    assert handed.done and handed.tool == "termux-share"
    assert fake.calls == [f"-a send -c application/zip {ticket_zip.resolve()}"]
    assert fake.stdin == ""
    assert "share menu" in handed.message


def test_share_when_termux_share_fails_gives_its_words(ticket_zip: Path, bin_dir: Path) -> None:
    Fake(bin_dir, "termux-share", 'echo "No such file" >&2; exit 1')
    handed = share.share(ticket_zip, lang="zh", host=PHONE)
    assert not handed.done
    assert handed.message == "支持包未能分享：termux-share failed (exit 1): No such file"


def test_share_when_termux_share_missing_says_what_to_install(ticket_zip: Path, bin_dir: Path) -> None:
    handed = share.share(ticket_zip, lang="en", host=PHONE)
    assert not handed.done and "pkg install termux-api" in handed.message


@pytest.mark.timeout(60)   # the fake hangs for 600 s: waiting for it fails the test here
def test_share_when_termux_api_app_missing_gives_up_at_timeout(ticket_zip: Path, bin_dir: Path) -> None:
    Fake(bin_dir, "termux-share", "exec /bin/sleep 600")
    handed = share.share(ticket_zip, lang="en", host=PHONE, timeout_s=1.0)
    assert not handed.done
    assert "did not answer in 1 s" in handed.message and "Termux:API app" in handed.message


def test_share_when_laptop_says_android_only(ticket_zip: Path, bin_dir: Path) -> None:
    handed = share.share(ticket_zip, lang="en", host=LAPTOP)
    assert not handed.done and "Android only" in handed.message


# ------------------------------------------------------------------ the clipboard

def test_copy_text_when_termux_uses_clipboard_set_on_stdin(bin_dir: Path) -> None:
    fake = Fake(bin_dir, "termux-clipboard-set")
    Fake(bin_dir, "xclip")   # on PATH, but Termux has its own clipboard
    handed = share.copy_text(SUMMARY, lang="zh", host=PHONE)
    assert handed.done and handed.tool == "termux-clipboard-set"
    assert fake.stdin == SUMMARY
    assert fake.calls == [""]   # the text is never on the command line
    assert handed.message == "工单摘要已复制到剪贴板（termux-clipboard-set），可直接粘贴到客服对话中"


def test_copy_text_when_termux_clipboard_set_missing_says_what_to_install(bin_dir: Path) -> None:
    handed = share.copy_text(SUMMARY, lang="en", host=PHONE)
    assert not handed.done and handed.tool is None
    assert "termux-clipboard-set not found" in handed.message and "termux-api" in handed.message


def test_copy_text_when_x_session_uses_xclip_clipboard_selection(bin_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":99")
    wl = Fake(bin_dir, "wl-copy")   # no Wayland session: passed over
    xclip = Fake(bin_dir, "xclip")
    handed = share.copy_text(SUMMARY, lang="en", host=LAPTOP)
    assert handed.done and handed.tool == "xclip"
    assert xclip.calls == ["-selection clipboard"] and xclip.stdin == SUMMARY
    assert wl.calls == []


def test_copy_text_when_wayland_prefers_wl_copy(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setenv("DISPLAY", ":0")
    wl = Fake(bin_dir, "wl-copy")
    xclip = Fake(bin_dir, "xclip")
    handed = share.copy_text(SUMMARY, lang="en", host=LAPTOP)
    assert handed.tool == "wl-copy" and wl.stdin == SUMMARY and wl.calls == [""]
    assert xclip.calls == []


def test_copy_text_when_first_tool_fails_tries_the_next(bin_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setenv("DISPLAY", ":0")
    Fake(bin_dir, "wl-copy", 'echo "Failed to connect to a Wayland server" >&2; exit 1')
    xclip = Fake(bin_dir, "xclip")
    handed = share.copy_text(SUMMARY, lang="en", host=LAPTOP)
    assert handed.done and handed.tool == "xclip" and xclip.stdin == SUMMARY


def test_copy_text_when_every_tool_fails_gives_each_reason(bin_dir: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    Fake(bin_dir, "xclip", "echo \"Error: Can't open display: :0\" >&2; exit 1")
    handed = share.copy_text(SUMMARY, lang="en", host=LAPTOP)
    assert not handed.done
    assert handed.message == ("ticket summary not copied to the clipboard: "
                              "xclip failed (exit 1): Error: Can't open display: :0")


def test_copy_text_when_macos_gives_pbcopy_a_utf8_locale(bin_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_ALL", "C")
    pbcopy = Fake(bin_dir, "pbcopy", f'echo "$LC_ALL" > "{bin_dir.parent / "pbcopy.locale"}"')
    mac = HostInfo(platform="darwin", termux=False, os="Darwin 24.0", python="3.12.0")
    handed = share.copy_text(SUMMARY, lang="en", host=mac)
    assert handed.tool == "pbcopy" and pbcopy.stdin == SUMMARY
    assert (bin_dir.parent / "pbcopy.locale").read_text().strip() == "en_US.UTF-8"


@pytest.mark.parametrize(("lang", "words"), [("en", "no clipboard tool found"),
                                              ("zh", "未找到剪贴板工具")])
def test_copy_text_when_no_tool_on_path_says_so(bin_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                lang: str, words: str) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    handed = share.copy_text(SUMMARY, lang=lang, host=LAPTOP)
    assert not handed.done and handed.tool is None and words in handed.message


# ------------------------------------------------------------------ all of it, after --ticket

def test_hand_over_when_termux_with_share_and_copy_does_all_three(
        ticket_zip: Path, bin_dir: Path, home: Path, storage: Path) -> None:
    sheet = Fake(bin_dir, "termux-share")
    clip = Fake(bin_dir, "termux-clipboard-set")
    handed = share.hand_over(ticket_zip, lang="en", share_menu=True, clipboard=True, host=PHONE, home=home)
    assert [h.done for h in handed] == [True, True, True]
    assert (storage / "payprobe" / ticket_zip.name).is_file()
    assert len(sheet.calls) == 1
    assert clip.stdin == share.summary_text(ticket_zip)


def test_hand_over_when_laptop_and_nothing_asked_does_nothing(
        ticket_zip: Path, bin_dir: Path, home: Path) -> None:
    xclip = Fake(bin_dir, "xclip")
    assert share.hand_over(ticket_zip, lang="en", host=LAPTOP, home=home) == []
    assert xclip.calls == [] and list(home.iterdir()) == []


# ---------------------------------------------------------------- the command line


def test_run_share_or_copy_when_no_ticket_exits_64_before_the_run() -> None:
    from tests.helpers import run_cli
    for flag in ("--share", "--copy"):
        result = run_cli("run", flag, "--only", "device")
        assert result.exit_status == 64, result.stderr
        assert "need --ticket" in result.stderr


def test_bundle_copy_when_a_report_is_given_prints_the_summary_and_copies_it(
        tmp_path: Path, bin_dir: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from tests.helpers import run_cli
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("DISPLAY", ":0")
    fake = Fake(bin_dir, "xclip")
    report_path = tmp_path / "r.json"
    report_path.write_text(json.dumps(make_report("unhealthy", causes=["clock_wrong"])), encoding="utf-8")
    result = run_cli("bundle", "--report", str(report_path), "--copy", "-o", str(tmp_path / "t.zip"))
    assert result.exit_status == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "t.zip") as zf:
        summary = next(zf.read(n).decode() for n in zf.namelist() if n.endswith("summary.txt"))
    assert summary.strip() in result.stderr         # printed ready to paste
    assert fake.stdin == summary                 # and on the clipboard, via stdin
