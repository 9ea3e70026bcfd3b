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
