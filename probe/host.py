"""Where we run: Android/Termux, Linux, macOS or Windows."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class HostInfo:
    platform: str   # android | linux | darwin | windows
    termux: bool
    os: str
    python: str

    def to_dict(self) -> dict[str, object]:
        return {"platform": self.platform, "termux": self.termux, "os": self.os,
                "python": self.python}

    def has_command(self, name: str) -> bool:
        return shutil.which(name) is not None


def is_termux(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get("TERMUX_VERSION")) or "com.termux" in env.get("PREFIX", "")


@lru_cache(maxsize=1)
def detect() -> HostInfo:
    termux = is_termux()
    if termux or os.environ.get("ANDROID_ROOT") or hasattr(sys, "getandroidapilevel"):
        plat = "android"
    elif sys.platform.startswith("linux"):
        plat = "linux"
    elif sys.platform == "darwin":
        plat = "darwin"
    elif sys.platform.startswith(("win", "cygwin")):
        plat = "windows"
    else:
        plat = sys.platform
    # platform.release() is the kernel version; it names no person or device.
    os_desc = f"{platform.system()} {platform.release()}".strip()
    return HostInfo(platform=plat, termux=termux, os=os_desc, python=platform.python_version())
