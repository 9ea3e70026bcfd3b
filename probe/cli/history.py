"""`payprobe history` and `payprobe history show RUN_ID`."""

from __future__ import annotations

import argparse
import sqlite3
import time
from typing import TextIO

from payprobe.agent import history, saved
from payprobe.agent.schedule import parse_duration
from payprobe.cli import options, terminal
from payprobe.engine.errors import PayprobeError, UsageError
from payprobe.engine.exitcodes import ExitStatus
from payprobe.engine.locale import resolve_lang
from payprobe.reports.render import FORMATS, render


def configure(name: str, hist: argparse.ArgumentParser) -> None:
    hist.add_argument("--since", default="24h", metavar="DURATION",
                      help="how far back: 24h (default), 7d, 30m, or 'all'")
    hist.add_argument("--format", choices=("text", "json", "csv"), default="text")
    hist_sub = hist.add_subparsers(dest="history_action", metavar="show", parser_class=type(hist))
    show = hist_sub.add_parser("show", help="show one past run")
    show.add_argument("run_id", metavar="RUN_ID", help="the run id, or its first characters")
    show.add_argument("--format", dest="show_format", choices=FORMATS, default="text")
    show.add_argument("-l", "--lang", choices=options.LANGS)
    hist.set_defaults(handler=cmd_history)


def cmd_history(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if getattr(args, "history_action", None) == "show":
        return _history_show(args, out, err)
    since_text = str(args.since).strip().lower()
    if since_text == "all":
        since_ts, label = None, "the start"
    else:
        since_ts = time.time() - parse_duration(since_text, "--since")
        label = f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(since_ts))} (last {since_text})"
    try:
        runs = history.query(since_ts)
    except (OSError, history.HistoryError, sqlite3.Error) as exc:
        raise PayprobeError(f"cannot read the history ({history.db_path()}): {exc}") from None
    if args.format == "json":
        out.write(history.render_json(runs, since_ts))
    elif args.format == "csv":
        out.write(history.render_csv(runs))
    else:
        out.write(history.render_text(runs, label))
    return ExitStatus.SUCCESS


def _history_show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        summary, report = history.find_run(args.run_id)
    except LookupError as exc:
        raise UsageError(str(exc)) from None
    if report is None:
        report = saved.report_for_run(summary["run_id"])
    if report is None:
        causes = ", ".join(c["code"] for c in summary["causes"]) or "none"
        out.write(f"run {summary['run_id']} at {summary['started_at']}: {summary['status']} "
                  f"({summary['trigger']}), causes: {causes}\n"
                  "the full report is no longer kept ([history] keep_reports)\n")
        return ExitStatus.SUCCESS
    lang = resolve_lang(args.lang, report.get("lang"))
    fmt = args.show_format
    out.write(render(report, fmt, lang=lang, colour=fmt == "text" and terminal.use_colour(out)))
    return ExitStatus.SUCCESS
