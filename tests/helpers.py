"""Small helpers shared by the unit tests."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class CliResult:
    exit_status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(*argv: str) -> CliResult:
    """Drive payprobe.cli.main.main() in-process, as httpie's tests do."""
    from payprobe.cli.main import main
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return CliResult(code, out.getvalue(), err.getvalue())


def run_subprocess(*argv: str, env: dict[str, str] | None = None, timeout: float = 60,
                   **kw: Any) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "payprobe", *argv], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=kw.pop("cwd", ROOT), **kw)


def make_plugin_dist(root: Path, dist: str, checks: dict[str, str]) -> Path:
    """A throw-away installed distribution: a module plus a .dist-info with entry points.

    ``checks`` maps entry-point name -> module source. Put ``root`` on sys.path
    (or PYTHONPATH) and importlib.metadata sees it as installed.
    """
    root.mkdir(parents=True, exist_ok=True)
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = ["[payprobe.checks]"]
    for name, source in checks.items():
        module = f"{dist}_{name}"
        (root / f"{module}.py").write_text(textwrap.dedent(source))
        lines.append(f"{name} = {module}:Plugin")
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return root
