"""`payprobe run`: run the checks, then write, print and save the report."""

from __future__ import annotations

import argparse
import importlib
import signal
import threading
from types import FrameType
from typing import Any, TextIO

from payprobe import host as hostmod
from payprobe.agent import DEFAULT_LAST, after_run
from payprobe.cli import options, terminal
from payprobe.cli.argtypes import int_at_least
from payprobe.cli.progress import make_progress
from payprobe.engine import files, followup, paths, registry
from payprobe.engine.errors import UsageError
from payprobe.engine.exitcodes import ExitStatus
from payprobe.engine.locale import resolve_lang
from payprobe.engine.registry import LoadedCheck
from payprobe.engine.results import RunResult
from payprobe.engine.runner import Interrupted, Runner
from payprobe.engine.secrets import redaction_salt
from payprobe.host import HostInfo
from payprobe.reports import catalog
from payprobe.reports.render import FORMATS, render
from payprobe.reports.types import Report
from payprobe.settings import Settings

TRIGGERS = ("manual", "schedule", "watch", "ticket", "test")
# What writing the report needs and the run does not: imported by a helper thread
# while the checks wait on the network (_warm_up), so that after the run the
# report is written at once (issue 15: time to verdict).
REPORT_MODULES = ("payprobe.reports.pipeline", "payprobe.agent.saved", "payprobe.agent.history",
                  "payprobe.agent.alerts")


def configure(name: str, run: argparse.ArgumentParser) -> None:
    options.add_run_options(run)
    run.add_argument("-f", "--format", choices=FORMATS, default=None,
                     help="output format (default: text on stdout)")
    run.add_argument("-o", "--output", metavar="FILE|-", help="write the chosen format to FILE, or - for stdout")
    run.add_argument("--no-redact", action="store_true",
                     help="keep host names, addresses and other identifying values in the report")
    run.add_argument("--bandwidth", action="store_true", help="also run the bandwidth test (uses data)")
    run.add_argument("--path", action="store_true",
                     help="also trace where packets to each endpoint are lost (about 7 s)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on the terminal")
    run.add_argument("--ticket", action="store_true",
                     help="after the run, write a support bundle (zip) and print its path")
    options.add_upload_option(run, "with --ticket: POST the bundle to this HTTPS URL")
    run.add_argument("--share", action="store_true",
                     help="with --ticket: open Android's share menu with the bundle (Termux)")
    run.add_argument("--copy", action="store_true",
                     help="with --ticket: put the ticket summary on the clipboard")
    run.add_argument("--last", type=int_at_least(0), default=DEFAULT_LAST, metavar="N",
                     help=f"with --ticket: include the last N history summaries (default {DEFAULT_LAST})")
    run.add_argument("--push", metavar="URL", help="push metrics to a Prometheus Pushgateway")
    run.add_argument("--trigger", default="manual", choices=TRIGGERS, help=argparse.SUPPRESS)
    run.set_defaults(handler=cmd_run)


def _install(sig: int, handler: Any) -> Any:
    try:
        return signal.signal(sig, handler)
    except (ValueError, OSError, TypeError):  # not the main thread, or not supported here
        return None


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise Interrupted("SIGTERM")


def cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # What the run is asked to do afterwards is checked before it: exit 64 now, not a warning later.
    settings = options.load_settings(args.config)
    args.upload = options.upload_url(args.upload, settings)
    if args.ticket or args.upload or args.push or args.share or args.copy:
        from payprobe.agent import ticket as tickets  # lazy: only with --ticket/--push
        tickets.check_before_run(ticket=args.ticket, upload_url=args.upload, push_url=args.push,
                                 share_menu=args.share, clipboard=args.copy)
    if args.output and args.output != "-":
        files.check_output_path(args.output)
    deadline_s = args.deadline if args.deadline is not None else settings.deadline_s
    fmt = args.format or ("json" if args.output and args.output != "-" and
                          args.output.endswith(".json") else "text")
    lang = resolve_lang(args.lang, settings.lang)
    bandwidth = bool(args.bandwidth or settings.bandwidth.enabled)
    if args.trigger in ("schedule", "watch") and not settings.bandwidth.on_schedule:
        bandwidth = False
    path = bool(args.path or settings.path.enabled)
    opt_in = [name for name, wanted in (("bandwidth", bandwidth), ("path", path)) if wanted]
    available = registry.discover(load=False)   # select() imports the checks that run
    # Imported by the runner as it starts each one (the slowest first).
    selected = registry.select(available, args.only, args.skip, opt_in=opt_in, load=False)
    if not selected:
        raise UsageError("no checks selected: --only/--skip leave nothing to run")

    host = hostmod.detect()
    run_options = {"trigger": args.trigger, "bandwidth": bandwidth, "lang": lang,
                   "data_dir": str(paths.data_dir())}
    old_term = _install(signal.SIGTERM, _on_term)
    _warm_up([*REPORT_MODULES, f"payprobe.reports.render.{fmt}"])
    try:
        result = _run_checks(args, settings, host, run_options, selected, deadline_s, lang, err)
        if (followup.wants_path(result) and followup.PATH in available and not args.only
                and followup.PATH not in (args.skip or [])):
            if args.trigger in followup.UNATTENDED:
                result = followup.trace_path(Runner(settings, host, options=run_options), result,
                                             available[followup.PATH], settings.path.window_s)
            elif not args.quiet:
                err.write(f"payprobe: {catalog.ui('hint_path', lang)}\n")
    finally:
        _install(signal.SIGTERM, old_term)
    # From here on the report must get written: a second Ctrl-C waits for it.
    old_int = _install(signal.SIGINT, signal.SIG_IGN)
    old_term = _install(signal.SIGTERM, signal.SIG_IGN)
    try:
        return _finish_run(args, settings, host, result, fmt, lang, out, err)
    finally:
        _install(signal.SIGINT, old_int)
        _install(signal.SIGTERM, old_term)


def _warm_up(modules: list[str]) -> None:
    """Import ``modules`` in a helper thread. A module that fails to import is left to
    the import after the run, which reports it; the thread never outlives the process."""
    def work() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - reported by the real import, after the run
                return

    threading.Thread(target=work, daemon=True, name="warm-up").start()


def _run_checks(args: argparse.Namespace, settings: Settings, host: HostInfo, run_options: dict[str, Any],
                selected: list[LoadedCheck], deadline_s: float, lang: str, err: TextIO) -> RunResult:
    progress = make_progress([c.name for c in selected], quiet=args.quiet, stream=err, lang=lang)
    try:
        return Runner(settings, host, options=run_options, progress=progress).run(selected, deadline_s)
    finally:
        if progress is not None:
            progress.close()


def _finish_run(args: argparse.Namespace, settings: Settings, host: HostInfo, result: RunResult,
                fmt: str, lang: str, out: TextIO, err: TextIO) -> int:
    from payprobe.agent import saved  # lazy: imported while the checks run (_warm_up)
    from payprobe.reports.pipeline import finish_report  # lazy: as above

    report = finish_report(result, settings=settings, host=host, lang=lang, trigger=args.trigger,
                           redact=not args.no_redact, salt=redaction_salt())
    saved_path = saved.save_report(report, err, keep=settings.history.keep_reports)
    after_run.after_run(after_run.AfterRun(ticket=args.ticket, upload=args.upload, last=args.last,
                                           push=args.push, share_menu=args.share,
                                           clipboard=args.copy),
                        settings, report, err)

    to_stdout = not args.output or args.output == "-"
    text = _render(report, fmt, lang, out if to_stdout else None)
    if not to_stdout:
        out.flush()   # --output /dev/stdout writes to the descriptor: nothing buffered may trail it
        try:
            files.write_output(args.output, text)
        except OSError as exc:
            where = f"; the JSON report is saved in {saved_path}" if saved_path else ""
            err.write(f"payprobe: could not write {args.output}: {exc.strerror or exc}{where}\n")
            return int(ExitStatus.USAGE)
        if not args.quiet:
            out.write(_render(report, "text", lang, out))
    elif not (args.quiet and fmt == "text"):
        out.write(text)
    out.flush()
    if saved_path and not args.quiet:
        err.write(f"payprobe: {catalog.ui('report_saved', lang, path=saved_path)}\n")
    if report["partial"]:
        return int(ExitStatus.INTERRUPTED)
    return int(ExitStatus.for_status(report["status"]))


def _render(report: Report, fmt: str, lang: str, stream: TextIO | None) -> str:
    if fmt == "json" and not (stream is not None and terminal.is_tty(stream)):
        # For a program or a file: compact (indentation was ~45 % of the bytes);
        # a person at a terminal gets it indented.
        from payprobe.reports import model  # lazy: as above

        return model.dumps(report, compact=True)
    colour = fmt == "text" and stream is not None and terminal.use_colour(stream)
    return render(report, fmt, lang=lang, colour=colour)
