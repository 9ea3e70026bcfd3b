"""Errors the CLI turns into one clear sentence and an exit code."""

from __future__ import annotations


class PayprobeError(Exception):
    """Base class: ``str(exc)`` is the one sentence shown to the user."""

    exit_code = 3


class UsageError(PayprobeError):
    """Bad command line, bad config, bad input file: exit 64."""

    exit_code = 64


class ConfigError(UsageError):
    """The config file is malformed, names an unknown key or has a wrong type."""


def read_input(path: object, expected: str, error: type[UsageError] = UsageError) -> bytes:
    """The bytes of a file the user handed us, or ``error`` with one sentence
    naming the file and what was ``expected`` there ("a TOML file", ...)."""
    from pathlib import Path

    p = Path(str(path))
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise error(f"{p}: no such file, expected {expected}") from None
    except IsADirectoryError:
        raise error(f"{p}: is a directory, expected {expected}") from None
    except OSError as exc:
        raise error(f"{p}: cannot read ({exc.strerror or exc}), expected {expected}") from None
