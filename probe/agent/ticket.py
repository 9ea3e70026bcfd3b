"""A support ticket: the bundle of a report written to the data dir, and uploaded.

``payprobe run --ticket`` and ``payprobe bundle`` both come here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from payprobe.agent import export, history, upload
from payprobe.engine import paths
from payprobe.engine.errors import PayprobeError, UsageError
from payprobe.engine.files import write_atomic
from payprobe.engine.secrets import redaction_salt
from payprobe.reports import bundle, catalog
from payprobe.reports.types import Report
from payprobe.settings import Settings

DEFAULT_LAST = 5


def history_summaries(n: int) -> list[dict[str, Any]]:
    """The last ``n`` runs' summaries; none when there is no readable history."""
    if n <= 0:
        return []
    return list(history.recent_summaries(n))


def write_bundle(report: Report, output: str | Path | None = None, *, last: int = DEFAULT_LAST,
                 lang: str | None = None, settings: Settings | None = None) -> tuple[Path, str]:
    data, code = bundle.build_bundle(report, history=history_summaries(last), lang=lang,
                                     settings=settings, salt=redaction_salt())
    path = Path(output) if output else paths.data_dir() / "bundles" / f"payprobe-{code}.zip"
    write_atomic(path, data, mode=0o600)
    return path, code


def check_before_run(*, ticket: bool, upload_url: str | None, push_url: str | None) -> None:
    """What `payprobe run` asks for after the run, checked before it: UsageError
    (exit 64) now rather than a warning once the run is over."""
    if upload_url and not ticket:
        raise UsageError("--upload needs --ticket: the support bundle is what gets uploaded")
    if upload_url:
        upload.check_upload_url(upload_url)
    if push_url:
        export.check_push_url(push_url)


def make_ticket(report: Report, *, output: str | None, last: int, lang: str,
                settings: Settings, upload_url: str | None, err: TextIO) -> Path:
    """Write the bundle, say where and its ticket code, and upload it when asked.

    The bundle is written first, whatever the upload URL: a refused URL or a
    failed upload is a warning, and the bundle stays for the user to send.
    """
    written, code = write_bundle(report, output, last=last, lang=lang, settings=settings)
    err.write(f"payprobe: {catalog.ui('bundle_written', lang, path=written)}\n")
    err.write(f"payprobe: {catalog.ui('ticket', lang)}: {code}\n")
    if upload_url:
        try:
            status = upload.upload_bundle(written.read_bytes(), upload_url, settings=settings, code=code)
        except PayprobeError as exc:  # UsageError (URL refused) or UploadError: one sentence each
            err.write(f"payprobe: warning: support bundle not uploaded: {exc}\n")
        else:
            err.write(f"payprobe: {catalog.ui('bundle_uploaded', lang, status=status)}\n")
    return written
