"""payprobe's command line (DESIGN §3): one command table, one dispatch.

As in pip, the table (payprobe.cli.parser) maps each command to the module that
implements it and a one-line summary; only the chosen command's module is
imported, so ``payprobe --help`` starts fast on a phone, and ``--version`` on
its own builds no parser at all. Each command module has
``configure(name, parser)``, which adds the command's arguments and
``set_defaults(handler=fn)`` with ``fn(args, out, err) -> int``.

Errors are one clear sentence on stderr and an exit code from
:class:`~payprobe.engine.exitcodes.ExitStatus`; tracebacks only with --debug.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from typing import NoReturn, TextIO

from payprobe import __version__
from payprobe.engine.errors import PayprobeError
from payprobe.engine.exitcodes import ExitStatus
from payprobe.scrub import describe


def main(argv: list[str] | None = None, *, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv in (["--version"], ["-V"]):   # on its own: no parser to build (start-up on a phone)
        out.write(f"payprobe {__version__}\n")
        return int(ExitStatus.HEALTHY)
    try:
        from payprobe.cli.parser import build_parser  # lazy: --version needs no argparse

        parser = build_parser(argv)
        try:
            with contextlib.redirect_stdout(out):
                args = parser.parse_args(argv)
        except SystemExit as exc:  # --help / --version
            return int(exc.code or 0)
        if not args.command:
            parser.print_help(out)
            return int(ExitStatus.USAGE)
        return int(args.handler(args, out, err))
    except PayprobeError as exc:
        err.write(f"payprobe: {exc}\n")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        err.write("payprobe: interrupted\n")
        return int(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitStatus.HEALTHY)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if "--debug" in argv:
            import traceback  # only with --debug: start-up stays light
            traceback.print_exc(file=err)
        else:
            err.write(f"payprobe: internal error: {describe(exc)} (run with --debug for details)\n")
        return int(ExitStatus.INTERNAL_ERROR)


def entry() -> NoReturn:
    """The ``payprobe`` command (and ``python -m payprobe``): :func:`main`, then exit.

    The interpreter's teardown (a garbage collection, then every one of the ~400
    modules a run loads) costs 20-40 ms of a run on a phone-class CPU and does
    nothing for payprobe: every file is closed and every thread done or abandoned
    by then. So once stdout and stderr are flushed the process exits at once,
    unless something registered an atexit handler (a coverage tool, a plugin),
    which then runs as usual.
    """
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):   # a reader that went away, or a closed stream
        os._exit(code)
    if getattr(atexit, "_ncallbacks", lambda: 1)() == 0:
        os._exit(code)
    sys.exit(code)
