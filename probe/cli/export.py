"""`payprobe export`: Prometheus metrics of a report, to a textfile or a Pushgateway."""

from __future__ import annotations

import argparse
from typing import TextIO

from payprobe.agent import export, saved
from payprobe.cli import options
from payprobe.engine.errors import UsageError
from payprobe.engine.exitcodes import ExitStatus


def configure(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("report", nargs="?", metavar="REPORT.json", help="default: the latest saved report")
    p.add_argument("--textfile", metavar="FILE.prom", help="for node_exporter's textfile collector")
    p.add_argument("--push", metavar="URL", help="Pushgateway base URL, e.g. http://gw:9091")
    p.add_argument("--config", metavar="FILE", help="TOML config file (ca_file for an https Pushgateway)")
    p.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not args.textfile and not args.push:
        raise UsageError("export: give --textfile FILE.prom and/or --push URL")
    ca_file = ""
    if args.push:
        export.check_push_url(args.push)   # refused before any work: exit 64
        ca_file = options.load_settings(args.config).ca_file
    path = args.report or saved.latest_report_path()
    if path is None:
        raise UsageError("export: no saved report yet; run `payprobe run` first or name a REPORT.json")
    report = saved.read_report(path)
    code = ExitStatus.HEALTHY
    if args.textfile:
        try:
            written = export.write_textfile(args.textfile, report, err)
        except OSError as exc:
            raise UsageError(f"--textfile {args.textfile}: {exc.strerror or exc}") from None
        out.write(f"wrote {written}\n")
    if args.push:
        if export.push(args.push, report, err, ca_file=ca_file):
            out.write("pushed to the Pushgateway\n")
        else:
            code = ExitStatus.INTERNAL_ERROR
    return int(code)
