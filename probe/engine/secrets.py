"""The per-device redaction salt, kept in the data dir.

Tokens in redacted reports (``addr-3f9a2c``) are salted hashes, so the same
address gets the same token across this device's runs and nobody else can
recompute them. When the data dir is not writable a per-process salt is used
(tokens then differ per run).
"""

from __future__ import annotations

import os
import secrets

from payprobe.engine import paths

_PROCESS_SALT: bytes | None = None


def _process_salt() -> bytes:
    global _PROCESS_SALT
    if _PROCESS_SALT is None:
        _PROCESS_SALT = secrets.token_bytes(16)
    return _PROCESS_SALT


def redaction_salt() -> bytes:
    """The salt: created once, 0600, in the data dir."""
    path = paths.data_dir() / "redact-salt"
    try:
        try:
            return bytes.fromhex(path.read_text(encoding="ascii").strip())
        except (FileNotFoundError, ValueError):
            path.parent.mkdir(parents=True, exist_ok=True)
            value = secrets.token_hex(16)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process won the race: use its salt
                return bytes.fromhex(path.read_text(encoding="ascii").strip())
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(value + "\n")
            return bytes.fromhex(value)
    except OSError:
        return _process_salt()
