"""Fashion-MNIST from its IDX files: Debian's dataset-fashion-mnist package (``system_dirs``,
empty when a data.root is given), `data.root`, or a torchvision download into it, in that order. Images are zero-padded from 28x28 to 32x32, one channel
(``data.channels=3``: the data module repeats it after normalization, ``datamodule.Replicated``)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from ..errors import DataCorruptError, DataNotFoundError
from ..signatures import takes
from .datamodule import InMemoryDataModule, InMemoryOptions
from .fetch import download_into

FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) as a numpy array."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise DataCorruptError(f"{path} cannot be read ({e}); replace it with a complete copy.") from e
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        raise DataCorruptError(f"{path} is not an IDX file; replace it with a complete copy.")
    ndim = data[3]
    dims = np.frombuffer(data, ">u4", count=ndim, offset=4).astype(int)
    dtype = np.dtype(IDX_DTYPES[data[2]])
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(data) - offset != expected:
        raise DataCorruptError(
            f"{path} is truncated or corrupt ({len(data) - offset} bytes of data, {expected} expected); "
            f"replace it with a complete copy.")
    return np.frombuffer(data, dtype, offset=offset).reshape(dims)


def _find(dirs: list[Path]) -> dict[str, Path] | None:
    """The first directory that holds all four files (.gz or not)."""
    for d in dirs:
        found = {}
        for key, name in FILES.items():
            for candidate in (d / name, d / f"{name}.gz"):
                if candidate.is_file():
                    found[key] = candidate
                    break
        if len(found) == len(FILES):
            return found
    return None


def _dirs(root: Path, system_dirs) -> list[Path]:
    return [Path(d) for d in system_dirs] + [root, root / "FashionMNIST" / "raw"]


def fashion_mnist_dir(root: str | Path, system_dirs=()) -> Path | None:
    """The directory ``load_fashion_mnist`` reads (the first that holds all four files)."""
    files = _find(_dirs(Path(root).expanduser().resolve(), system_dirs))
    return files["train_x"].parent if files else None


def _missing(root: Path, system_dirs, why: str) -> str:
    """Where Fashion-MNIST was looked for and where to put it. Debian's package is offered only
    where it is looked for: when data.root is not given (conf/data/fashion_mnist.yaml)."""
    files = f"the four IDX files ({', '.join(FILES.values())}, .gz or not)"
    package = "Debian's dataset-fashion-mnist (`sudo apt-get install dataset-fashion-mnist`)"
    if system_dirs:
        where = " nor ".join(str(d) for d in [*system_dirs, root])
        return f"Fashion-MNIST is not in {where}{why}; install {package} or put {files} in {root}."
    return (f"Fashion-MNIST is not in data.root={root}{why}; put {files} there, or leave data.root "
            f"unset to read {package}.")


def load_fashion_mnist(root: str | Path, system_dirs=(), download: bool = True):
    """Return ``(train_x, train_y, test_x, test_y)``: uint8 (N, 1, 32, 32) images, int64 labels."""
    root = Path(root).expanduser().resolve()
    dirs = _dirs(root, system_dirs)
    files = _find(dirs)
    if files is None and download:
        from torchvision.datasets import FashionMNIST

        def fetch():
            FashionMNIST(str(root), train=True, download=True)
            FashionMNIST(str(root), train=False, download=True)

        download_into(root, fetch, _missing(root, system_dirs, " and could not be downloaded ({reason})"))
        files = _find(dirs)
    if files is None:
        raise DataNotFoundError(_missing(root, system_dirs, ""))
    arrays = {k: read_idx(p) for k, p in files.items()}
    for split in ("train", "test"):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
            raise DataCorruptError(f"{files[split + '_x']} does not hold 28x28 images matching its labels.")

    def images(x):  # 28x28 -> 32x32 with 2 zero pixels each side, one channel
        return torch.nn.functional.pad(torch.from_numpy(x.copy()), (2, 2, 2, 2))[:, None]

    def labels(y):
        return torch.from_numpy(y.astype(np.int64))

    return (images(arrays["train_x"]), labels(arrays["train_y"]),
            images(arrays["test_x"]), labels(arrays["test_y"]))


@takes(InMemoryOptions)
class FashionMnist(InMemoryDataModule):
    """Fashion-MNIST from Debian's dataset-fashion-mnist (``system_dirs``), else ``root`` (the
    four IDX files, or torchvision's download into it when ``download`` is on). ``channels``: 1
    (the gray image, for a 1-channel stem) or 3 (replicated after normalisation, as torchvision's
    Grayscale(num_output_channels=3), for an RGB stem)."""

    def __init__(self, root: str, download: bool, system_dirs: list[str], channels: int,
                 **options) -> None:
        super().__init__(**options)
        self.cfg.update(root=root, download=download, system_dirs=list(system_dirs), channels=channels)

    def load_arrays(self):
        d = self.cfg
        arrays = load_fashion_mnist(d["root"], d["system_dirs"], d["download"])
        return arrays, str(fashion_mnist_dir(d["root"], d["system_dirs"]))
