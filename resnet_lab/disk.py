"""A disk that refuses a run's records (full, over quota, read-only, not ours) ends the run with
one sentence naming the directory and, when full, the free space the write needs, instead of an
``OSError`` traceback or torch's "unexpected pos". The checkpoint written before stays whole
(``checkpoints.AtomicCheckpointIO`` writes beside it and renames), so the same command resumes
once there is room."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

from .errors import ResnetLabError

FULL = {errno.ENOSPC, errno.EDQUOT}
NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}


class DiskError(ResnetLabError):
    """A directory of the run cannot take its records."""


def _existing(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def free_bytes(folder: str | Path) -> int:
    try:
        return shutil.disk_usage(_existing(Path(folder))).free
    except OSError:
        return 0


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def disk_error(folder: str | Path, e: BaseException, needed: int | None = None,
               what: str = "the run's records") -> DiskError | None:
    """The one-sentence ``DiskError`` for ``e``, raised while writing ``what`` in ``folder``,
    or None when ``e`` is no disk's refusal. torch's writer reports a full disk as a
    RuntimeError ("unexpected pos"); it counts as one when less than ``needed`` is free."""
    folder = Path(folder)
    code = getattr(e, "errno", None)
    free = free_bytes(folder)
    if code in FULL or (isinstance(e, RuntimeError) and needed is not None and free < needed):
        need = f" needs about {_mb(needed)} free there, {_mb(free)} are" if needed else f" ({_mb(free)} free)"
        return DiskError(f"no space left in {folder}: writing {what}{need}; free some space and run "
                         f"the same command again (the last checkpoint is intact, the run resumes "
                         f"from it).")
    if code in NOT_WRITABLE:
        return DiskError(f"{folder} is not writable ({os.strerror(code)}); give the runs a writable "
                         f"directory with paths.output_root=<dir> (or hydra.run.dir / "
                         f"hydra.sweep.dir).")
    return None


def check_writable(folder: str | Path) -> None:
    """Raise ``DiskError`` when ``folder`` (or, while it does not exist, the nearest folder
    above it, where it would be made) cannot take a file: tried, since permission bits say
    nothing to root and a full disk has none to say."""
    probe_in = _existing(Path(folder))
    try:
        fd, probe = tempfile.mkstemp(dir=probe_in, prefix=".resnet_lab-write-test-")
    except OSError as e:
        error = disk_error(probe_in, e)
        if error is None:
            raise
        raise error from e
    os.close(fd)
    os.unlink(probe)
