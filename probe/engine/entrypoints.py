"""The entry points of one group, read the way importlib.metadata reads them,
without importing it.

Why: ``importlib.metadata`` costs a run 11-12 ms (it imports email, zipfile,
csv and friends) to read a handful of small files; a run reads the
``payprobe.checks`` group once, at start, on the critical path to the verdict
(issue 15). What it does for entry points is simple where every distribution
is a folder on ``sys.path``: for each path entry in order, each
``*.dist-info`` folder, then each ``*.egg-info`` folder, the first
distribution of a (normalized) name wins, and ``entry_points.txt`` is an INI
file of ``name = module:attr`` lines under ``[group]`` headers.

Anything else (a zip on ``sys.path``, an ``.egg``, a finder other than
PathFinder that can report distributions) is left to importlib.metadata:
:func:`read` returns None and the caller asks it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator

_INFO_SUFFIXES = (".dist-info", ".egg-info")
# importlib.metadata's Prepared.normalize: runs of -_. become one _, lower case.
_NAME_RUNS = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    return _NAME_RUNS.sub("-", name).lower().replace("-", "_")


def read(group: str) -> list[tuple[str, str]] | None:
    """(name, value) of every entry point in ``group``, in importlib.metadata's order
    (duplicate names included, as it gives them); None when only it can tell."""
    from importlib.machinery import PathFinder

    for finder in sys.meta_path:
        if finder is not PathFinder and getattr(finder, "find_distributions", None) is not None:
            return None
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for entry in sys.path:
        folder = entry or "."
        if entry.lower().endswith(".egg") or os.path.isfile(folder):
            return None
        for dist, info in _distributions(folder):
            if dist in seen:
                continue
            seen.add(dist)
            found.extend(_group(os.path.join(info, "entry_points.txt"), group))
    return found


def _distributions(folder: str) -> Iterator[tuple[str, str]]:
    """(normalized name, info folder) on one path entry: .dist-info first, then .egg-info."""
    try:
        children = os.listdir(folder)
    except OSError:   # missing, or not a folder: importlib.metadata skips it too
        return
    for suffix in _INFO_SUFFIXES:
        for child in children:
            low = child.lower()
            if low.endswith(suffix):
                yield normalize(low[: -len(suffix)].partition("-")[0]), os.path.join(folder, child)


def _group(path: str, group: str) -> Iterator[tuple[str, str]]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, ValueError):   # no entry points, or unreadable: none from it
        return
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == group:
            name, sep, value = line.partition("=")
            if sep:
                yield name.strip(), value.strip()
