"""A support ticket: the bundle of a report written to the data dir, and uploaded.

``payprobe run --ticket`` and ``payprobe bundle`` both come here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from payprobe.agent import history, upload
from payprobe.engine import paths
from payprobe.engine.files import write_atomic
from payprobe.engine.secrets import redaction_salt
from payprobe.reports import bundle, catalog
from payprobe.settings import Settings

DEFAULT_LAST = 5


def history_summaries(n: int) -> list[dict[str, Any]]:
    """The last ``n`` runs' summaries; none when there is no readable history."""
    if n <= 0:
        return []
    return list(history.recent_summaries(n))


def write_bundle(report: dict[str, Any], output: str | Path | None = None, *, last: int = DEFAULT_LAST,
                 lang: str | None = None, settings: Settings | None = None) -> tuple[Path, str]:
    data, code = bundle.build_bundle(report, history=history_summaries(last), lang=lang,
                                     settings=settings, salt=redaction_salt())
    path = Path(output) if output else paths.data_dir() / "bundles" / f"payprobe-{code}.zip"
    write_atomic(path, data, mode=0o600)
    return path, code


def make_ticket(report: dict[str, Any], *, output: str | None, last: int, lang: str,
                settings: Settings, upload_url: str | None, err: TextIO) -> Path:
    """Write the bundle, say where and its ticket code, and upload it when asked."""
    if upload_url:
        upload.check_upload_url(upload_url)   # refuse before doing any work
    written, code = write_bundle(report, output, last=last, lang=lang, settings=settings)
    err.write(f"payprobe: {catalog.ui('bundle_written', lang, path=written)}\n")
    err.write(f"payprobe: {catalog.ui('ticket', lang)}: {code}\n")
    if upload_url:
        status = upload.upload_bundle(written.read_bytes(), upload_url, settings=settings, code=code)
        err.write(f"payprobe: {catalog.ui('bundle_uploaded', lang, status=status)}\n")
    return written
