"""Measured values in units people read: 8.1 ms, 433 Mbit/s, 5.745 GHz, 12 %.

Metric names carry their unit (``tcp_connect_seconds``, DESIGN §5); this turns
a name and a value into text for the renderers that people read (HTML, text,
Markdown). The JSON and Prometheus outputs keep the raw SI values.
Never scientific notation, never needless decimals.
"""

from __future__ import annotations

import math
from typing import Any

# name suffix -> (base unit, the prefixed steps above it)
_SCALED: tuple[tuple[str, str, tuple[tuple[float, str], ...]], ...] = (
    ("_bits_per_second", "bit/s", ((1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s"))),
    ("_bytes_total", "B", ((1e9, "GB"), (1e6, "MB"), (1e3, "kB"))),
    ("_bytes", "B", ((1e9, "GB"), (1e6, "MB"), (1e3, "kB"))),
    ("_hertz", "Hz", ((1e9, "GHz"), (1e6, "MHz"), (1e3, "kHz"))),
)
_PLAIN = {"_percent": "%", "_dbm": "dBm", "_days_left": "d"}


def number(value: float, significant: int = 3) -> str:
    """``value`` with about ``significant`` digits, in plain notation, no trailing zeros."""
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, significant - 1 - magnitude)
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _seconds(value: float) -> str:
    if abs(value) < 1:
        return f"{number(value * 1000)} ms"
    return f"{number(value)} s"


def human(name: str, value: Any) -> str:
    """The value of metric ``name`` as people read it; non-numbers as they are."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    value = float(value)
    if name.endswith("_seconds"):
        return _seconds(value)
    if name.endswith("_ratio"):
        return f"{number(value * 100)} %"
    for suffix, base, steps in _SCALED:
        if name.endswith(suffix):
            for factor, unit in steps:
                if abs(value) >= factor:
                    return f"{number(value / factor, 4)} {unit}"
            return f"{number(value, 4)} {base}"
    for suffix, unit in _PLAIN.items():
        if name.endswith(suffix):
            return f"{number(value)} {unit}"
    return number(value, 4)
