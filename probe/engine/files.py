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
| a path the user chose        | written into, never replaced: a symlink stays a link, a    |
| (``--output``)               | device (``/dev/null``), ``/dev/stdout`` or a FIFO gets the |
|                              | bytes, a file keeps its inode and mode; new files 0600     |

Atomic replacement (in our own folders) means a full disk or a Ctrl-C never
leaves half a file there. A path the user chose is theirs: replacing it would
turn /dev/null (as root) or a symlink into a regular file.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path

from payprobe.engine.errors import UsageError

DEFAULT_MAX_INPUT_BYTES = 64 << 20
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N
_STD_STREAM = re.compile(r"/dev/(stdout|stderr)|/(?:dev/fd|proc/self/fd)/(\d+)")


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


def _std_stream_fd(path: str) -> int | None:
    """The descriptor a /dev/stdout-like path names, or None.

    Writing to the descriptor we already hold keeps what the shell set up
    (``>> log`` appends); opening /proc/self/fd/1 anew would truncate the log.
    """
    match = _STD_STREAM.fullmatch(os.path.normpath(path))
    if match is None:
        return None
    return int(match.group(2)) if match.group(2) else {"stdout": 1, "stderr": 2}[match.group(1)]


def is_std_stream(path: str | Path) -> bool:
    """True for /dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N."""
    return _std_stream_fd(str(path)) is not None


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view):]


def write_output(path: Path | str, data: str | bytes, *, mode: int = PRIVATE_FILE_MODE) -> Path:
    """Write to a path the user chose (``--output``): into it, never replacing it.

    Whatever is there stays what it is: a symlink stays a link and its target
    is written; a device (/dev/null, /dev/full), /dev/stdout or a FIFO receives
    the bytes; an existing file keeps its inode, owner and mode. A new file is
    created with ``mode``. OSError on failure (/dev/full: ENOSPC).
    """
    payload = _encode(data)
    std_fd = _std_stream_fd(str(path))
    if std_fd is not None:
        _write_all(std_fd, payload)
        return Path(path)
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, mode)   # follows a symlink, as a shell's > does
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
        if regular:
            os.ftruncate(fd, 0)   # only now: truncating on open would empty a file we then fail to write
        _write_all(fd, payload)
        if regular:
            os.fsync(fd)
    finally:
        os.close(fd)
    return Path(path)


def check_output_path(output: str) -> None:
    """Refuse an --output that cannot be written, before the run (UsageError).

    Nothing is opened (a FIFO would block) and nothing is resolved by hand:
    /dev/stdout is a link to /proc/self/fd/1, which names a pipe that no
    folder holds.
    """
    if _std_stream_fd(output) is not None:
        return
    try:
        info: os.stat_result | None = os.stat(output)   # follows links, opens nothing
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise UsageError(f"--output {output}: {exc.strerror or exc}") from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise UsageError(f"--output {output}: is a directory")
        if not os.access(output, os.W_OK):
            raise UsageError(f"--output {output}: not writable")
        return
    parent = Path(os.path.realpath(output)).parent   # a dangling link is created where it points
    if not parent.is_dir():
        raise UsageError(f"--output {output}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"--output {output}: not writable")
