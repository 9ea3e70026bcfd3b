"""Live progress on stderr: one line per check, redrawn in place on a terminal
with a spinner, plain "check: status" lines otherwise. No dependencies: rich
would cost a phone more start-up time than the whole probe.

The status words (ok, warn, running, waiting...) are the report's language,
from the message catalog; the check names stay as they are. The plain lines
keep their ASCII shape ("payprobe: dns: 正常 (0.25 s)") for logs and scripts.
"""

from __future__ import annotations

import sys
import threading
import time
import unicodedata
from typing import Any, TextIO

from payprobe.cli import terminal
from payprobe.reports import catalog

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_COLOURS = {"ok": "32", "warn": "33", "fail": "31", "error": "35", "timeout": "35", "skipped": "2"}


def status_word(status: str, lang: str) -> str:
    """A check status in the language: "ok" -> 正常; an unknown one as it is."""
    word = catalog.ui(f"check_status.{status}", lang)
    return status if word == f"check_status.{status}" else word


def _padded(text: str, columns: int) -> str:
    # CJK characters take two columns on a terminal.
    width = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, columns - width)


class PlainProgress:
    """For pipes and logs: one line when a check ends."""

    def __init__(self, stream: TextIO | None = None, lang: str = "en") -> None:
        self.stream = stream or sys.stderr
        self.lang = lang
        self._lock = threading.Lock()
        self._said: dict[str, str] = {}

    def started(self, name: str) -> None:
        pass

    def finished(self, result: Any) -> None:
        """One line per check; a second one for the same check (the runner revised its
        result: an error the offline verdict explains) says what it replaces."""
        with self._lock:
            word = status_word(result.status, self.lang)
            was = self._said.get(result.name)
            if was is not None and was != result.status:
                word = catalog.ui("progress.revised", self.lang, status=word,
                                  was=status_word(was, self.lang))
            self._said[result.name] = result.status
            self.stream.write(f"payprobe: {result.name}: {word} ({result.duration_s:.2f} s)\n")
            self.stream.flush()

    def close(self) -> None:
        pass


class TerminalProgress:
    """For a TTY: a block of lines, one per check, with a spinner while it runs."""

    def __init__(self, names: list[str], stream: TextIO | None = None, colour: bool = True,
                 lang: str = "en") -> None:
        self.stream = stream or sys.stderr
        self.colour = colour
        self.lang = lang
        self._running = catalog.ui("progress.running", lang)
        self._waiting = catalog.ui("progress.waiting", lang)
        self.names = list(names)
        self.state: dict[str, tuple[str, float]] = {}
        self.started_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._drawn = 0
        self._frame = 0
        self._thread = threading.Thread(target=self._loop, daemon=True, name="progress")
        self._thread.start()

    def started(self, name: str) -> None:
        with self._lock:
            self.started_at[name] = time.monotonic()
            if name not in self.names:
                self.names.append(name)

    def finished(self, result: Any) -> None:
        with self._lock:
            self.state[result.name] = (result.status, result.duration_s)
        self._draw()

    def _paint(self, status: str, text: str) -> str:
        if not self.colour:
            return text
        return f"\x1b[{_COLOURS.get(status, '0')}m{text}\x1b[0m"

    def _draw(self) -> None:
        with self._lock:
            lines = []
            now = time.monotonic()
            for name in self.names:
                if name in self.state:
                    status, took = self.state[name]
                    mark = {"ok": "✓", "warn": "!", "fail": "✗"}.get(status, "·")
                    # Pad before painting: escape codes would count towards the width.
                    word = _padded(status_word(status, self.lang), 8)
                    lines.append(f" {self._paint(status, mark)} {name:<13} "
                                 f"{self._paint(status, word)} {took:5.2f} s")
                elif name in self.started_at:
                    spin = _SPINNER[self._frame % len(_SPINNER)]
                    lines.append(f" {spin} {name:<13} {_padded(self._running, 8)} "
                                 f"{now - self.started_at[name]:5.1f} s")
                else:
                    lines.append(f"   {name:<13} {self._waiting}")
            out = ""
            if self._drawn:
                out += f"\x1b[{self._drawn}F"
            out += "".join(f"\x1b[2K{line}\n" for line in lines)
            self._drawn = len(lines)
            try:
                self.stream.write(out)
                self.stream.flush()
            except (OSError, ValueError):
                self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            self._frame += 1
            self._draw()

    def close(self) -> None:
        self._stop.set()
        self._draw()


def make_progress(names: list[str], *, quiet: bool, stream: TextIO | None = None,
                  lang: str = "en") -> TerminalProgress | PlainProgress | None:
    """In-place lines on a capable TTY, plain lines otherwise (terminal decides: NO_COLOR
    drops colour, TERM=dumb and a stream that is no TTY drop redrawing too)."""
    stream = stream or sys.stderr
    lang = catalog.norm_lang(lang)
    if quiet:
        return None
    if terminal.can_redraw(stream):
        return TerminalProgress(names, stream, colour=terminal.use_colour(stream), lang=lang)
    return PlainProgress(stream, lang=lang)
