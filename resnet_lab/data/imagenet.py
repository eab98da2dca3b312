"""ImageNet (or any ImageFolder data set) with the paper's augmentation and testing (Sec. 3.4).

Training: scale augmentation, a random crop or its flip, PCA lighting, mean subtraction.
Normalisation (``data.normalize``): ``per_pixel_mean`` (the paper) subtracts the mean image of
``data.mean_sample`` training images, resized and center-cropped as at test time, cached in a file
in the data root (``mean_image_file``); ``per_channel`` uses torchvision's fixed mean and std.
Testing (``data.test_mode``): center crop, 10-crop, or multiscale (``module.averaged_softmax``
averages the views' softmax scores).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torchvision import datasets
from torchvision.transforms import v2

from ..errors import DataCorruptError, DataNotFoundError

# ``data.normalize=per_channel``: torchvision's fixed ImageNet mean and std (common practice).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# AlexNet's PCA colour augmentation ("standard colour augmentation" in the paper, [21]): the
# eigenvalues and eigenvectors of ImageNet's RGB covariance (pixels in [0, 1]), as fb.resnet.torch.
EIGVAL = torch.tensor([0.2175, 0.0188, 0.0045])
EIGVEC = torch.tensor([[-0.5675, 0.7192, 0.4009],
                       [-0.5808, -0.0045, -0.8140],
                       [-0.5836, -0.6948, 0.4203]])
# The test modes (``data.test_mode``, registry.TEST_MODES): one center crop (Figure 4's
# validation curves), the standard 10-crop testing (Tables 2 and 3), the fully-convolutional form
# averaged over scales (Tables 4 and 5; the scales are ``data.test_scales``, the paper's
# {224, 256, 384, 480, 640}).


class Lighting(torch.nn.Module):
    """Add a random combination of the RGB principal components to the whole image."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = std

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        alpha = torch.randn(3) * self.std
        rgb = (EIGVEC * alpha * EIGVAL).sum(1)
        return img + rgb[:, None, None]


class SubtractMean(torch.nn.Module):
    """``data.normalize=per_pixel_mean``: subtract the training images' mean image (C, H, W)
    from an image or a stack of views (..., C, H, W) of the same size; no division by a std."""

    def __init__(self, mean: torch.Tensor) -> None:
        super().__init__()
        self.mean = mean

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return img - self.mean


