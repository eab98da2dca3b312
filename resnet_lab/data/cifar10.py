"""CIFAR-10 through torchvision: downloaded when missing and online, a clear error otherwise."""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import CIFAR10
from torchvision.datasets.utils import check_integrity, extract_archive

from ..errors import DataCorruptError, DataNotFoundError
from ..signatures import takes
from .datamodule import InMemoryDataModule, InMemoryOptions
from .fetch import download_into

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def _where(root: Path) -> str:
    return (f"put cifar-10-python.tar.gz (from {URL}) or its extracted cifar-10-batches-py/ folder "
            f"in {root}, or point data.root at the folder that holds it")


def load_cifar10(root: str | Path, download: bool = True):
    """Return ``(train_x, train_y, test_x, test_y)``: uint8 NCHW images and int64 labels."""
    root = Path(root).expanduser().resolve()
    folder = root / CIFAR10.base_folder
    archive = root / CIFAR10.filename
    if not folder.is_dir():
        if archive.is_file():
            if not check_integrity(str(archive), CIFAR10.tgz_md5):
                raise DataCorruptError(
                    f"{archive} fails its MD5 check (truncated or corrupt download): delete it and "
                    f"{_where(root)}.")
            try:
                extract_archive(str(archive), str(root))
            except (tarfile.TarError, EOFError, OSError) as e:
                raise DataCorruptError(f"{archive} cannot be extracted ({e}): delete it and {_where(root)}.") from e
        elif download:
            download_into(root, lambda: CIFAR10(str(root), train=True, download=True),
                          f"CIFAR-10 is not in {root} and could not be downloaded ({{reason}}); {_where(root)}.")
        else:
            raise DataNotFoundError(f"CIFAR-10 is not in {root} (data.download=false); {_where(root)}.")
    try:
        train, test = CIFAR10(str(root), train=True), CIFAR10(str(root), train=False)
    except RuntimeError as e:  # torchvision: "Dataset not found or corrupted"
        raise DataCorruptError(
            f"{folder} is incomplete or corrupt (a batch file is missing or fails its MD5 check): "
            f"delete it and {_where(root)}.") from e
    except (pickle.UnpicklingError, EOFError, ValueError) as e:
        raise DataCorruptError(f"{folder} holds an unreadable batch file ({e}): delete it and {_where(root)}.") from e

    def tensors(ds):
        x = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2).contiguous()
        return x, torch.as_tensor(ds.targets, dtype=torch.int64)

    return (*tensors(train), *tensors(test))


@takes(InMemoryOptions)
class Cifar10(InMemoryDataModule):
    """CIFAR-10 (Sec. 4.2) from ``root``, downloaded there by torchvision when missing and
    ``download`` is on."""

    def __init__(self, root: str, download: bool, **options) -> None:
        super().__init__(**options)
        self.cfg.update(root=root, download=download)

    def load_arrays(self):
        root = self.cfg["root"]
        return load_cifar10(root, self.cfg["download"]), str(Path(root).expanduser().resolve())
