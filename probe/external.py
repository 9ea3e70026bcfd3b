"""Small external commands (termux-api, getprop, defaults, termux-share, clipboard tools),
each run in its own process group within a timeout.

A command that hangs (getprop on a locked-down ROM, a termux-api command
without the Termux:API app) must cost its timeout and nothing more, and leave
no process behind: at the timeout the whole group is killed and the leader
reaped. A command that ends normally is waited for, not its children:
wl-copy and xclip leave a child behind on purpose (it serves the clipboard)
and it must live on.

Standard input, output and error are unlinked temporary files rather than
pipes, so nothing waits on a pipe that a forked child still holds open, and
a command that never reads its input cannot block our write.

``payprobe.sources.run_termux_api`` runs termux-api commands through it.
It is part of the plugin surface (standard library only), so checks may use it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

# More than any of these commands prints; a runaway one fills no more memory than this.
MAX_OUTPUT_BYTES = 64 * 1024
_SHOWN_CHARS = 120


class ExternalCommandError(Exception):
    """The command gave no answer at all; the message says why, for people."""


class CommandNotFound(ExternalCommandError):
    """Not on PATH, or not executable."""


class CommandTimedOut(ExternalCommandError):
    """No answer within the timeout; its process group was killed."""


@dataclass(frozen=True)
class Completed:
    command: str
    returncode: int
    stdout: bytes
    stderr: bytes

    def first_line(self) -> str:
        """The first non-blank line of the output, stripped ("" when it printed nothing)."""
        for line in self.stdout.decode("utf-8", errors="replace").splitlines():
            if line.strip():
                return line.strip()
        return ""

    def failure(self) -> str:
        """Why a non-zero exit failed, in one line: the exit status and the first line it wrote."""
        if self.returncode < 0:
            try:
                how = f"was stopped by {signal.Signals(-self.returncode).name}"
            except ValueError:
                how = f"was stopped by signal {-self.returncode}"
        else:
            how = f"failed (exit {self.returncode})"
        said = (self.stderr or self.stdout).decode("utf-8", errors="replace").strip()
        first = said.splitlines()[0][:_SHOWN_CHARS] if said else ""
        return f"{self.command} {how}: {first}" if first else f"{self.command} {how}"


def run_external(argv: Sequence[str], timeout_s: float, *, input_bytes: bytes | None = None,
                 env: Mapping[str, str] | None = None) -> Completed:
    """Run ``argv`` (``argv[0]`` looked up on PATH) with ``input_bytes`` on its standard input.

    Returns whatever exit status it had; raises :class:`CommandNotFound`,
    :class:`CommandTimedOut` (the group is killed first) or
    :class:`ExternalCommandError` when it could not start.
    """
    name = os.path.basename(argv[0])
    path = shutil.which(argv[0])
    if path is None:
        raise CommandNotFound(f"{name} not found")
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stdout, \
            tempfile.TemporaryFile() as stderr:
        if input_bytes:
            stdin.write(input_bytes)
            stdin.seek(0)
        returncode = _wait_in_own_group(name, [path, *argv[1:]], timeout_s, env,
                                        stdin if input_bytes is not None else None, stdout, stderr)
        return Completed(name, returncode, _read_back(stdout), _read_back(stderr))


def _wait_in_own_group(name: str, argv: list[str], timeout_s: float, env: Mapping[str, str] | None,
                       stdin: IO[bytes] | None, stdout: IO[bytes], stderr: IO[bytes]) -> int:
    own_group = os.name == "posix"
    try:
        proc = subprocess.Popen(argv, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                stdout=stdout, stderr=stderr,
                                env=dict(env) if env is not None else None,
                                start_new_session=own_group)
    except OSError as exc:
        raise ExternalCommandError(f"{name} could not start: {exc.strerror or exc}") from None
    try:
        return proc.wait(timeout=max(timeout_s, 0.0))
    except subprocess.TimeoutExpired:
        _kill_group(proc, own_group)
        raise CommandTimedOut(f"{name} did not answer in {timeout_s:.3g} s") from None
    except BaseException:
        _kill_group(proc, own_group)   # Ctrl-C in the middle: leave nothing behind either
        raise


def _kill_group(proc: subprocess.Popen[bytes], own_group: bool) -> None:
    # The leader is not reaped yet, so its pid still names this group and no other.
    try:
        if own_group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except ProcessLookupError:
        pass
    proc.wait()


def _read_back(fh: IO[bytes]) -> bytes:
    fh.seek(0)
    return fh.read(MAX_OUTPUT_BYTES)
