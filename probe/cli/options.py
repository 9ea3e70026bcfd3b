"""Options several commands share (run, watch), and loading the user's settings."""

from __future__ import annotations

import argparse

from payprobe.cli.argtypes import csv_list, positive_seconds
from payprobe.engine import config, paths
from payprobe.settings import Settings

LANGS = ("en", "zh")


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", metavar="FILE", help="TOML config file (default: the user config dir)")
    p.add_argument("--only", type=csv_list, metavar="a,b", help="run only these checks")
    p.add_argument("--skip", type=csv_list, metavar="a,b", help="do not run these checks")
    p.add_argument("-d", "--deadline", type=positive_seconds, metavar="SECONDS",
                   help="budget for the whole run (default: deadline_s of the config)")
    p.add_argument("-l", "--lang", choices=LANGS, help="language of the report text")


def load_settings(path: str | None) -> Settings:
    """The user's settings: FILE, or else config.toml in the user config dir, over the defaults."""
    return config.load(path if path is not None else paths.default_config_file())
