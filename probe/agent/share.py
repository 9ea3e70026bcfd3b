"""Getting a support bundle to the chat: a folder chat apps attach from,
Android's share menu, and the ticket summary on the clipboard.

The bundle is written in Termux's private storage, and the support chats of
WeChat, Alipay and Douyin cannot attach a file from there. With shared storage
set up (``termux-setup-storage`` makes ``~/storage/downloads``, the phone's
Download folder), a copy goes there; without it, one sentence says how.

=======================  ==================================================================
``summary_text``         the bundle's own summary.txt (ticket code, time, status, verdict,
                         causes): the text to paste in the chat, redacted as the bundle is
``copy_to_downloads``    on Termux: the bundle copied to ~/storage/downloads/payprobe/
``share``                the bundle handed to Android's share menu (``termux-share``)
``copy_text``            text to the clipboard: termux-clipboard-set on Termux; wl-copy,
                         xclip or pbcopy elsewhere; always on standard input, never in argv
``hand_over``            all of the above that applies, for ``--ticket``
=======================  ==================================================================

Each returns a :class:`Handed`: whether it was done and one sentence for
people in the run's language. None of them raises for a missing or failing tool.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from payprobe import host as hostmod
from payprobe.external import (
    CommandNotFound,
    CommandTimedOut,
    ExternalCommandError,
    run_external,
)
from payprobe.host import HostInfo
from payprobe.sources import TERMUX_API_APP_HINT

SHARED_DOWNLOADS = Path("storage") / "downloads"   # under $HOME, made by termux-setup-storage
DOWNLOADS_FOLDER = "payprobe"
SUMMARY_NAME = "summary.txt"
# termux-api commands return once Android has the request; silence means no Termux:API app.
SHARE_TIMEOUT_S = 10.0
CLIPBOARD_TIMEOUT_S = 5.0
_MAX_SUMMARY_BYTES = 64 * 1024
# Tried in this order off Termux; a tool whose display server is not there is passed over.
CLIPBOARD_TOOLS: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("wl-copy", (), "WAYLAND_DISPLAY"),
    ("xclip", ("-selection", "clipboard"), "DISPLAY"),
    ("pbcopy", (), None),
)
TERMUX_CLIPBOARD = "termux-clipboard-set"
TERMUX_SHARE = "termux-share"

# TODO(i18n): these belong in reports/i18n/{en,zh}.json under "ui"; until they
# move there, _say() reads them from here.
_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "bundle_in_downloads": "support bundle copied to ~/storage/downloads/payprobe/{name} (the "
                               "phone's Download/payprobe folder): attach it from there in the "
                               "WeChat, Alipay or Douyin support chat",
        "storage_not_set_up": "to attach the bundle in a WeChat, Alipay or Douyin support chat, let "
                              "Termux use the phone's storage: run termux-setup-storage, allow "
                              "access, then run payprobe bundle",
        "storage_copy_failed": "support bundle not copied to the phone's Download folder ({reason}): "
                               "run termux-setup-storage again and allow access",
        "bundle_shared": "support bundle handed to Android's share menu: choose the chat to send it to",
        "share_failed": "support bundle not shared: {reason}",
        "share_android_only": "the share menu is on Android only (Termux with termux-api)",
        "summary_copied": "ticket summary copied to the clipboard ({tool}): paste it in the support chat",
        "copy_failed": "ticket summary not copied to the clipboard: {reason}",
        "clipboard_none": "no clipboard tool found (install wl-clipboard or xclip)",
        "termux_api_missing": "{command} not found: run pkg install termux-api and install the "
                              "Termux:API app",
    },
    "zh": {
        "bundle_in_downloads": "支持包已复制到 ~/storage/downloads/payprobe/{name}（即手机存储中的 "
                               "Download/payprobe 文件夹），可在微信、支付宝或抖音的客服对话中从这里选择发送",
        "storage_not_set_up": "如需在微信、支付宝或抖音的客服对话中发送支持包，请先允许 Termux 访问手机存储："
                              "运行 termux-setup-storage 并点击允许，然后运行 payprobe bundle",
        "storage_copy_failed": "支持包未能复制到手机存储的 Download 文件夹（{reason}）："
                               "请重新运行 termux-setup-storage 并允许访问",
        "bundle_shared": "已打开安卓分享菜单，请选择要发送支持包的聊天",
        "share_failed": "支持包未能分享：{reason}",
        "share_android_only": "分享菜单仅在安卓手机的 Termux 中可用（需安装 termux-api）",
        "summary_copied": "工单摘要已复制到剪贴板（{tool}），可直接粘贴到客服对话中",
        "copy_failed": "工单摘要未能复制到剪贴板：{reason}",
        "clipboard_none": "未找到剪贴板工具（请安装 wl-clipboard 或 xclip）",
        "termux_api_missing": "未找到 {command}：请运行 pkg install termux-api，并安装 Termux:API 应用",
    },
}


@dataclass(frozen=True)
class Handed:
    """What one step did: ``done``, and ``message``, one sentence for people."""

    done: bool
    message: str
    path: Path | None = None   # copy_to_downloads: where the copy is
    tool: str | None = None    # copy_text: which clipboard tool took the text


def summary_text(bundle: Path | bytes) -> str:
    """The bundle's summary.txt, the text made to be pasted in a support chat.

    Read from the zip rather than made again, so what is pasted is what the
    bundle holds, redacted as it is. ValueError when the zip holds none.
    """
    with zipfile.ZipFile(io.BytesIO(bundle) if isinstance(bundle, bytes) else bundle) as zf:
        names = [n for n in zf.namelist() if n.rsplit("/", 1)[-1] == SUMMARY_NAME]
        if not names:
            where = "the support bundle" if isinstance(bundle, bytes) else str(bundle)
            raise ValueError(f"{where}: no {SUMMARY_NAME} in it")
        with zf.open(names[0]) as fh:
            return fh.read(_MAX_SUMMARY_BYTES).decode("utf-8", errors="replace")


def copy_to_downloads(bundle: Path, *, lang: str, host: HostInfo | None = None,
                      home: Path | None = None) -> Handed | None:
    """On Termux, the bundle copied to ~/storage/downloads/payprobe/; None off Termux.

    Without shared storage the answer says how to set it up.
    """
    if not (host or hostmod.detect()).termux:
        return None
    downloads = (home or Path.home()) / SHARED_DOWNLOADS
    if not downloads.is_dir():
        return Handed(False, _say("storage_not_set_up", lang))
    target = downloads / DOWNLOADS_FOLDER / bundle.name
    try:
        _copy_replacing(bundle, target)
    except OSError as exc:
        return Handed(False, _say("storage_copy_failed", lang, reason=exc.strerror or str(exc)))
    return Handed(True, _say("bundle_in_downloads", lang, name=target.name), path=target)


def share(bundle: Path, *, lang: str, host: HostInfo | None = None,
          timeout_s: float = SHARE_TIMEOUT_S) -> Handed:
    """The bundle handed to Android's share menu (``termux-share -a send``)."""
    info = host or hostmod.detect()
    if not info.termux and shutil.which(TERMUX_SHARE) is None:
        return Handed(False, _say("share_failed", lang, reason=_say("share_android_only", lang)))
    argv = [TERMUX_SHARE, "-a", "send", "-c", "application/zip", str(Path(bundle).resolve())]
    reason = _run_termux_api(argv, lang, timeout_s)
    if reason:
        return Handed(False, _say("share_failed", lang, reason=reason))
    return Handed(True, _say("bundle_shared", lang), tool=TERMUX_SHARE)


