"""Files in and out: the one reader of files handed to us, the one writer.

Reading (config files, reports given to ``show`` or ``bundle``):
``read_input`` accepts only a regular file, and at most ``max_bytes`` of it, so
``--config /dev/zero`` or a FIFO is one clear error, not a hang or a full
memory. Every failure is one :class:`UsageError` sentence.

Writing:

| where                        | how                                                        |
|------------------------------|------------------------------------------------------------|
| our data dir (``private``)   | folders 0700; no symlink in the path below the data dir;   |
|                              | temp file + rename, mode 0600                              |
| a path the user chose        | a device, FIFO or socket is written through (``/dev/null``,|
| (``--output``)               | ``/dev/stdout``); a symlink is followed; a regular file    |
|                              | is replaced atomically (temp file + rename), mode 0600     |

Atomic replacement means a full disk or a Ctrl-C never leaves half a file.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from payprobe.engine.errors import UsageError

DEFAULT_MAX_INPUT_BYTES = 64 << 20
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


class UnsafePathError(OSError):
    """A path in our own folders that we will not write through (a symlink)."""


def read_input(path: object, expected: str, error: type[UsageError] = UsageError, *,
               max_bytes: int = DEFAULT_MAX_INPUT_BYTES) -> bytes:
    """The bytes of a regular file the user handed us, or ``error`` with one
    sentence naming the file and what was ``expected`` there ("a TOML file")."""
    p = Path(str(path))
    try:
        info = p.stat()   # stat() does not block on a FIFO, open() would
    except FileNotFoundError:
        raise error(f"{p}: no such file, expected {expected}") from None
    except OSError as exc:
        raise error(f"{p}: cannot read ({exc.strerror or exc}), expected {expected}") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{p}: is a directory, expected {expected}")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{p}: not a regular file, expected {expected}")
    try:
        with p.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{p}: cannot read ({exc.strerror or exc}), expected {expected}") from None
    if len(data) > max_bytes:
        raise error(f"{p}: larger than {max_bytes // 1024} KiB, expected {expected}")
    return data


def private_dir(folder: Path) -> Path:
    """Create ``folder`` (and parents) as 0700, whatever the umask; refuse a symlink."""
    folder = Path(folder)
    if folder.is_symlink():
        raise UnsafePathError(f"{folder}: is a symlink; payprobe keeps its own files in real folders")
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    for created in missing:
        try:
            os.chmod(created, PRIVATE_DIR_MODE)   # mkdir's mode is filtered by the umask
        except OSError:
            pass
    return folder


def _replace_atomically(path: Path, payload: bytes, mode: int) -> Path:
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


def _encode(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def write_atomic(path: Path | str, data: str | bytes, *, mode: int = PRIVATE_FILE_MODE) -> Path:
    """Write a file in payprobe's own folders: parents 0700, no symlink at the
    target or its folder, temp file + rename. OSError on failure, nothing half-written."""
    path = Path(path)
    for p in (path, path.parent):
        if p.is_symlink():
            raise UnsafePathError(f"{p}: is a symlink; payprobe does not write through links "
                                  "in its own folders")
    private_dir(path.parent)
    return _replace_atomically(path, _encode(data), mode)


def write_output(path: Path | str, data: str | bytes, *, mode: int = PRIVATE_FILE_MODE) -> Path:
    """Write to a path the user chose (``--output``): devices and FIFOs are
    written through, a symlink is followed, a regular file replaced atomically."""
    target = Path(os.path.realpath(path))
    payload = _encode(data)
    try:
        info = target.stat()
    except FileNotFoundError:
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode):
        with open(target, "wb") as fh:  # /dev/null, /dev/stdout, a FIFO: write, never replace
            fh.write(payload)
            fh.flush()
        return target
    return _replace_atomically(target, payload, mode)


def check_output_path(output: str) -> None:
    """Refuse an --output that cannot be written, before the run (UsageError)."""
    target = Path(os.path.realpath(output))
    if target.is_dir():
        raise UsageError(f"--output {output}: is a directory")
    if target.exists() and not target.is_file():     # a device or FIFO: written through
        if not os.access(target, os.W_OK):
            raise UsageError(f"--output {output}: not writable")
        return
    parent = target.parent
    if not parent.is_dir():
        raise UsageError(f"--output {output}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"--output {output}: not writable")
