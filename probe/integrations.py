"""What happens after a report is saved: history, alerts, exports, bundles.

Each step is optional and isolated: a failure is one warning on stderr, and
never costs the report, which is already on disk when these run.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO


def after_run(args: argparse.Namespace, settings: Any, report: dict[str, Any], err: TextIO) -> None:
    steps = [("history", _history), ("alerts", _alerts), ("push", _push), ("ticket", _ticket)]
    for name, step in steps:
        try:
            step(args, settings, report, err)
        except ImportError:
            continue
        except Exception as exc:  # noqa: BLE001 - one warning, the report is safe
            from probe.classify import describe
            err.write(f"payprobe: warning: {name} step failed: {describe(exc)}\n")


def _history(args: argparse.Namespace, settings: Any, report: dict[str, Any], err: TextIO) -> None:
    if not settings.history.enabled:
        return
    from probe import history
    history.record_run(settings, report, err)


def _alerts(args: argparse.Namespace, settings: Any, report: dict[str, Any], err: TextIO) -> None:
    from probe import alerts
    alerts.on_report(settings, report, err)


def _push(args: argparse.Namespace, settings: Any, report: dict[str, Any], err: TextIO) -> None:
    if not getattr(args, "push", None):
        return
    from probe import export
    export.push(args.push, report, err)


def _ticket(args: argparse.Namespace, settings: Any, report: dict[str, Any], err: TextIO) -> None:
    if not getattr(args, "ticket", False):
        return
    from reports import bundle
    bundle.ticket_after_run(args, settings, report, err)
