"""Saved reports: where a run's JSON report goes, the latest one, reading one back.

A report that cannot be saved in the data dir (full disk, read-only) goes to
the temp dir, and the caller is told where: nothing is lost silently.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TextIO

from payprobe.engine import paths
from payprobe.engine.files import read_input, write_atomic
from payprobe.reports import model
from payprobe.reports.types import Report

# Support bundles kept in the data dir (the newest); each is a few tens of KB.
KEEP_BUNDLES = 20


def save_report(report: Report, err: TextIO, *, keep: int = 200) -> Path | None:
    """Save the JSON report under the data dir, or else the temp dir; the path, or None.

    The data dir keeps the newest ``keep`` reports ([history] keep_reports; this
    run's always), so it stays bounded however long a schedule runs.
    """
    name = model.report_filename(report)
    text = model.dumps(report, compact=True)
    # resolve(): on macOS the temp dir is reached through a symlink, which the writer refuses.
    for folder in (paths.reports_dir(), Path(tempfile.gettempdir()).resolve()):
        try:
            written = write_atomic(folder / name, text)
        except OSError as exc:
            err.write(f"payprobe: warning: could not save the report in {folder}: "
                      f"{exc.strerror or exc}\n")
            continue
        if folder == paths.reports_dir():
            prune(folder, "report-*.json", keep=max(1, keep))
        return written
    return None


def prune(folder: Path, pattern: str, *, keep: int) -> int:
    """Remove all but the newest ``keep`` files matching ``pattern``; how many went.

    Oldest first by modification time, then name. Only regular files are
    removed, never what a symlink points to.
    """
    try:
        found = sorted(((p.stat().st_mtime, p.name, p) for p in folder.glob(pattern)
                        if p.is_file() and not p.is_symlink()), key=lambda t: (t[0], t[1]))
    except OSError:
        return 0
    removed = 0
    for _, _, path in found[:max(0, len(found) - keep)]:
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass   # one that will not go is tried again next time
    return removed


def read_report(path: str | Path) -> Report:
    """A report file from outside, checked; UsageError (exit 64) if it is not one."""
    raw = read_input(path, "a payprobe JSON report")
    return model.parse_report(raw, str(path))


def latest_report_path(folder: Path | None = None) -> Path | None:
    """The newest saved report in the data dir, or None."""
    folder = folder or paths.reports_dir()
    try:
        candidates = [p for p in folder.glob("report-*.json") if p.is_file()]
    except OSError:
        return None
    return max(candidates, key=lambda p: (p.stat().st_mtime, p.name), default=None)


def report_for_run(run_id: str) -> Report | None:
    """The JSON file a run saved, when the history no longer holds its report."""
    try:
        for path in paths.reports_dir().glob(f"report-*-{run_id[:8]}.json"):
            report = read_report(path)
            if report.get("run_id") == run_id:
                return report
    except (OSError, model.UsageError):
        return None
    return None
