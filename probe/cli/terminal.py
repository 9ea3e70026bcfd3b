"""The terminal: the one place that decides colour and in-place redrawing.

NO_COLOR (https://no-color.org) turns colour off; TERM=dumb and a stream that
is not a TTY turn off both colour and redrawing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO


def is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def can_redraw(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Cursor movement is safe: a TTY whose terminal is not "dumb"."""
    env = os.environ if environ is None else environ
    return is_tty(stream) and env.get("TERM", "") != "dumb"


def use_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """ANSI colour on this stream: a capable TTY and no NO_COLOR."""
    env = os.environ if environ is None else environ
    return can_redraw(stream, env) and not env.get("NO_COLOR")
