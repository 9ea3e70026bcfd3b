"""A support ticket: the bundle of a report written to the data dir, and uploaded.

``payprobe run --ticket`` and ``payprobe bundle`` both come here.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from payprobe.agent import DEFAULT_LAST, export, history, saved, share, upload
from payprobe.engine import files, paths
from payprobe.engine.errors import PayprobeError, UsageError
from payprobe.engine.files import write_atomic, write_output
from payprobe.engine.secrets import redaction_salt
from payprobe.reports import bundle, catalog
from payprobe.reports.types import Report
from payprobe.settings import Settings


def history_summaries(n: int) -> list[dict[str, Any]]:
    """The last ``n`` runs' summaries; none when there is no readable history."""
    if n <= 0:
        return []
    return list(history.recent_summaries(n))


@dataclass(frozen=True)
class Bundle:
    path: Path     # where it was written
    code: str      # the ticket code
    data: bytes    # the zip: what an upload sends (never read back from ``path``: a FIFO or stdout)


def make_bundle(report: Report, output: str | Path | None = None, *, last: int = DEFAULT_LAST,
                lang: str | None = None, settings: Settings | None = None) -> Bundle:
    data, code = bundle.build_bundle(report, history=history_summaries(last), lang=lang,
                                     settings=settings, salt=redaction_salt())
    if output:   # the user's path: written into, like run --output
        return Bundle(write_output(output, data), code, data)
    folder = paths.data_dir() / "bundles"
    written = write_atomic(folder / f"payprobe-{code}.zip", data)
    saved.prune(folder, "payprobe-*.zip", keep=saved.KEEP_BUNDLES)
    return Bundle(written, code, data)


def write_bundle(report: Report, output: str | Path | None = None, *, last: int = DEFAULT_LAST,
                 lang: str | None = None, settings: Settings | None = None) -> tuple[Path, str]:
    made = make_bundle(report, output, last=last, lang=lang, settings=settings)
    return made.path, made.code


def check_before_run(*, ticket: bool, upload_url: str | None, push_url: str | None,
                     share_menu: bool = False, clipboard: bool = False) -> None:
    """What `payprobe run` asks for after the run, checked before it: UsageError
    (exit 64) now rather than a warning once the run is over."""
    if (share_menu or clipboard) and not ticket:
        raise UsageError("--share and --copy need --ticket: they hand over the support bundle")
    if upload_url and not ticket:
        raise UsageError("--upload needs --ticket: the support bundle is what gets uploaded")
    if upload_url:
        upload.check_upload_url(upload_url)
    if push_url:
        export.check_push_url(push_url)


def hand_over(made: Bundle, *, lang: str, share_menu: bool, clipboard: bool, err: TextIO) -> None:
    """Get the bundle to where people can attach it, and print its summary ready to paste.

    On Termux the bundle is copied to shared storage (a chat app cannot attach a
    file from Termux's private folder); ``--share`` opens the share menu and
    ``--copy`` puts the summary on the clipboard.
    """
    if files.is_std_stream(made.path):   # the zip went to stdout: nothing to hand over
        return
    for step in share.hand_over(made.path, lang=lang, share_menu=share_menu, clipboard=clipboard):
        err.write(f"payprobe: {step.message}\n")
    try:
        text = share.summary_text(made.data)
    except (ValueError, zipfile.BadZipFile):
        return
    err.write("\n" + text.rstrip("\n") + "\n\n")


def make_ticket(report: Report, *, output: str | None, last: int, lang: str,
                settings: Settings, upload_url: str | None, err: TextIO,
                share_menu: bool = False, clipboard: bool = False) -> Path:
    """Write the bundle, say where and its ticket code, and upload it when asked.

    The bundle is written first, whatever the upload URL: a refused URL or a
    failed upload is a warning, and the bundle stays for the user to send.
    """
    made = make_bundle(report, output, last=last, lang=lang, settings=settings)
    err.write(f"payprobe: {catalog.ui('bundle_written', lang, path=made.path)}\n")
    err.write(f"payprobe: {catalog.ui('ticket', lang)}: {made.code}\n")
    hand_over(made, lang=lang, share_menu=share_menu, clipboard=clipboard, err=err)
    if upload_url:
        try:
            status = upload.upload_bundle(made.data, upload_url, settings=settings, code=made.code)
        except PayprobeError as exc:  # UsageError (URL refused) or UploadError: one sentence each
            err.write(f"payprobe: warning: support bundle not uploaded: {exc}\n")
        else:
            err.write(f"payprobe: {catalog.ui('bundle_uploaded', lang, status=status)}\n")
    return made.path
