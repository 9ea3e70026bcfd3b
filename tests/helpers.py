"""Small helpers shared by the tests.

- running payprobe: :func:`run_cli` (in-process), :func:`run_subprocess`;
- a check's context: :func:`make_ctx`, and the fixed hosts :data:`LINUX`, :data:`TERMUX`;
- reading an :class:`~payprobe.api.Outcome`: :func:`codes`, :func:`severities`,
  :func:`findings`, :func:`finding`;
- fakes on disk: :func:`put_command` (a command on PATH), :func:`make_plugin_dist`;
- :func:`to_toml`, a config file from a dict.

The in-process servers are in tests/servers/, the network lab in tests/lab/.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from payprobe.api import Blackboard, CheckContext, Finding, Outcome
from payprobe.host import HostInfo
from payprobe.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

# Fixed hosts, so that no unit test depends on the machine it runs on.
LINUX = HostInfo(platform="linux", termux=False, os="Linux test", python="3")
TERMUX = HostInfo(platform="android", termux=True, os="Linux android", python="3")

# The Settings field holding each check's section, when it is not the check's name.
_SECTION_FIELDS = {"endpoints": "latency"}
_CHECKS = ("connectivity", "dns", "tls", "clock", "endpoints", "proxy", "bandwidth", "device")


# ---------------------------------------------------------------- running payprobe


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


# ---------------------------------------------------------------- a check's context


def _settings_holding(config: Any) -> Settings:
    """Default settings with ``config`` in the field of its type (DnsConfig -> dns ...)."""
    base = Settings()
    for field in dataclasses.fields(base):
        if type(getattr(base, field.name)) is type(config):
            return dataclasses.replace(base, **{field.name: config})
    raise TypeError(f"no Settings field holds a {type(config).__name__}; pass settings=")


def _check_name(config: Any, settings: Settings) -> str:
    for check in _CHECKS:
        if getattr(settings, _SECTION_FIELDS.get(check, check)) is config:
            return check
    raise ValueError("config is not a check section of settings; pass name=")


def make_ctx(config: Any, *, settings: Settings | None = None, name: str | None = None,
             deadline_s: float = 8.0, options: Mapping[str, Any] | None = None,
             host: HostInfo = LINUX, shared: Blackboard | None = None,
             cancelled: threading.Event | None = None) -> CheckContext[Any]:
    """The context the runner would give a check, ``deadline_s`` from now.

    ``config`` is the check's section (``settings.dns``, ``settings.section("endpoints")``);
    the name is the check whose section it is in ``settings``, which default to
    the defaults holding ``config``. ``config=None`` (a context for
    :func:`payprobe.api.parallel` alone) needs only ``name``.
    """
    if settings is None:
        settings = Settings() if config is None else _settings_holding(config)
    if name is None:
        name = _check_name(config, settings)
    return CheckContext(name=name, config=config, settings=settings,
                        deadline=time.monotonic() + deadline_s,
                        cancelled=cancelled if cancelled is not None else threading.Event(),
                        shared=shared if shared is not None else Blackboard(),
                        host=host, options=dict(options or {}))


# ---------------------------------------------------------------- reading an outcome


def codes(outcome: Outcome) -> set[str]:
    """The finding codes of an outcome."""
    return {f.code for f in outcome.findings}


def severities(outcome: Outcome) -> dict[str, str]:
    """Finding code -> severity (the last finding of a code wins)."""
    return {f.code: f.severity for f in outcome.findings}


def findings(outcome: Outcome, code: str, target: str | None = None) -> list[Finding]:
    return [f for f in outcome.findings if f.code == code and (target is None or f.target == target)]


def finding(outcome: Outcome, code: str, target: str | None = None) -> Finding:
    """The first finding ``code`` (on ``target``); fails naming the codes there are."""
    found = findings(outcome, code, target)
    assert found, f"no {code} (target {target}) in {[(f.code, f.target) for f in outcome.findings]}"
    return found[0]


# ---------------------------------------------------------------- fakes on disk


def put_command(folder: Path, name: str, body: str) -> Path:
    """An executable shell script ``folder/name`` running ``body`` (put ``folder`` on PATH)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def put_printing_command(folder: Path, name: str, output: str) -> Path:
    """A command that prints ``output`` verbatim (a termux-api command's JSON)."""
    return put_command(folder, name, f"cat <<'PAYPROBE_EOF'\n{output}\nPAYPROBE_EOF")


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


# ---------------------------------------------------------------- config files


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def to_toml(data: Mapping[str, Any]) -> str:
    """A config file for ``payprobe run --config``: scalars, tables, arrays of tables."""
    top, tables, arrays = [], [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays.append((key, value))
        else:
            top.append(f"{json.dumps(key)} = {_toml_value(value)}")
    lines = top
    for key, table in tables:
        lines.append(f"\n[{json.dumps(key)}]")
        lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items()]
    for key, items in arrays:
        for item in items:
            lines.append(f"\n[[{json.dumps(key)}]]")
            lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def has_ipv6_loopback() -> bool:
    """Whether ::1 can be bound here (containers often run without IPv6)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


# Under CI=true a skip fails (tests/conftest.py): CI must have IPv6 loopback.
needs_ipv6_loopback = pytest.mark.skipif(not has_ipv6_loopback(),
                                         reason="this machine has no IPv6 loopback (::1)")


def sigint_as_default() -> None:
    """For a child process (``preexec_fn``) or the test itself: SIGINT does what it does at a
    terminal. A shell without job control starts background jobs with SIGINT ignored, and
    the ignoring is inherited; a test of what Ctrl-C does must not depend on how the suite
    was launched."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)
