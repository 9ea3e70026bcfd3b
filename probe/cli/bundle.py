"""`payprobe bundle`: a support bundle (zip) of the latest report, optionally uploaded."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from payprobe.agent import saved, ticket, upload
from payprobe.cli import options
from payprobe.cli.argtypes import int_at_least
from payprobe.engine import paths
from payprobe.engine.errors import UsageError
from payprobe.engine.locale import resolve_lang
from payprobe.reports import catalog


def configure(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("--last", type=int_at_least(0), default=ticket.DEFAULT_LAST, metavar="N",
                   help=f"include the last N history summaries (default {ticket.DEFAULT_LAST})")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write the zip (default: the data dir)")
    p.add_argument("--upload", metavar="URL", help="POST the bundle to this HTTPS URL")
    p.add_argument("--report", metavar="REPORT.json", help="bundle this report instead of the latest")
    p.add_argument("--config", metavar="FILE", help="TOML config file (upload token, language)")
    p.add_argument("-l", "--lang", choices=options.LANGS)
    p.set_defaults(handler=cmd_bundle)


def cmd_bundle(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.upload:
        upload.check_upload_url(args.upload)   # refuse before doing any work
    settings = options.load_settings(args.config)
    path = Path(args.report) if args.report else saved.latest_report_path()
    if path is None:
        raise UsageError(f"no saved report in {paths.reports_dir()}: run `payprobe run` first")
    report = saved.read_report(path)
    lang = resolve_lang(args.lang, report.get("lang") or settings.lang)
    written, code = ticket.write_bundle(report, args.output, last=args.last, lang=lang, settings=settings)
    out.write(f"{written}\n")
    err.write(f"payprobe: {catalog.ui('ticket', lang)}: {code}\n")
    if args.upload:
        status = upload.upload_bundle(written.read_bytes(), args.upload, settings=settings, code=code)
        err.write(f"payprobe: {catalog.ui('bundle_uploaded', lang, status=status)}\n")
    return 0
