"""Issue 13, "Files": what payprobe writes, where, and with what permissions.

Each test names the defect it guards, as the issue words it, and says why the
code as it landed before the issue (commit 68a4c71) fails it. Runs use only the
``device`` check: local, quick, and no network.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from payprobe.agent import alerts
from payprobe.engine import files, paths, secrets

from tests.helpers import ROOT, run_cli
from tests.test_history import make_report

HEALTH_CODES = (0, 1, 2)   # healthy, degraded, unhealthy: the run finished and wrote its report


def run_device(*extra: str) -> Any:
    return run_cli("run", "--only", "device", "-q", "-f", "json", *extra)


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def device_copy(tmp_path: Path, name: str, major: int, minor: int) -> Path:
    """A character device like /dev/null or /dev/full, in tmp_path (needs root)."""
    path = tmp_path / name
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(major, minor))
    return path


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


# ------------------------------------------------------------------ --output is written into


def test_run_output_when_symlink_writes_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    # Defect: --output replaced its target: a symlink became a regular file. 68a4c71 wrote
    # every --output with temp file + rename, which replaces the link itself.
    target = tmp_path / "real.json"
    target.write_text("old")
    target.chmod(0o640)
    inode = target.stat().st_ino
    link = tmp_path / "link.json"
    link.symlink_to(target)
    result = run_device("--output", str(link))
    assert result.exit_status in HEALTH_CODES, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["schema_version"] == 1
    assert target.stat().st_ino == inode and stat.S_IMODE(target.stat().st_mode) == 0o640


def test_run_output_when_existing_file_writes_into_it_keeping_inode_and_mode(tmp_path: Path) -> None:
    # The same defect for a plain file: its inode, mode and hard links are the user's.
    target = tmp_path / "out.json"
    target.write_text("x" * 100_000)
    target.chmod(0o644)
    twin = tmp_path / "twin.json"
    os.link(target, twin)
    result = run_device("--output", str(target))
    assert result.exit_status in HEALTH_CODES, result.stderr
    assert json.loads(twin.read_text())["schema_version"] == 1      # no stale tail either
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_run_output_when_new_file_creates_it_0600_under_umask_000(tmp_path: Path) -> None:
    # Guard, not a 68a4c71 failure: writing into paths (not replacing them) must keep new files private.
    target = tmp_path / "new.json"
    with umask(0):
        result = run_device("--output", str(target))
    assert result.exit_status in HEALTH_CODES, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_run_output_when_dev_null_stays_a_character_device(tmp_path: Path) -> None:
    # Defect: /dev/null became a regular file (as root, the system's own); as a normal user
    # --output /dev/null was refused. 68a4c71 replaced it with temp file + rename. As root
    # a private copy is tried first, so a regression cannot take the system's /dev/null.
    candidates = [device_copy(tmp_path, "null", 1, 3)] if is_root() else []
    for null in [*candidates, Path("/dev/null")]:
        result = run_device("--output", str(null))
        assert result.exit_status in HEALTH_CODES, (null, result.stderr)
        assert stat.S_ISCHR(os.stat(null).st_mode), f"{null} is no longer a character device"


def test_run_output_when_dev_full_fails_in_one_sentence_and_stays_a_device(tmp_path: Path) -> None:
    # Defect: /dev/full became a regular file. Writing into it fails (ENOSPC): one sentence
    # that says where the report went instead.
    full = device_copy(tmp_path, "full", 1, 7) if is_root() else Path("/dev/full")
    if not full.exists():
        pytest.skip("no /dev/full here")
    result = run_device("--output", str(full))
    assert result.exit_status == 64
    assert "could not write" in result.stderr and "saved in" in result.stderr
    assert result.stderr.count("\n") == 1
    assert stat.S_ISCHR(os.stat(full).st_mode)


def test_run_output_when_dev_stdout_is_a_pipe_writes_the_report_to_it() -> None:
    # Defect: --output /dev/stdout was refused (and as root became a regular file). 68a4c71
    # resolved the link to /proc/self/fd/pipe:[N], a name no folder holds.
    proc = subprocess.run([sys.executable, "-m", "payprobe", "run", "--only", "device", "-q", "-f", "json",
                           "--output", "/dev/stdout"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=dict(os.environ))
    assert proc.returncode in HEALTH_CODES, proc.stderr
    assert json.loads(proc.stdout)["schema_version"] == 1


def test_write_output_when_dev_stdout_appends_to_what_the_shell_opened(tmp_path: Path) -> None:
    # `payprobe run -o /dev/stdout >> log` must append to the log, not truncate it.
    log = tmp_path / "log"
    log.write_text("earlier\n")
    code = ("import sys; from payprobe.engine import files; "
            "files.write_output('/dev/stdout', 'report\\n')")
    with log.open("a") as fh:
        subprocess.run([sys.executable, "-c", code], stdout=fh, check=True, timeout=60)
    assert log.read_text() == "earlier\nreport\n"


def test_run_output_when_fifo_writes_through_it(tmp_path: Path) -> None:
    # Defect: a FIFO given to --output was replaced by a regular file (68a4c71: temp + rename).
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = run_device("--output", str(fifo))
    reader.join(60)
    assert result.exit_status in HEALTH_CODES, result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(received[0])["schema_version"] == 1


def test_bundle_output_when_symlink_writes_its_target(tmp_path: Path) -> None:
    # bundle --output is a path the user chose too: the same writer as run --output.
    assert run_device().exit_status in HEALTH_CODES
    target = tmp_path / "real.zip"
    target.write_bytes(b"")
    link = tmp_path / "link.zip"
    link.symlink_to(target)
    result = run_cli("bundle", "--output", str(link))
    assert result.exit_status == 0, result.stderr
    assert link.is_symlink() and target.read_bytes().startswith(b"PK")


def test_bundle_output_when_dev_stdout_is_a_pipe_writes_only_the_zip(tmp_path: Path) -> None:
    assert run_device().exit_status in HEALTH_CODES
    proc = subprocess.run([sys.executable, "-m", "payprobe", "bundle", "--output", "/dev/stdout"],
                          capture_output=True, timeout=120, cwd=ROOT, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "b.zip").write_bytes(proc.stdout)
    assert proc.stdout.startswith(b"PK") and proc.stdout.endswith(b"\0\0")  # no path printed after it
    assert zipfile.is_zipfile(tmp_path / "b.zip")


# ------------------------------------------------------------------ the redaction salt


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", b"zz" * 16, b"0123", b"a" * 31 + b"\n",
                                     b"g" * 32])
def test_run_when_salt_file_is_corrupt_regenerates_it_and_writes_the_report(content: bytes) -> None:
    # Defect: a corrupt salt file made every run fail with "internal error" and no report.
    # 68a4c71 raised ValueError (UnicodeDecodeError for non-ASCII) from bytes.fromhex.
    salt_path = paths.data_dir() / "redact-salt"
    salt_path.parent.mkdir(parents=True)
    salt_path.write_bytes(content)
    result = run_device()
    assert result.exit_status in HEALTH_CODES, result.stderr
    assert json.loads(result.stdout)["redacted"] is True
    assert list(paths.reports_dir().glob("report-*.json"))
    fresh = salt_path.read_bytes().strip()
    assert len(fresh) == 32 and int(fresh, 16) >= 0 and fresh != content.strip()


@pytest.mark.parametrize("content", [b"", b"\n", b"   \n"])
def test_redaction_salt_when_file_is_empty_is_never_used(content: bytes) -> None:
    # Defect: an empty salt was accepted, so tokens were unsalted hashes anyone can recompute.
    # 68a4c71 returned bytes.fromhex("") == b"".
    salt_path = paths.data_dir() / "redact-salt"
    salt_path.parent.mkdir(parents=True)
    salt_path.write_bytes(content)
    salt = secrets.redaction_salt()
    assert len(salt) == secrets.SALT_BYTES
    assert salt_path.read_bytes().strip() == salt.hex().encode()


def test_redaction_salt_when_created_concurrently_is_never_empty_and_agreed() -> None:
    # Defect: the create-then-write race: 68a4c71 created the file empty (O_EXCL) and wrote
    # it afterwards, so a process reading in between got b"" as its salt.
    salts: list[bytes] = []
    barrier = threading.Barrier(8)

    def take() -> None:
        barrier.wait()
        salts.append(secrets.redaction_salt())
    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(salts) == 8 and all(len(s) == secrets.SALT_BYTES for s in salts)
    assert len(set(salts)) == 1


def test_redaction_salt_when_a_fifo_sits_there_does_not_hang() -> None:
    salt_path = paths.data_dir() / "redact-salt"
    salt_path.parent.mkdir(parents=True)
    os.mkfifo(salt_path)
    salt = secrets.redaction_salt()
    assert len(salt) == secrets.SALT_BYTES


def test_redaction_salt_is_0600_under_umask_000() -> None:
    # Guard, not a 68a4c71 failure: 68a4c71 created it 0600 with O_EXCL; the complete-file creation must too.
    with umask(0):
        secrets.redaction_salt()
    assert stat.S_IMODE((paths.data_dir() / "redact-salt").stat().st_mode) == 0o600


# ------------------------------------------------------------------ the data dir


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in [root, *root.rglob("*")]}


def test_run_when_umask_000_keeps_data_folders_0700_and_files_0600() -> None:
    # Defect: data folders were created 0755 (0777 under umask 000). 68a4c71 used plain
    # mkdir(parents=True) for the data dir, reports, bundles and the alert state.
    with umask(0):
        assert run_device("--ticket").exit_status in HEALTH_CODES
    modes = _modes(paths.data_dir())
    assert {"reports", "bundles", "alert-state.json", "redact-salt"} <= set(modes)
    for name, mode in modes.items():
        is_dir = (paths.data_dir() / name).is_dir() if name != "." else True
        assert mode == (0o700 if is_dir else 0o600), f"{name}: {oct(mode)}"


def test_alerts_when_umask_000_create_the_data_dir_0700_and_state_0600() -> None:
    # Defect: alert-state.json was written 0644 (0666 under umask 000); its folder 0777.
    # 68a4c71 opened it with open(path, "a+") after a plain mkdir.
    with umask(0):
        alerts.on_report(_settings(), make_report("unhealthy"), io.StringIO())
    assert stat.S_IMODE(paths.data_dir().stat().st_mode) == 0o700
    assert stat.S_IMODE(alerts._state_path().stat().st_mode) == 0o600


def _settings() -> Any:
    return SimpleNamespace(alerts=SimpleNamespace(notify=False, webhook_url=""), ca_file="")


@pytest.mark.parametrize("name", [alerts.STATE_FILE, alerts.LOCK_FILE])
def test_alerts_when_state_file_is_a_symlink_refuse_it_and_leave_the_target_alone(
        name: str, tmp_path: Path) -> None:
    # Defect: alert-state.json followed symlinks. 68a4c71 opened it with open(path, "a+"),
    # writing the state into whatever file the link named.
    victim = tmp_path / "victim"
    victim.write_text("precious")
    paths.data_dir().mkdir(parents=True)
    link = paths.data_dir() / name
    link.symlink_to(victim)
    err = io.StringIO()
    assert alerts.on_report(_settings(), make_report("unhealthy"), err) is False
    assert "symbolic link" in err.getvalue()
    assert link.is_symlink() and victim.read_text() == "precious"


def test_alerts_when_state_file_is_a_fifo_refuse_it_without_hanging() -> None:
    paths.data_dir().mkdir(parents=True)
    os.mkfifo(alerts._state_path())
    err = io.StringIO()
    assert alerts.on_report(_settings(), make_report("unhealthy"), err) is False
    assert "not a regular file" in err.getvalue()


def test_write_atomic_when_target_in_data_dir_is_a_symlink_refuses_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    folder = files.private_dir(paths.data_dir())
    (folder / "x.json").symlink_to(victim)
    with pytest.raises(files.UnsafePathError):
        files.write_atomic(folder / "x.json", "{}")
    assert victim.read_text() == "precious"
