"""What happens after a report is saved: history, alerts, exports, bundles.

Each step is optional and isolated: a failure is one warning on stderr, and
never costs the report, which is already on disk when these run. A step's
module is imported only when the step has something to do: a default run
pays for no exporter, ticket or webhook code (issue 15: CPU on a phone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from payprobe.agent import DEFAULT_LAST
from payprobe.classify import describe
from payprobe.reports.types import Report
from payprobe.settings import Settings


@dataclass(frozen=True)
class AfterRun:
    """What the command line asked for beyond the report itself."""

    ticket: bool = False
    upload: str | None = None
    last: int = DEFAULT_LAST
    push: str | None = None
    share_menu: bool = False   # --share: Android's share menu
    clipboard: bool = False    # --copy: the ticket summary on the clipboard


Step = Callable[[AfterRun, Settings, Report, TextIO], None]


def after_run(wanted: AfterRun, settings: Settings, report: Report, err: TextIO) -> None:
    steps: list[tuple[str, Step]] = [("history", _history), ("alerts", _alerts), ("push", _push),
                                     ("ticket", _ticket)]
    for name, step in steps:
        try:
            step(wanted, settings, report, err)
        except Exception as exc:  # noqa: BLE001 - one warning, the report is safe
            err.write(f"payprobe: warning: {name} step failed: {describe(exc)}\n")


def _history(wanted: AfterRun, settings: Settings, report: Report, err: TextIO) -> None:
    if settings.history.enabled:
        from payprobe.agent import history  # lazy: sqlite3 and statistics, off the run's start
        history.record_run(settings, report, err)


def _alerts(wanted: AfterRun, settings: Settings, report: Report, err: TextIO) -> None:
    from payprobe.agent import alerts  # lazy: imported while the checks run (cli.run)
    alerts.on_report(settings, report, err)


def _push(wanted: AfterRun, settings: Settings, report: Report, err: TextIO) -> None:
    if wanted.push:
        from payprobe.agent import export  # lazy: only with --push
        export.push(wanted.push, report, err, ca_file=settings.ca_file)


def _ticket(wanted: AfterRun, settings: Settings, report: Report, err: TextIO) -> None:
    if wanted.ticket:
        from payprobe.agent import ticket as tickets  # lazy: only with --ticket
        tickets.make_ticket(report, output=None, last=wanted.last, lang=report.get("lang") or "en",
                           settings=settings, upload_url=wanted.upload, err=err,
                           share_menu=wanted.share_menu, clipboard=wanted.clipboard)
