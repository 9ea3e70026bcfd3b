"""Options several commands share (run, watch), and loading the user's settings."""

from __future__ import annotations

import argparse

from payprobe.cli.argtypes import csv_list, positive_seconds
from payprobe.engine import config, paths
from payprobe.engine.errors import UsageError
from payprobe.settings import Settings

LANGS = ("en", "zh")
# What a bare --upload stands for until the settings are loaded: the config's [upload] url.
UPLOAD_FROM_CONFIG = "[upload] url"


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", metavar="FILE", help="TOML config file (default: the user config dir)")
    p.add_argument("--only", type=csv_list, metavar="a,b", help="run only these checks")
    p.add_argument("--skip", type=csv_list, metavar="a,b", help="do not run these checks")
    p.add_argument("-d", "--deadline", type=positive_seconds, metavar="SECONDS",
                   help="budget for the whole run (default: deadline_s of the config)")
    p.add_argument("-l", "--lang", choices=LANGS, help="language of the report text")


def add_upload_option(p: argparse.ArgumentParser, help_text: str) -> None:
    p.add_argument("--upload", nargs="?", const=UPLOAD_FROM_CONFIG, metavar="URL",
                   help=f"{help_text} (a bare --upload: the url of the config's [upload] section)")


def upload_url(given: str | None, settings: Settings) -> str | None:
    """The URL --upload names: the one given, or for a bare --upload the config's ``[upload] url``;
    None without --upload. UsageError (exit 64) for a bare --upload and no url in the config."""
    if given != UPLOAD_FROM_CONFIG:
        return given
    if not settings.upload.url:
        raise UsageError("--upload without a URL needs `url` in the config's [upload] section")
    return settings.upload.url


def load_settings(path: str | None) -> Settings:
    """The user's settings: FILE, or else config.toml in the user config dir, over the defaults."""
    return config.load(path if path is not None else paths.default_config_file())
