"""Sub-commands `history`, `watch`, `schedule` and `export` (added by probe.commands).

Kept import-light: only argparse here; each handler imports what it needs.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, TextIO

from probe.argtypes import csv_list as _csv
from probe.argtypes import int_at_least
from probe.argtypes import positive_seconds as _positive_seconds
from probe.errors import UsageError


def add_parsers(sub: Any) -> None:
    hist = sub.add_parser("history", help="past runs: one line each, trends, counts per cause")
    hist.add_argument("--since", default="24h", metavar="DURATION",
                      help="how far back: 24h (default), 7d, 30m, or 'all'")
    hist.add_argument("--format", choices=("text", "json", "csv"), default="text")
    hist_sub = hist.add_subparsers(dest="history_action", metavar="show", parser_class=type(hist))
    show = hist_sub.add_parser("show", help="show one past run")
    show.add_argument("run_id", metavar="RUN_ID", help="the run id, or its first characters")
    show.add_argument("--format", dest="show_format",
                      choices=("text", "json", "markdown", "html", "prometheus"), default="text")
    show.add_argument("--lang", choices=("en", "zh"))
    hist.set_defaults(handler=cmd_history)

    watch = sub.add_parser("watch", help="run periodically in the foreground until Ctrl-C")
    watch.add_argument("--every", default="15m", metavar="DURATION", help="period (default 15m)")
    watch.add_argument("--jitter", default="10%", metavar="PCT|DURATION",
                       help="random spread around the period (default 10%%)")
    watch.add_argument("--count", type=int_at_least(1), metavar="N", help="stop after N runs")
    _run_options(watch)
    watch.add_argument("--push", metavar="URL", help="push metrics to a Prometheus Pushgateway after each run")
    watch.add_argument("--textfile", metavar="FILE.prom",
                       help="after each run, write Prometheus metrics here (node_exporter textfile collector)")
    watch.set_defaults(handler=cmd_watch)

    sched = sub.add_parser("schedule", help="install, remove or show the periodic job of this platform")
    sched.add_argument("action", choices=("install", "remove", "status", "run"),
                       help="run: one run under the run lock (what the installed job calls)")
    sched.add_argument("--every", default="15m", metavar="DURATION", help="period for install (default 15m)")
    sched.add_argument("--max-delay", default="0", metavar="DURATION",
                       help="run: wait a random time up to this first (spreads a fleet's runs)")
    sched.set_defaults(handler=cmd_schedule)

    export = sub.add_parser("export", help="write Prometheus metrics of a report to a file or a Pushgateway")
    export.add_argument("report", nargs="?", metavar="REPORT.json", help="default: the latest saved report")
    export.add_argument("--textfile", metavar="FILE.prom", help="for node_exporter's textfile collector")
    export.add_argument("--push", metavar="URL", help="Pushgateway base URL, e.g. http://gw:9091")
    export.set_defaults(handler=cmd_export)


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="TOML config file (default: the user config dir)")
    p.add_argument("--only", type=_csv, metavar="a,b", help="run only these checks")
    p.add_argument("--skip", type=_csv, metavar="a,b", help="do not run these checks")
    p.add_argument("--deadline", type=_positive_seconds, metavar="SECONDS", help="budget for each run")
    p.add_argument("--lang", choices=("en", "zh"), help="language of the reports")


# ------------------------------------------------------------------ history


def cmd_history(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from probe import history
    if getattr(args, "history_action", None) == "show":
        return _history_show(args, out, err)
    since_text = str(args.since).strip().lower()
    if since_text == "all":
        since_ts, label = None, "the start"
    else:
        from probe.schedule import parse_duration
        seconds = parse_duration(since_text, "--since")
        since_ts = time.time() - seconds
        label = f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(since_ts))} (last {since_text})"
    try:
        runs = history.query(since_ts)
    except (OSError, history.HistoryError, __import__("sqlite3").Error) as exc:
        from probe.errors import PayprobeError
        raise PayprobeError(f"cannot read the history ({history.db_path()}): {exc}") from None
    if args.format == "json":
        out.write(history.render_json(runs, since_ts))
    elif args.format == "csv":
        out.write(history.render_csv(runs))
    else:
        out.write(history.render_text(runs, label))
    return 0


def _history_show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from probe import history
    from probe.cli import _colour, resolve_lang
    try:
        summary, report = history.find_run(args.run_id)
    except LookupError as exc:
        raise UsageError(str(exc)) from None
    if report is None:
        report = _saved_report(summary["run_id"])
    if report is None:
        causes = ", ".join(c["code"] for c in summary["causes"]) or "none"
        out.write(f"run {summary['run_id']} at {summary['started_at']}: {summary['status']} "
                  f"({summary['trigger']}), causes: {causes}\n"
                  "the full report is no longer kept ([history] keep_reports)\n")
        return 0
    from reports.render import render
    lang = resolve_lang(args.lang, report.get("lang"))
    fmt = args.show_format
    out.write(render(report, fmt, lang=lang, colour=fmt == "text" and _colour(out)))
    return 0


def _saved_report(run_id: str) -> dict[str, Any] | None:
    """The JSON file the run saved, when the history no longer holds the report."""
    from probe import paths
    try:
        for path in paths.reports_dir().glob(f"report-*-{run_id[:8]}.json"):
            from reports.model import read_report
            report = read_report(path)
            if report.get("run_id") == run_id:
                return report
    except (OSError, UsageError):
        return None
    return None


# ------------------------------------------------------------------ watch / schedule


def _load_settings(path: str | None) -> Any:
    from probe.cli import _load_settings as load
    return load(path)


def _options(args: argparse.Namespace) -> Any:
    from probe.watch import RunOptions
    return RunOptions(config=getattr(args, "config", None), only=getattr(args, "only", None),
                      skip=getattr(args, "skip", None), deadline=getattr(args, "deadline", None),
                      lang=getattr(args, "lang", None), push=getattr(args, "push", None))


def cmd_watch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from probe import schedule, watch
    every_s = schedule.parse_duration(args.every, "--every")
    jitter_s = schedule.parse_jitter(args.jitter, every_s)
    if args.push:
        from probe.export import push_url
        push_url(args.push, "x")  # a bad URL is a usage error now, not a warning every run
    settings = _load_settings(args.config)
    on_run = None
    if args.textfile:
        textfile = args.textfile

        def on_run(code: int) -> None:
            _export_latest(textfile, err)

    plan = watch.WatchPlan(every_s=every_s, jitter_s=jitter_s, count=args.count)
    banner = (f"payprobe watch: a run every {schedule.format_duration(every_s)} "
              f"(± {schedule.format_duration(jitter_s)}); Ctrl-C to stop\n")
    return watch.watch(plan, _options(args), settings, out, err, on_run=on_run, banner=banner)


def _export_latest(textfile: str, err: TextIO) -> None:
    from probe import export
    from reports.model import read_report
    path = export.latest_report_path()
    if path is None:
        return
    try:
        export.write_textfile(textfile, read_report(path), err)
    except (OSError, UsageError) as exc:
        err.write(f"payprobe: warning: could not write {textfile}: {exc}\n")


def cmd_schedule(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from probe import schedule
    every_s = schedule.parse_duration(args.every, "--every")
    if args.action == "run":
        from probe import watch
        max_delay_s = 0.0 if str(args.max_delay).strip() in ("0", "0s") else \
            schedule.parse_duration(args.max_delay, "--max-delay")
        return watch.scheduled_run(_options(args), _load_settings(None), out, err, max_delay_s)
    if args.action == "install":
        backend, state = schedule.install(every_s)
        out.write(f"installed: {backend.description}, every {schedule.format_duration(every_s)}\n")
        for path in state.files:
            out.write(f"  wrote {path}\n")
        if "line" in state.extra:
            out.write(f"  crontab: {state.extra['line']}\n")
        out.write("remove it with: payprobe schedule remove\n")
        return 0
    if args.action == "remove":
        done = schedule.remove()
        if not done:
            out.write("nothing to remove: no payprobe schedule is installed\n")
        for line in done:
            out.write(f"{line}\n")
        return 0
    info = schedule.status()
    if info["installed"]:
        out.write(f"schedule: {info['description']}, every {schedule.format_duration(info['every_s'])}\n")
        out.write(f"next run: {info.get('next_run') or 'unknown'}\n")
        if info.get("next_run_error"):
            out.write(f"  ({info['next_run_error']})\n")
    else:
        out.write("schedule: not installed (payprobe schedule install --every 15m)\n")
    for key, label in (("last_scheduled", "last scheduled run"), ("last_run", "last run")):
        r = info.get(key)
        if r:
            causes = ", ".join(c["code"] for c in r["causes"])
            out.write(f"{label}: {r['started_at']} {r['status']} ({r['trigger']})"
                      f"{' partial' if r['partial'] else ''}{'  ' + causes if causes else ''}\n")
        elif key == "last_run":
            out.write(f"{label}: none in the history\n")
    return 0


# ------------------------------------------------------------------ export


def cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from probe import export
    from reports.model import read_report
    if not args.textfile and not args.push:
        raise UsageError("export: give --textfile FILE.prom and/or --push URL")
    if args.push:
        export.push_url(args.push, "x")
    path = args.report or export.latest_report_path()
    if path is None:
        raise UsageError("export: no saved report yet; run `payprobe run` first or name a REPORT.json")
    report = read_report(path)
    code = 0
    if args.textfile:
        try:
            written = export.write_textfile(args.textfile, report, err)
        except OSError as exc:
            raise UsageError(f"--textfile {args.textfile}: {exc.strerror or exc}") from None
        out.write(f"wrote {written}\n")
    if args.push:
        if export.push(args.push, report, err):
            out.write("pushed to the Pushgateway\n")
        else:
            code = 3
    return code
