"""Durations on the command line: ``--every 15m``, ``--jitter 10%``, ``--max-delay 90s``."""

from __future__ import annotations

import re

from payprobe.engine.errors import UsageError

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str, option: str = "duration") -> float:
    """'90s', '15m', '1h', '7d', '2w', '1h30m' or bare seconds -> seconds (> 0)."""
    value = str(text).strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)([smhdw])", value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise UsageError(f"{option} {text}: expected a duration like 90s, 15m, 1h or 7d")
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if not seconds > 0 or seconds == float("inf"):
        raise UsageError(f"{option} {text}: expected a duration greater than zero")
    return seconds


def parse_jitter(text: str, period_s: float, option: str = "--jitter") -> float:
    """'10%' of the period, or an absolute duration; at most half the period."""
    value = str(text).strip()
    if value.endswith("%"):
        try:
            percent = float(value[:-1])
        except ValueError:
            raise UsageError(f"{option} {text}: expected a percentage like 10% or a duration like 30s") from None
        if not 0 <= percent <= 50:
            raise UsageError(f"{option} {text}: expected a percentage between 0% and 50%")
        return period_s * percent / 100
    if value in ("0", "0s"):
        return 0.0
    seconds = parse_duration(value, option)
    if seconds > period_s / 2:
        raise UsageError(f"{option} {text}: at most half of the period ({format_duration(period_s / 2)})")
    return seconds


def format_duration(seconds: float) -> str:
    whole_s = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole_s >= size and whole_s % size == 0:
            return f"{whole_s // size}{unit}"
    if whole_s >= 60:
        return f"{whole_s // 60}m{whole_s % 60}s"
    return f"{whole_s}s"
