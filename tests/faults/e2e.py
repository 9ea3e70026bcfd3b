"""End-to-end runs: ``python -m payprobe run`` in a subprocess, against hostile servers.

The subprocess gets the resolver guard (tests/faults/guard.py) through a
sitecustomize on PYTHONPATH, so it resolves names the way the in-process runs do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def to_toml(data: dict[str, Any]) -> str:
    """A config file for ``payprobe run --config``: scalars, tables, arrays of tables."""
    lines: list[str] = []
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    arrays = {k: v for k, v in data.items()
              if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)}
    for key, value in data.items():
        if key not in tables and key not in arrays:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, table in tables.items():
        lines.append(f"\n[{key}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    for key, items in arrays.items():
        for item in items:
            lines.append(f"\n[[{key}]]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


SITE_DIR = Path(__file__).with_name("site")


def run_cli(config_path: Path, checks: tuple[str, ...], deadline_s: float, home: Path,
            *, timeout_s: float = 60.0) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the CLI the way a person would, JSON to stdout; returns (process, wall seconds)."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PAYPROBE_FAULT_GUARD": "1", "NO_COLOR": "1",
           "PAYPROBE_DATA_DIR": str(home / "data"), "PAYPROBE_CONFIG_DIR": str(home / "config"),
           "PYTHONPATH": os.pathsep.join(p for p in (str(SITE_DIR), str(root),
                                                      os.environ.get("PYTHONPATH", "")) if p)}
    argv = [sys.executable, "-m", "payprobe", "run", "--config", str(config_path), "--only",
            ",".join(checks), "--format", "json", "--output", "-", "--deadline", f"{deadline_s:g}",
            "--quiet"]
    t0 = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=root,
                          timeout=timeout_s, check=False)
    return proc, time.monotonic() - t0
