"""Files in and out: the one reader of files the user hands us, the one writer.

``read_input`` reads a file named on the command line or in the config and
turns every way that can go wrong into one :class:`UsageError` sentence.
``write_atomic`` writes through a temp file and a rename, so a full disk or a
Ctrl-C never leaves half a file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from payprobe.engine.errors import UsageError


def read_input(path: object, expected: str, error: type[UsageError] = UsageError) -> bytes:
    """The bytes of a file the user handed us, or ``error`` with one sentence
    naming the file and what was ``expected`` there ("a TOML file", ...)."""
    p = Path(str(path))
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise error(f"{p}: no such file, expected {expected}") from None
    except IsADirectoryError:
        raise error(f"{p}: is a directory, expected {expected}") from None
    except OSError as exc:
        raise error(f"{p}: cannot read ({exc.strerror or exc}), expected {expected}") from None


def write_atomic(path: Path | str, data: str | bytes, *, mode: int = 0o600) -> Path:
    """Write via a temp file in the same folder + rename: never a half-written file.

    On failure (full disk, permission) the temp file is removed and OSError raised.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # not on Windows
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
