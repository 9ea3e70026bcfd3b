"""Sub-commands that live in their own modules, added to the parser here.

Each module listed has ``add_parsers(sub)``, which adds its sub-commands with
``set_defaults(handler=fn)``; ``fn(args, out, err) -> int``.
"""

from __future__ import annotations

import importlib
from typing import Any

MODULES = ("probe.schedule_cli", "reports.bundle")


def add_parsers(sub: Any) -> None:
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        module.add_parsers(sub)
