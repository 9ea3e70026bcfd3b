"""`payprobe bundle`: a support bundle (zip) of the latest report, optionally uploaded."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from payprobe.agent import DEFAULT_LAST, saved, ticket, upload
from payprobe.cli import options
from payprobe.cli.argtypes import int_at_least
from payprobe.engine import files, paths
from payprobe.engine.errors import UsageError
from payprobe.engine.exitcodes import ExitStatus
from payprobe.engine.locale import resolve_lang
from payprobe.reports import catalog


def configure(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("--last", type=int_at_least(0), default=DEFAULT_LAST, metavar="N",
                   help=f"include the last N history summaries (default {DEFAULT_LAST})")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write the zip (default: the data dir)")
    options.add_upload_option(p, "POST the bundle to this HTTPS URL")
    p.add_argument("--share", action="store_true", help="open Android's share menu with the bundle (Termux)")
    p.add_argument("--copy", action="store_true", help="put the ticket summary on the clipboard")
    p.add_argument("--report", metavar="REPORT.json", help="bundle this report instead of the latest")
    p.add_argument("--config", metavar="FILE", help="TOML config file (upload token, language)")
    p.add_argument("-l", "--lang", choices=options.LANGS)
    p.set_defaults(handler=cmd_bundle)


def cmd_bundle(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    settings = options.load_settings(args.config)
    args.upload = options.upload_url(args.upload, settings)
    if args.upload:
        upload.check_upload_url(args.upload)   # refuse before doing any work
    if args.output:
        files.check_output_path(args.output)
    path = Path(args.report) if args.report else saved.latest_report_path()
    if path is None:
        raise UsageError(f"no saved report in {paths.reports_dir()}: run `payprobe run` first")
    report = saved.read_report(path)
    lang = resolve_lang(args.lang, report.get("lang") or settings.lang)
    made = ticket.make_bundle(report, args.output, last=args.last, lang=lang, settings=settings)
    if not files.is_std_stream(made.path):   # the zip itself went to stdout: no path after it
        out.write(f"{made.path}\n")
    err.write(f"payprobe: {catalog.ui('ticket', lang)}: {made.code}\n")
    ticket.hand_over(made, lang=lang, share_menu=args.share, clipboard=args.copy, err=err)
    if args.upload:
        status = upload.upload_bundle(made.data, args.upload, settings=settings, code=made.code)
        err.write(f"payprobe: {catalog.ui('bundle_uploaded', lang, status=status)}\n")
    return int(ExitStatus.HEALTHY)
