"""One writer per run directory: a process holds ``<run dir>/.lock`` (``fcntl.flock``) while it
works there, so a second copy of the same command, or a second sweep into the same directory,
never trains the same run twice nor interleaves its rows with the first's.

The kernel drops the lock when its holder exits, however it ends (SIGKILL, a node's crash on a
local disk), so a lock of a dead process is taken over without a stale-lock rule. The file
keeps its holder's pid and host only to say who holds it. flock is advisory and local; on a
network file system it holds where the server supports it (NFSv4, Lustre with ``flock``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from .errors import ResnetLabError

LOCK = ".lock"


class RunDirBusy(ResnetLabError):
    """Another process holds the run directory; in a multirun, its job is skipped, not failed."""

    def __init__(self, run_dir: Path, who: str) -> None:
        super().__init__(f"{run_dir} is already running ({who}); wait for it to end, or stop that "
                         f"process (a run stopped by a signal or killed resumes from its checkpoint "
                         f"with the same command).")
        self.run_dir, self.who = run_dir, who


def _holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    pid, _, host = os.read(fd, 512).decode(errors="replace").strip().partition(" ")
    return f"pid {pid or '?'} on host {host or '?'}"


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise


def holder(run_dir: str | Path) -> str | None:
    """Who holds ``run_dir`` now ("pid N on host H"), or None when nobody does."""
    path = Path(run_dir) / LOCK
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        if _try_lock(fd):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        return _holder(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def hold(run_dir: str | Path) -> Iterator[None]:
    """Hold ``run_dir`` for this process, or raise ``RunDirBusy`` naming the holder. A directory
    this call had to create is removed again if the run left nothing else in it (a config
    refused before any work)."""
    run_dir = Path(run_dir)
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if not _try_lock(fd):
            raise RunDirBusy(run_dir, _holder(fd))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        try:
            yield
        finally:
            if created and [p.name for p in run_dir.iterdir()] == [LOCK]:
                path.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    run_dir.rmdir()
    finally:
        os.close(fd)  # releases the lock
