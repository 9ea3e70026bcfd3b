"""Optional third-party libraries a check can do without, imported only when a check runs.

psutil is heavy to import on a phone (``payprobe --help`` must start fast) and
may be missing (Termux: ``pkg install python-psutil``); checks then list their
psutil sources as skipped.
"""

from __future__ import annotations

from types import ModuleType

PSUTIL_MISSING = "psutil is not installed (Termux: pkg install python-psutil)"


def load_psutil() -> ModuleType | None:
    """psutil, or None where it is not installed."""
    try:
        import psutil
    except ImportError:
        return None
    return psutil