class TenCrops(torch.nn.Module):
    """The four corner crops and the center crop of ``size``, then the horizontal reflection of
    each of those five (AlexNet's definition; torchvision's TenCrop instead crops the reflected
    image, whose center crop is shifted by a pixel where the margin is odd), as one
    (10, C, size, size) tensor."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        crops = [c.as_subclass(torch.Tensor) for c in v2.functional.five_crop(img, [self.size])]
        return torch.stack(crops + [c.flip(-1) for c in crops])


def normalization(d, mean_image: torch.Tensor | None, whole_image: bool = False) -> torch.nn.Module:
    """The last step of every transform: ``data.normalize``. ``per_pixel_mean`` subtracts the
    training images' mean image (``mean_image``, see ``mean_image``); on whole images of any
    size (``whole_image``: multiscale testing) its per-channel average, since a mean image of
    the crop size has no pixel-for-pixel counterpart there."""
    if d["normalize"] == "per_channel":
        return v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)
    if mean_image is None:
        raise ValueError("data.normalize=per_pixel_mean needs the training images' mean image")
    return SubtractMean(mean_image.mean((1, 2), keepdim=True) if whole_image else mean_image)


def train_transform(d, mean_image: torch.Tensor | None = None) -> v2.Compose:
    """The paper's (Sec. 3.4): shorter side resized to a random size in ``scale_range``, a
    random ``image_size`` crop or its horizontal flip, PCA lighting (AlexNet's colour
    augmentation), mean subtraction. ``color_jitter`` > 0 adds torchvision's ColorJitter, which
    is beyond the paper (default 0)."""
    lo, hi = d["scale_range"]
    steps = [
        v2.ToImage(),
        # shorter side resized to a random size in [lo, hi] ("scale augmentation")
        v2.RandomShortestSize(min_size=list(range(lo, hi + 1)), antialias=True),
        v2.RandomCrop(d["image_size"]),
        v2.RandomHorizontalFlip(),
    ]
    if d.get("color_jitter"):  # beyond the paper
        j = d["color_jitter"]
        steps.append(v2.ColorJitter(brightness=j, contrast=j, saturation=j))
    steps.append(v2.ToDtype(torch.float32, scale=True))
    if d["lighting"]:
        steps.append(Lighting(d["lighting"]))
    steps.append(normalization(d, mean_image))
    return v2.Compose(steps)


def eval_resize(d) -> int:
    """The shorter side before a center crop or 10 crops: ``val_resize`` pixels (256 for the
    paper's 224 crops; like ``scale_range``, in pixels whatever ``image_size`` is)."""
    return d["val_resize"]


def center_views(d) -> list:
    """Shorter side to ``eval_resize``, the center ``image_size`` crop, as float in [0, 1]."""
    return [v2.ToImage(), v2.Resize(eval_resize(d), antialias=True), v2.CenterCrop(d["image_size"]),
            v2.ToDtype(torch.float32, scale=True)]


def eval_transform(d, mean_image: torch.Tensor | None = None) -> v2.Compose:
    """Single center crop, as Figure 4's validation curves."""
    return v2.Compose([*center_views(d), normalization(d, mean_image)])


def ten_crop_transform(d, mean_image: torch.Tensor | None = None) -> v2.Compose:
    """The standard 10-crop testing (AlexNet's, the paper's [21]): shorter side to
    ``eval_resize`` (256), the four corner and the center ``image_size`` crops and their
    horizontal flips: one (10, C, H, W) tensor per image."""
    return v2.Compose([
        v2.ToImage(), v2.Resize(eval_resize(d), antialias=True), v2.ToDtype(torch.float32, scale=True),
        TenCrops(d["image_size"]), normalization(d, mean_image)])


class MultiScale:
    """The fully-convolutional form's inputs: the whole image with its shorter side resized to
    each of ``scales``; a list of (C, H, W) tensors, one per scale (sizes differ)."""

    def __init__(self, scales, normalize: torch.nn.Module) -> None:
        self.scales, self.normalize = list(scales), normalize

    def __call__(self, img) -> list[torch.Tensor]:
        x = v2.functional.to_image(img)  # resized as uint8, as the crops are
        return [self.normalize(v2.functional.to_dtype(v2.functional.resize(x, [s], antialias=True),
                                                      torch.float32, scale=True)).as_subclass(torch.Tensor)
                for s in self.scales]


def transform_for_test_mode(d, mean_image: torch.Tensor | None = None):
    """The final test's transform for ``data.test_mode``."""
    mode = d.get("test_mode", "center")
    if mode == "ten_crop":
        return ten_crop_transform(d, mean_image)
    if mode == "multiscale":
        return MultiScale(d["test_scales"], normalization(d, mean_image, whole_image=True))
    return eval_transform(d, mean_image)


def collate_views(batch) -> tuple[list[list[torch.Tensor]], torch.Tensor]:
    """Batches of multiscale views: a list (per image) of lists (per scale) of tensors, and the
    labels; images of different sizes cannot be stacked."""
    return [views for views, _ in batch], torch.tensor([label for _, label in batch])


# ---------------------------------------------------------------- the per-pixel mean


def mean_image_file(root: str | Path, d, n_train: int) -> Path:
    """Where the mean image is cached: in the data root, named by what it depends on (crop
    size, resize, sample size, number of training images), so any change computes a new one."""
    k = min(d["mean_sample"], n_train)
    return (Path(root).expanduser().resolve()
            / f"resnet_lab_mean_image_{d['image_size']}px_resize{eval_resize(d)}_{k}of{n_train}.pt")


def sample_indices(n: int, k: int) -> list[int]:
    """``k`` of ``n`` indices, evenly spaced: ImageFolder's samples are sorted by class, so the
    sample covers every class alike, and it is the same on every machine."""
    k = min(k, n)
    return [i * n // k for i in range(k)]


class _Images(torch.utils.data.Dataset):
    """Images by path (the training folder's, already listed: ImageNet's is not scanned twice)."""

    def __init__(self, paths: list[str], loader, transform) -> None:
        self.paths, self.loader, self.transform = paths, loader, transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.transform(self.loader(self.paths[i]))


def compute_mean_image(train: datasets.ImageFolder, d, num_workers: int = 0) -> torch.Tensor:
    """The per-pixel mean (C, image_size, image_size) of ``data.mean_sample`` training images,
    each resized (shorter side ``eval_resize``) and center-cropped as at test time, in [0, 1]."""
    paths = [train.samples[i][0] for i in sample_indices(len(train), d["mean_sample"])]
    images = _Images(paths, train.loader, v2.Compose(center_views(d)))
    total, count = None, 0
    for x in torch.utils.data.DataLoader(images, batch_size=64, num_workers=num_workers):
        s = x.to(torch.float64).sum(0)
        total, count = (s if total is None else total + s), count + len(x)
    return (total / count).float()


def mean_image(train: datasets.ImageFolder, root: str | Path, d, num_workers: int = 0) -> torch.Tensor:
    """The training images' mean image: read from its cache file in the data root
    (``mean_image_file``), else computed and saved there (atomically); where the data root is
    not writable it is computed again in each run, with a warning."""
    path = mean_image_file(root, d, len(train))
    try:
        mean = torch.load(path, weights_only=True)
        if isinstance(mean, torch.Tensor) and mean.shape == (3, d["image_size"], d["image_size"]):
            return mean
    except Exception:  # noqa: BLE001 - absent or unreadable: computed again below
        pass
    mean = compute_mean_image(train, d, num_workers)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        os.close(fd)
        torch.save(mean, tmp)
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        warnings.warn(f"cannot cache the mean image in {path.parent} ({e}); it is computed again "
                      f"in every run", stacklevel=2)
    return mean


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
