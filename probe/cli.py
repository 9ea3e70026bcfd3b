"""payprobe's command line (DESIGN §3).

Start-up is kept light for phones: this module imports only the standard
library at load time; everything else is imported by the command that needs it.
Errors are one clear sentence on stderr and an exit code; tracebacks only with
--debug.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any, TextIO

from probe import __version__
from probe.argtypes import csv_list as _csv
from probe.argtypes import int_at_least
from probe.argtypes import positive_seconds as _positive_seconds
from probe.errors import PayprobeError, UsageError
from probe.exitcodes import ExitStatus

FORMATS = ("text", "json", "markdown", "html", "prometheus")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # main() prefixes "payprobe: "; name the sub-command, not the program twice.
        command = self.prog.removeprefix("payprobe").strip()
        raise UsageError(f"{command}: {message}" if command else message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="payprobe",
                description="Find out why a mobile payment fails: network, DNS, proxy/VPN, "
                            "clock or the payment service.")
    p.add_argument("--version", action="version", version=f"payprobe {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="run the checks and write a health report")
    run.add_argument("--config", metavar="FILE", help="TOML config file (default: the user config dir)")
    run.add_argument("--only", type=_csv, metavar="a,b", help="run only these checks")
    run.add_argument("--skip", type=_csv, metavar="a,b", help="do not run these checks")
    run.add_argument("--deadline", type=_positive_seconds, metavar="SECONDS",
                     help="budget for the whole run (default: deadline_s of the config)")
    run.add_argument("--format", choices=FORMATS, default=None,
                     help="output format (default: text on stdout)")
    run.add_argument("--output", metavar="FILE|-", help="write the chosen format to FILE, or - for stdout")
    run.add_argument("--lang", choices=("en", "zh"), help="language of the report text")
    run.add_argument("--no-redact", action="store_true",
                     help="keep host names, addresses and other identifying values in the report")
    run.add_argument("--bandwidth", action="store_true", help="also run the bandwidth test (uses data)")
    run.add_argument("--quiet", action="store_true", help="no progress or summary on the terminal")
    run.add_argument("--ticket", action="store_true",
                     help="after the run, write a support bundle (zip) and print its path")
    run.add_argument("--upload", metavar="URL", help="with --ticket: POST the bundle to this HTTPS URL")
    run.add_argument("--last", type=int_at_least(0), default=5, metavar="N",
                     help="with --ticket: include the last N history summaries (default 5)")
    run.add_argument("--push", metavar="URL", help="push metrics to a Prometheus Pushgateway")
    run.add_argument("--trigger", default="manual", choices=("manual", "schedule", "watch", "ticket", "test"),
                     help=argparse.SUPPRESS)

    sub.add_parser("checks", help="list the checks (built-in and plugins)")

    show = sub.add_parser("show", help="render a saved report")
    show.add_argument("report", metavar="REPORT.json")
    show.add_argument("--format", choices=FORMATS, default="text")
    show.add_argument("--lang", choices=("en", "zh"))

    sub.add_parser("schema", help="print the report JSON Schema")

    explain = sub.add_parser("explain", help="explain a finding or cause code, with remedies")
    explain.add_argument("code")
    explain.add_argument("--lang", choices=("en", "zh"))

    _add_later_commands(sub)
    return p


def _add_later_commands(sub: Any) -> None:
    """Commands implemented in their own modules (history, scheduling, bundles)."""
    try:
        from probe import commands
    except ImportError:
        return
    commands.add_parsers(sub)


# --------------------------------------------------------------- helpers


def resolve_lang(cli_lang: str | None, config_lang: str | None = None,
                 environ: dict[str, str] | None = None) -> str:
    """--lang, then the config, then the locale (zh_* gives Chinese)."""
    if cli_lang:
        return cli_lang
    if config_lang and config_lang != "auto":
        return config_lang
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(var, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def _load_settings(path: str | None) -> Any:
    from probe import config, paths
    chosen = path if path is not None else paths.default_config_file()
    return config.load(chosen)


def _check_output_writable(output: str | None) -> None:
    if not output or output == "-":
        return
    from pathlib import Path
    target = Path(output)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UsageError(f"--output {output}: is a directory")
    if not parent.is_dir():
        raise UsageError(f"--output {output}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"--output {output}: not writable")


def _colour(stream: TextIO) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


# --------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from probe import host as hostmod
    from probe import registry
    from probe.runner import Interrupted, Runner

    settings = _load_settings(args.config)
    deadline_s = args.deadline if args.deadline is not None else settings.deadline_s
    _check_output_writable(args.output)
    fmt = args.format or ("json" if args.output and args.output != "-" and
                          args.output.endswith(".json") else "text")
    lang = resolve_lang(args.lang, settings.lang)
    available = registry.discover()
    bandwidth = bool(args.bandwidth or settings.bandwidth.enabled)
    if args.trigger in ("schedule", "watch") and not settings.bandwidth.on_schedule:
        bandwidth = False
    selected = registry.select(available, args.only, args.skip, bandwidth=bandwidth)
    if not selected:
        raise UsageError("no checks selected: --only/--skip leave nothing to run")

    from probe.progress import make_progress
    progress = make_progress([c.name for c in selected], quiet=args.quiet, stream=err)
    host = hostmod.detect()
    runner = Runner(settings, host, options={"trigger": args.trigger, "bandwidth": bandwidth,
                                             "lang": lang}, progress=progress)

    def _on_term(signum: int, frame: Any) -> None:
        raise Interrupted("SIGTERM")

    old_term = _install(signal.SIGTERM, _on_term)
    try:
        result = runner.run(selected, deadline_s)
    finally:
        if progress is not None:
            progress.close()
        _install(signal.SIGTERM, old_term)
    # From here on the report must get written: a second Ctrl-C waits for it.
    old_int = _install(signal.SIGINT, signal.SIG_IGN)
    old_term = _install(signal.SIGTERM, signal.SIG_IGN)
    try:
        return _finish_run(args, settings, host, result, fmt, lang, out, err)
    finally:
        _install(signal.SIGINT, old_int)
        _install(signal.SIGTERM, old_term)


def _install(sig: int, handler: Any) -> Any:
    try:
        return signal.signal(sig, handler)
    except (ValueError, OSError, TypeError):  # not the main thread, or not supported here
        return None


def _finish_run(args: argparse.Namespace, settings: Any, host: Any, result: Any, fmt: str,
                lang: str, out: TextIO, err: TextIO) -> int:
    from pathlib import Path

    from reports import model
    from reports.pipeline import finish_report

    report = finish_report(result, settings=settings, host=host, lang=lang,
                           trigger=args.trigger, redact=not args.no_redact)
    saved = _save_report(report, err)
    _run_integrations(args, settings, report, err)

    text = _render(report, fmt, lang, out if not args.output or args.output == "-" else None)
    if args.output and args.output != "-":
        try:
            model.write_atomic(Path(args.output), text, mode=0o600)
        except OSError as exc:
            err.write(f"payprobe: could not write {args.output}: {exc.strerror or exc}\n")
            return int(ExitStatus.USAGE)
        if not args.quiet:
            out.write(_render(report, "text", lang, out))
    elif not (args.quiet and fmt == "text"):
        out.write(text)
    out.flush()
    if saved and not args.quiet:
        err.write(f"payprobe: report saved to {saved}\n")
    if report["partial"]:
        return int(ExitStatus.INTERRUPTED)
    return int(ExitStatus.for_status(report["status"]))


def _render(report: dict[str, Any], fmt: str, lang: str, stream: TextIO | None) -> str:
    from reports.render import render
    return render(report, fmt, lang=lang, colour=fmt == "text" and stream is not None and _colour(stream))


def _save_report(report: dict[str, Any], err: TextIO) -> Any:
    """Save the JSON report under the data dir; if that fails (full disk,
    read-only), fall back to the temp dir. Nothing is lost silently."""
    import tempfile
    from pathlib import Path

    from probe import paths
    from reports import model

    name = model.report_filename(report)
    text = model.dumps(report)
    for folder in (paths.reports_dir(), Path(tempfile.gettempdir())):
        try:
            return model.write_atomic(folder / name, text)
        except OSError as exc:
            err.write(f"payprobe: warning: could not save the report in {folder}: "
                      f"{exc.strerror or exc}\n")
    return None


def _run_integrations(args: argparse.Namespace, settings: Any, report: dict[str, Any],
                      err: TextIO) -> None:
    """History, alerts, pushes and bundles: each optional, none may lose the report."""
    try:
        from probe import integrations
    except ImportError:
        return
    integrations.after_run(args, settings, report, err)


def cmd_checks(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from probe import registry
    available = registry.discover()
    for name, item in available.items():
        origin = "" if item.builtin else f"  [plugin {item.target}]"
        extra = "  [not run by default: --bandwidth]" if name in registry.OPT_IN else ""
        out.write(f"{name:<13} {item.description}{extra}{origin}\n")
    return 0


def cmd_show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from reports.model import read_report
    report = read_report(args.report)
    lang = resolve_lang(args.lang, report.get("lang"))
    out.write(_render(report, args.format, lang, out))
    return 0


def cmd_schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from reports.model import SCHEMA_PATH
    out.write(SCHEMA_PATH.read_text(encoding="utf-8"))
    return 0


def cmd_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from reports import catalog
    lang = resolve_lang(args.lang)
    text = catalog.explain(args.code, lang)
    if text is None:
        raise UsageError(f"unknown code {args.code!r}; see `payprobe schema` or the README for codes")
    out.write(text)
    return 0


COMMANDS = {"run": cmd_run, "checks": cmd_checks, "show": cmd_show, "schema": cmd_schema,
            "explain": cmd_explain}


def main(argv: list[str] | None = None, *, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        import contextlib
        try:
            with contextlib.redirect_stdout(out):
                args = parser.parse_args(argv)
        except SystemExit as exc:  # --help / --version
            return int(exc.code or 0)
        if not args.command:
            parser.print_help(out)
            return int(ExitStatus.USAGE)
        handler = COMMANDS.get(args.command) or getattr(args, "handler", None)
        return int(handler(args, out, err))
    except PayprobeError as exc:
        err.write(f"payprobe: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        err.write("payprobe: interrupted\n")
        return int(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if debug:
            import traceback
            traceback.print_exc(file=err)
        else:
            from probe.classify import describe
            err.write(f"payprobe: internal error: {describe(exc)} (run with --debug for details)\n")
        return int(ExitStatus.INTERNAL_ERROR)
