"""`payprobe checks`, `show`, `schema` and `explain`: what payprobe knows, and saved reports."""

from __future__ import annotations

import argparse
from typing import TextIO

from payprobe.agent import saved
from payprobe.cli import options, terminal
from payprobe.engine import registry
from payprobe.engine.errors import UsageError
from payprobe.engine.exitcodes import ExitStatus
from payprobe.engine.locale import resolve_lang
from payprobe.reports import catalog
from payprobe.reports.model import SCHEMA_PATH
from payprobe.reports.render import FORMATS, render
from payprobe.reports.wording import in_language


def configure(name: str, parser: argparse.ArgumentParser) -> None:
    if name == "show":
        parser.add_argument("report", metavar="REPORT.json")
        parser.add_argument("-f", "--format", choices=FORMATS, default="text")
        parser.add_argument("-l", "--lang", choices=options.LANGS)
    elif name == "explain":
        parser.add_argument("code")
        parser.add_argument("-l", "--lang", choices=options.LANGS)
    parser.set_defaults(handler=HANDLERS[name])


def cmd_checks(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    for name, item in registry.discover().items():
        origin = "" if item.builtin else f"  [plugin {item.target}]"
        extra = f"  [not run by default: --{name}]" if name in registry.OPT_IN else ""
        out.write(f"{name:<13} {item.description}{extra}{origin}\n")
    return ExitStatus.SUCCESS


def cmd_show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Render a saved report; its words are made again in the language asked for
    (``--lang``, else the report's own), from the codes and parameters it keeps."""
    report = saved.read_report(args.report)
    lang = resolve_lang(args.lang, report.get("lang"))
    if args.lang and args.format == "json":
        # JSON is the report itself: asked for another language, its text fields say it there.
        report = in_language(report, lang)
    colour = args.format == "text" and terminal.use_colour(out)
    out.write(render(report, args.format, lang=lang, colour=colour))
    return ExitStatus.SUCCESS


def cmd_schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    out.write(SCHEMA_PATH.read_text(encoding="utf-8"))
    return ExitStatus.SUCCESS


def cmd_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    text = catalog.explain(args.code, resolve_lang(args.lang))
    if text is None:
        raise UsageError(f"unknown code {args.code!r}; see `payprobe schema` or the README for codes")
    out.write(text)
    return ExitStatus.SUCCESS


HANDLERS = {"checks": cmd_checks, "show": cmd_show, "schema": cmd_schema, "explain": cmd_explain}
