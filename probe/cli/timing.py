"""`payprobe watch` and `payprobe schedule install|remove|status|run`: runs over time."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from payprobe.agent import export, saved, schedule, watch
from payprobe.cli import options
from payprobe.cli.argtypes import int_at_least
from payprobe.engine.errors import UsageError
from payprobe.engine.exitcodes import ExitStatus


def configure(name: str, parser: argparse.ArgumentParser) -> None:
    if name == "watch":
        _configure_watch(parser)
    else:
        _configure_schedule(parser)


def _configure_watch(watch_p: argparse.ArgumentParser) -> None:
    watch_p.add_argument("--every", default="15m", metavar="DURATION", help="period (default 15m)")
    watch_p.add_argument("--jitter", default="10%", metavar="PCT|DURATION",
                         help="random spread around the period (default 10%%)")
    watch_p.add_argument("--count", type=int_at_least(1), metavar="N", help="stop after N runs")
    options.add_run_options(watch_p)
    watch_p.add_argument("--push", metavar="URL",
                         help="push metrics to a Prometheus Pushgateway after each run")
    watch_p.add_argument("--textfile", metavar="FILE.prom",
                         help="after each run, write Prometheus metrics here (node_exporter textfile collector)")
    watch_p.set_defaults(handler=cmd_watch)


def _configure_schedule(sched: argparse.ArgumentParser) -> None:
    sched.add_argument("action", choices=("install", "remove", "status", "run"),
                       help="run: one run under the run lock (what the installed job calls)")
    sched.add_argument("--every", default="15m", metavar="DURATION", help="period for install (default 15m)")
    sched.add_argument("--max-delay", default="0", metavar="DURATION",
                       help="run: wait a random time up to this first (spreads a fleet's runs)")
    sched.set_defaults(handler=cmd_schedule)


def _options(args: argparse.Namespace) -> watch.RunOptions:
    return watch.RunOptions(config=getattr(args, "config", None), only=getattr(args, "only", None),
                            skip=getattr(args, "skip", None), deadline=getattr(args, "deadline", None),
                            lang=getattr(args, "lang", None), push=getattr(args, "push", None))


def cmd_watch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    every_s = schedule.parse_duration(args.every, "--every")
    jitter_s = schedule.parse_jitter(args.jitter, every_s)
    if args.push:
        export.push_url(args.push, "x")  # a bad URL is a usage error now, not a warning every run
    settings = options.load_settings(args.config)
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
    path = saved.latest_report_path()
    if path is None:
        return
    try:
        export.write_textfile(textfile, saved.read_report(path), err)
    except (OSError, UsageError) as exc:
        err.write(f"payprobe: warning: could not write {textfile}: {exc}\n")


def cmd_schedule(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    every_s = schedule.parse_duration(args.every, "--every")
    if args.action == "run":
        max_delay_s = 0.0 if str(args.max_delay).strip() in ("0", "0s") else \
            schedule.parse_duration(args.max_delay, "--max-delay")
        return watch.scheduled_run(_options(args), options.load_settings(None), out, err, max_delay_s)
    if args.action == "install":
        backend, state = schedule.install(every_s)
        out.write(f"installed: {backend.description}, every {schedule.format_duration(every_s)}\n")
        for path in state.files:
            out.write(f"  wrote {path}\n")
        if "line" in state.extra:
            out.write(f"  crontab: {state.extra['line']}\n")
        out.write("remove it with: payprobe schedule remove\n")
        return int(ExitStatus.HEALTHY)
    if args.action == "remove":
        done = schedule.remove()
        if not done:
            out.write("nothing to remove: no payprobe schedule is installed\n")
        for line in done:
            out.write(f"{line}\n")
        return int(ExitStatus.HEALTHY)
    _print_status(schedule.status(), out)
    return int(ExitStatus.HEALTHY)


def _print_status(info: dict[str, Any], out: TextIO) -> None:
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
