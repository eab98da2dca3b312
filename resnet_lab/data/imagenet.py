"""ImageNet (or any ImageFolder data set) with the paper's augmentation (Sec. 3.4)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torchvision import datasets
from torchvision.transforms import v2

from ..errors import DataCorruptError, DataNotFoundError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# AlexNet's PCA colour augmentation ("standard colour augmentation" in the paper, [21]).
EIGVAL = torch.tensor([0.2175, 0.0188, 0.0045])
EIGVEC = torch.tensor([[-0.5675, 0.7192, 0.4009],
                       [-0.5808, -0.0045, -0.8140],
                       [-0.5836, -0.6948, 0.4203]])


class Lighting(torch.nn.Module):
    """Add a random combination of the RGB principal components to the whole image."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = std

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        alpha = torch.randn(3) * self.std
        rgb = (EIGVEC * alpha * EIGVAL).sum(1)
        return img + rgb[:, None, None]


def train_transform(d) -> v2.Compose:
    lo, hi = d["scale_range"]
    steps = [
        v2.ToImage(),
        # shorter side resized to a random size in [lo, hi] ("scale augmentation")
        v2.RandomShortestSize(min_size=list(range(lo, hi + 1)), antialias=True),
        v2.RandomCrop(d["image_size"]),
        v2.RandomHorizontalFlip(),
    ]
    if d["color_jitter"]:
        j = d["color_jitter"]
        steps.append(v2.ColorJitter(brightness=j, contrast=j, saturation=j))
    steps.append(v2.ToDtype(torch.float32, scale=True))
    if d["lighting"]:
        steps.append(Lighting(d["lighting"]))
    steps.append(v2.Normalize(IMAGENET_MEAN, IMAGENET_STD))
    return v2.Compose(steps)


def eval_transform(d) -> v2.Compose:
    """Single center crop, as Figure 4's validation curves."""
    resize = round(d["val_resize"] * d["image_size"] / 224)
    return v2.Compose([
        v2.ToImage(),
        v2.Resize(resize, antialias=True),
        v2.CenterCrop(d["image_size"]),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


def checked_loader(path: str) -> Image.Image:
    """PIL loader that names the broken file instead of failing deep inside a worker."""
    try:
        with open(path, "rb") as f:
            img = Image.open(f)
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise DataCorruptError(f"image {path} cannot be decoded ({e}); remove or replace it.") from e


def image_folders(root: str | Path, num_classes: int):
    """Check and open ``root``/train and ``root``/val; a clear error if they are not usable."""
    root = Path(root).expanduser().resolve()
    where = (f"put ImageNet's training and validation images in ImageFolder layout in {root} "
             f"(train/<class>/*.JPEG and val/<class>/*.JPEG), or point data.root at them")
    split_dirs = {s: root / s for s in ("train", "val")}
    for split, path in split_dirs.items():
        if not path.is_dir():
            raise DataNotFoundError(f"ImageNet {split} folder {path} does not exist; {where}.")
    out = {}
    for split, path in split_dirs.items():
        try:
            ds = datasets.ImageFolder(str(path), loader=checked_loader)
        except FileNotFoundError as e:  # no class folders, or no images in them
            raise DataNotFoundError(f"{path} holds no images in class folders ({e}); {where}.") from e
        if len(ds.classes) != num_classes:
            raise DataCorruptError(
                f"{path} has {len(ds.classes)} class folders but data.num_classes={num_classes}; "
                f"set data.num_classes={len(ds.classes)} or fix the folder.")
        out[split] = ds
    if out["train"].classes != out["val"].classes:
        raise DataCorruptError(f"{root}/train and {root}/val have different class folders.")
    return out["train"], out["val"]


def default_workers(devices: int) -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(0, min(8, cpus // max(1, devices) - 1))
