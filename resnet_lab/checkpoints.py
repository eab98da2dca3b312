"""Reading checkpoints safely: tensors and plain data only, never pickled code."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from .disk import disk_error
from .errors import ResnetLabError


class CheckpointError(ResnetLabError):
    """A checkpoint is unreadable, or holds objects that could execute code when loaded."""


def load_checkpoint(path: str | Path) -> dict:
    """``torch.load`` with ``weights_only=True``: a checkpoint carrying anything but tensors and
    plain Python data (a tampered or foreign file) is refused with a clear message."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "GLOBAL" not in str(e):  # not an unsafe object: the file is simply not a checkpoint
            raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or not a torch file).") from e
        raise CheckpointError(
            f"refusing to load {path}: it holds Python objects other than tensors and plain data "
            f"(a tampered or foreign checkpoint; resnet_lab loads weights only, never pickled code).") from e
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(e).__name__}: {e}).") from e
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{path} is not a resnet_lab/Lightning checkpoint (no state_dict).")
    return ckpt


def read_checkpoint_step(path: str | Path) -> int:
    """The iteration a checkpoint was saved at."""
    return int(load_checkpoint(path).get("global_step", 0))


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written to a temporary file in the same folder, flushed to disk, then renamed
    over the old one: a kill at any moment leaves either the old or the new checkpoint, never a
    truncated one. Temporary files of an earlier, killed save are removed."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f".{path.name}.tmp-*"):
            stale.unlink(missing_ok=True)
        tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except (OSError, RuntimeError) as e:  # a full or read-only disk: one sentence (disk.py)
            # what it needs: the tensors' bytes, or the checkpoint it replaces when larger
            needed = max(nbytes(checkpoint), path.stat().st_size if path.is_file() else 0)
            error = disk_error(path.parent, e, needed, f"{path.name}")
            if error is None:
                raise
            raise error from e
        finally:
            tmp.unlink(missing_ok=True)


def nbytes(obj: Any) -> int:
    """The bytes of the tensors in a (nested) checkpoint dict."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(nbytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(nbytes(v) for v in obj)
    return 0
