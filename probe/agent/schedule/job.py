"""The command line every installed job runs, and the environment it carries.

A job starts in whatever working directory its scheduler picks ($HOME for cron
and systemd user units). ``python -m payprobe`` would first look for a payprobe/
folder there, so a job runs ``python -I -m payprobe``: isolated mode keeps the
working directory, PYTHONPATH and the user's site-packages off ``sys.path``.
Where isolated mode cannot see this payprobe (installed with ``pip --user``),
the job runs the console script pip wrote, by its absolute path: a script's
``sys.path[0]`` is its own folder, never the working directory.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import payprobe
from payprobe.engine.errors import PayprobeError, UsageError

# Env vars that change where payprobe reads and writes: a job must see the same ones.
CARRIED_ENV = ("PAYPROBE_DATA_DIR", "PAYPROBE_CONFIG_DIR", "LANG", "LC_ALL")
PROBE_TIMEOUT_S = 20.0
# A line break in a value would start a new crontab line or unit-file directive.
_FORBIDDEN_CHARS = ("\n", "\r", "\0")


def job_argv(max_delay_s: float = 0.0) -> list[str]:
    """What every installed job executes: this payprobe, under the run lock."""
    argv = [*job_command(), "schedule", "run"]
    if max_delay_s > 0:
        argv += ["--max-delay", f"{int(max_delay_s)}s"]
    return _checked(argv, "the job's command line")


def job_command() -> list[str]:
    """The part of the job's command line that starts payprobe, independent of the cwd."""
    python = sys.executable
    if python and _same_file(_isolated_import_path(python), payprobe.__file__):
        return [python, "-I", "-m", "payprobe"]
    script = console_script()
    if script is not None:
        return [str(script)]
    raise PayprobeError(
        f"cannot install a job that runs this payprobe ({Path(payprobe.__file__).parent}): "
        f"`{python or 'python'} -I -m payprobe` does not find it and there is no payprobe script "
        "beside it; install payprobe with pip (not from a source folder on PYTHONPATH)")


@functools.lru_cache(maxsize=4)
def _isolated_import_path(python: str) -> str | None:
    """Where ``python -I`` imports payprobe from, or None where it cannot."""
    code = "import sys, payprobe; sys.stdout.write(payprobe.__file__ or '')"
    try:
        proc = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else None


def _same_file(found: str | None, ours: str | None) -> bool:
    if not found or not ours:
        return False
    try:
        return Path(found).resolve() == Path(ours).resolve()
    except OSError:
        return False


def console_script() -> Path | None:
    """The payprobe script pip wrote for this Python: the user scheme's first (pip --user)."""
    name = "payprobe.exe" if sys.platform == "win32" else "payprobe"
    folders = []
    for scheme in (sysconfig.get_preferred_scheme("user"), sysconfig.get_default_scheme()):
        try:
            folders.append(Path(sysconfig.get_path("scripts", scheme)))
        except KeyError:
            continue
    for folder in folders:
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.absolute()
    return None


def job_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    carried = {k: env[k] for k in CARRIED_ENV if env.get(k)}
    for key, value in carried.items():
        _checked([value], key)
    return carried


def _checked(values: list[str], what: str) -> list[str]:
    for value in values:
        if any(ch in value for ch in _FORBIDDEN_CHARS):
            raise UsageError(f"{what} {value!r} holds a line break or NUL, which a scheduled "
                             "job cannot carry; use a path without one")
    return values


def run_tool(argv: list[str], *, input_bytes: bytes | None = None,
             check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run a scheduler's own tool (systemctl, crontab, ...); bytes in and out, so a
    crontab's CRLF and non-UTF-8 bytes pass through untouched."""
    try:
        proc = subprocess.run(argv, input=input_bytes, capture_output=True,
                              timeout=PROBE_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise PayprobeError(f"{argv[0]} not found; cannot manage the schedule here") from None
    except subprocess.TimeoutExpired:
        raise PayprobeError(f"{argv[0]} did not answer within {PROBE_TIMEOUT_S:.0f} s") from None
    if check and proc.returncode != 0:
        detail = output_text(proc).strip().splitlines()
        raise PayprobeError(f"`{' '.join(argv[:3])}` failed (exit {proc.returncode})"
                            + (f": {detail[-1]}" if detail else ""))
    return proc


def output_text(proc: subprocess.CompletedProcess[bytes]) -> str:
    """A tool's stderr, or else its stdout, as text (for messages only)."""
    return (proc.stderr or proc.stdout or b"").decode("utf-8", errors="replace")


def stdout_text(proc: subprocess.CompletedProcess[bytes]) -> str:
    return (proc.stdout or b"").decode("utf-8", errors="replace")