def copy_text(text: str, *, lang: str, host: HostInfo | None = None,
              timeout_s: float = CLIPBOARD_TIMEOUT_S) -> Handed:
    """``text`` put on the clipboard, given on the tool's standard input.

    On Termux: termux-clipboard-set. Elsewhere the first of wl-copy (in a
    Wayland session), xclip (with an X display) and pbcopy that is on PATH and
    works; ``tool`` says which took it.
    """
    info = host or hostmod.detect()
    if info.termux:
        reason = _run_termux_api([TERMUX_CLIPBOARD], lang, timeout_s, text.encode("utf-8"))
        if reason:
            return Handed(False, _say("copy_failed", lang, reason=reason))
        return Handed(True, _say("summary_copied", lang, tool=TERMUX_CLIPBOARD), tool=TERMUX_CLIPBOARD)
    reasons: list[str] = []
    for name, args in _desktop_clipboard_tools():
        try:
            done = run_external([name, *args], timeout_s, input_bytes=text.encode("utf-8"),
                                env=_tool_env(name))
        except ExternalCommandError as exc:
            reasons.append(str(exc))
            continue
        if done.returncode == 0:
            return Handed(True, _say("summary_copied", lang, tool=name), tool=name)
        reasons.append(done.failure())
    reason = "; ".join(reasons) or _say("clipboard_none", lang)
    return Handed(False, _say("copy_failed", lang, reason=reason))


def hand_over(bundle: Path, *, lang: str, share_menu: bool = False, clipboard: bool = False,
              host: HostInfo | None = None, home: Path | None = None) -> list[Handed]:
    """After ``--ticket``: the copy to shared storage (Termux), then, when asked,
    the share menu (``--share``) and the summary on the clipboard (``--copy``)."""
    info = host or hostmod.detect()
    handed: list[Handed] = []
    stored = copy_to_downloads(bundle, lang=lang, host=info, home=home)
    if stored is not None:
        handed.append(stored)
    if share_menu:
        handed.append(share(bundle, lang=lang, host=info))
    if clipboard:
        handed.append(copy_text(summary_text(bundle), lang=lang, host=info))
    return handed


def _say(key: str, lang: str, **params: object) -> str:
    messages = _MESSAGES.get(lang, _MESSAGES["en"])
    return messages[key].format(**params)


def _copy_replacing(source: Path, target: Path) -> None:
    # A chat app never sees half a file: copy beside it, then rename over it.
    # copyfile, not copy2: shared storage refuses chmod, and the bits mean nothing there.
    target.parent.mkdir(exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    except BaseException:
        try:
            partial.unlink()
        except OSError:
            pass
        raise


def _run_termux_api(argv: list[str], lang: str, timeout_s: float,
                    input_bytes: bytes | None = None) -> str:
    """"" when the termux-api command did its work, else why not (one sentence)."""
    try:
        done = run_external(argv, timeout_s, input_bytes=input_bytes)
    except CommandNotFound:
        return _say("termux_api_missing", lang, command=argv[0])
    except CommandTimedOut as exc:
        return f"{exc}: {TERMUX_API_APP_HINT}"
    except ExternalCommandError as exc:
        return str(exc)
    return done.failure() if done.returncode != 0 else ""


def _desktop_clipboard_tools() -> list[tuple[str, tuple[str, ...]]]:
    return [(name, args) for name, args, display in CLIPBOARD_TOOLS
            if shutil.which(name) and (display is None or os.environ.get(display))]


def _tool_env(name: str) -> dict[str, str] | None:
    if name == "pbcopy":
        # pbcopy decodes its input by the locale; under C it mangles every Chinese character.
        return {**os.environ, "LC_ALL": "en_US.UTF-8"}
    return None
