"""The command table and the parser (DESIGN §3).

As in pip, the table maps each command to the module that implements it and a
one-line summary; only the chosen command's module is imported. This module is
imported by payprobe.cli.main only when there is something to parse:
``payprobe --version`` needs no argparse.
"""

from __future__ import annotations

import argparse
import importlib
from typing import NamedTuple, NoReturn

from payprobe import __version__
from payprobe.engine.errors import UsageError


# A NamedTuple, not a dataclass: `payprobe --version` on a phone should not pay
# for importing dataclasses and inspect.
class Command(NamedTuple):
    module: str    # imported only when this command is chosen
    summary: str


COMMANDS: dict[str, Command] = {
    "run": Command("payprobe.cli.run", "run the checks and write a health report"),
    "checks": Command("payprobe.cli.info", "list the checks (built-in and plugins)"),
    "show": Command("payprobe.cli.info", "render a saved report"),
    "schema": Command("payprobe.cli.info", "print the report JSON Schema"),
    "explain": Command("payprobe.cli.info", "explain a finding or cause code, with remedies"),
    "bundle": Command("payprobe.cli.bundle", "write a support bundle (zip) of the latest report"),
    "history": Command("payprobe.cli.history", "past runs: one line each, trends, counts per cause"),
    "watch": Command("payprobe.cli.timing", "run periodically in the foreground until Ctrl-C"),
    "schedule": Command("payprobe.cli.timing",
                        "install, remove or show the periodic job of this platform"),
    "export": Command("payprobe.cli.export",
                      "write Prometheus metrics of a report to a file or a Pushgateway"),
}


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (exit 64, one sentence) instead of exiting 2."""

    def error(self, message: str) -> NoReturn:
        # main() prefixes "payprobe: "; name the sub-command, not the program twice.
        command = self.prog.removeprefix("payprobe").strip()
        raise UsageError(f"{command}: {message}" if command else message)


def chosen_command(argv: list[str]) -> str | None:
    """The command word in ``argv``: the first argument that is not an option."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the arguments of the command ``argv`` names (all of them when None)."""
    p = Parser(prog="payprobe",
               description="Find out why a mobile payment fails: network, DNS, proxy/VPN, "
                           "clock or the payment service.")
    p.add_argument("-V", "--version", action="version", version=f"payprobe {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    chosen = chosen_command(argv) if argv is not None else None
    for name, command in COMMANDS.items():
        parser = sub.add_parser(name, help=command.summary, description=command.summary)
        if argv is None or name == chosen:
            importlib.import_module(command.module).configure(name, parser)
    return p
