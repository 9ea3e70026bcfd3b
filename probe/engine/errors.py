"""Errors the CLI turns into one clear sentence and an exit code."""

from __future__ import annotations

from payprobe.engine.exitcodes import ExitStatus


class PayprobeError(Exception):
    """Base class: ``str(exc)`` is the one sentence shown to the user."""

    exit_code = ExitStatus.INTERNAL_ERROR


class UsageError(PayprobeError):
    """Bad command line, bad config, bad input file: exit 64."""

    exit_code = ExitStatus.USAGE


class ConfigError(UsageError):
    """The config file is malformed, names an unknown key or has a wrong type."""
