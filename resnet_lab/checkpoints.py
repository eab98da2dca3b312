"""Reading checkpoints safely: tensors and plain data only, never pickled code."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

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
