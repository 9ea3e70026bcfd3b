"""The per-device redaction salt, kept in the data dir.

Tokens in redacted reports (``addr-3f9a2c``) are salted hashes, so the same
address gets the same token across this device's runs and nobody else can
recompute them. The salt file holds 32 hex digits. It is created complete (a
temp file linked into place), so another process never reads it half written;
one that is empty, short or not hex is replaced, never used: an empty salt
would make the tokens plain hashes anyone can recompute. When the data dir is
not writable, a per-process salt is used (tokens then differ per run).
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import tempfile
from pathlib import Path

from payprobe.engine import files, paths

SALT_BYTES = 16
_VALID = re.compile(rb"[0-9a-f]{%d}" % (2 * SALT_BYTES))
_PROCESS_SALT: bytes | None = None


def _process_salt() -> bytes:
    global _PROCESS_SALT
    if _PROCESS_SALT is None:
        _PROCESS_SALT = secrets.token_bytes(SALT_BYTES)
    return _PROCESS_SALT


def _read(path: Path) -> bytes | None:
    """The salt in ``path``; None when it is not 32 hex digits; FileNotFoundError when absent."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)   # O_NONBLOCK: a FIFO planted there cannot hang the run
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        raw = fh.read(4 * SALT_BYTES).strip()
    return bytes.fromhex(raw.decode("ascii")) if _VALID.fullmatch(raw) else None


def _create(path: Path, *, replace: bool) -> bytes:
    value = secrets.token_hex(SALT_BYTES)
    files.private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=".redact-salt.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(value + "\n")
        os.chmod(tmp, files.PRIVATE_FILE_MODE)
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)   # fails if another process created it first: use theirs
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    return bytes.fromhex(value)


def salt_file(path: Path) -> bytes:
    """The salt kept in ``path`` (created once, complete, 0600), never an empty
    or corrupt one; a per-process salt when the folder cannot hold it."""
    try:
        if path.is_symlink():
            raise files.UnsafePathError(f"{path}: is a symlink")
        try:
            salt = _read(path)
        except FileNotFoundError:
            try:
                return _create(path, replace=False)
            except FileExistsError:   # another process created it first: theirs is the salt
                salt = _read(path)
        if salt is not None:
            return salt
        return _create(path, replace=True)   # empty, short or corrupt: never use it
    except (OSError, UnicodeDecodeError, ValueError):
        return _process_salt()


def redaction_salt(path: Path | None = None) -> bytes:
    """The device's redaction salt: created once, 0600, in the data dir."""
    return salt_file(path or paths.data_dir() / "redact-salt")
