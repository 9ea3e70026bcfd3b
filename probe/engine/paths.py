"""Where payprobe keeps its files: platformdirs, or $HOME on Termux.

PAYPROBE_DATA_DIR and PAYPROBE_CONFIG_DIR override both (tests, scripts).
"""

from __future__ import annotations

import os
from pathlib import Path

from payprobe.host import is_termux


def data_dir() -> Path:
    override = os.environ.get("PAYPROBE_DATA_DIR")
    if override:
        return Path(override).expanduser()
    if is_termux():
        return Path.home() / ".local" / "share" / "payprobe"
    import platformdirs
    return Path(platformdirs.user_data_dir("payprobe", appauthor=False))


def config_dir() -> Path:
    override = os.environ.get("PAYPROBE_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    if is_termux():
        return Path.home() / ".config" / "payprobe"
    import platformdirs
    return Path(platformdirs.user_config_dir("payprobe", appauthor=False))


def default_config_file() -> Path | None:
    path = config_dir() / "config.toml"
    return path if path.is_file() else None


def reports_dir() -> Path:
    return data_dir() / "reports"
