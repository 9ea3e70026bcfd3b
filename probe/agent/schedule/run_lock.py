"""The run lock: a watch and scheduled runs never overlap.

An exclusive lock on ``run.lock`` in the data dir, held by a watch for its whole
life and by a scheduled run for its run. The OS drops it when the process dies,
so a crash never leaves a stale lock. flock() where there is one (Linux, Android,
macOS, BSD), msvcrt.locking() on Windows.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TextIO

from payprobe.engine import files, paths
from payprobe.engine.errors import PayprobeError
from payprobe.engine.exitcodes import ExitStatus

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

# sysexits EX_TEMPFAIL, "try again later": what a run gets when another holds the lock.
EXIT_BUSY = ExitStatus.BUSY


class BusyError(PayprobeError):
    """Another watch or scheduled run holds the run lock."""

    exit_code = ExitStatus.BUSY


class RunLock:
    """``with RunLock().acquire("payprobe watch"):`` ... released on exit."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else paths.data_dir() / "run.lock"
        self._fh: TextIO | None = None

    def acquire(self, what: str) -> RunLock:
        files.private_dir(self.path.parent)
        # Our own file, 0600, never through a symlink somebody left in the data dir.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o600)
        fh = os.fdopen(fd, "a+", encoding="utf-8")
        try:
            if not _try_lock(fh):
                fh.seek(0)
                holder = fh.read().strip() or "another payprobe"
                fh.close()
                raise BusyError(f"not starting: {holder} is running and holds {self.path}; "
                                "two runs must not overlap (stop it first, or wait)")
            fh.seek(0)
            fh.truncate()
            fh.write(f"{what} (pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')})")
            fh.flush()
        except BaseException:
            if not fh.closed:
                fh.close()
            raise
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is None:
            return
        try:
            self._fh.seek(0)
            self._fh.truncate()
            _unlock(self._fh)
        except OSError:
            pass
        self._fh.close()
        self._fh = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


if sys.platform == "win32":  # pragma: no cover - Windows only

    def _try_lock(fh: TextIO) -> bool:
        fh.seek(0)
        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fh: TextIO) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)

else:

    def _try_lock(fh: TextIO) -> bool:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError:
            # A filesystem without locks (some Android mounts): better to run than never to.
            return True
        return True

    def _unlock(fh: TextIO) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
