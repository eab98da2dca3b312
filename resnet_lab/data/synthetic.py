"""CIFAR-shaped synthetic data, generated in memory and deterministic from a seed.

Each class is a smooth random pattern, symmetric left-right (so flips keep the class) and
coarse (so 4-pixel crops keep it). An image is its class pattern at a random contrast plus
smooth noise: learnable by a small net within a few hundred iterations, but not at once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..signatures import takes
from .datamodule import InMemoryDataModule, InMemoryOptions
from .pipeline import seeded_generator


def _smooth(n: int, channels: int, size: int, cells: int, g: torch.Generator) -> torch.Tensor:
    low = torch.randn(n, channels, cells, cells, generator=g)
    return F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)


def make_synthetic(seed: int, train_size: int, test_size: int, num_classes: int = 10,
                   channels: int = 3, image_size: int = 32, noise: float = 0.8):
    """Return ``(train_x, train_y, test_x, test_y)`` like the file-backed data sets."""
    g = seeded_generator(seed, 0)
    patterns = _smooth(num_classes, channels, image_size, 4, g)
    patterns = (patterns + patterns.flip(-1)) / 2
    patterns = patterns / patterns.flatten(1).std(1)[:, None, None, None]

    def sample(n: int, stream: int):
        gs = seeded_generator(seed, stream)
        y = torch.randint(0, num_classes, (n,), generator=gs)
        contrast = torch.empty(n, 1, 1, 1).uniform_(0.5, 1.5, generator=gs)
        smooth_noise = _smooth(n, channels, image_size, 8, gs)
        smooth_noise = smooth_noise / smooth_noise.flatten(1).std(1)[:, None, None, None]
        x = contrast * patterns[y] + noise * 2.0 * smooth_noise
        x = (0.5 + 0.12 * x).clamp_(0, 1).mul_(255).round_().to(torch.uint8)
        return x, y

    return (*sample(train_size, 1), *sample(test_size, 2))


@takes(InMemoryOptions)
class Synthetic(InMemoryDataModule):
    """``make_synthetic``'s images from ``seed`` (the data's own seed: every run seed sees the same
    data set), ``train_size`` + ``val_size`` training and ``test_size`` test images."""

    def __init__(self, seed: int, train_size: int, test_size: int, noise: float, num_classes: int,
                 channels: int, image_size: int, **options) -> None:
        super().__init__(**options)
        self.cfg.update(seed=seed, train_size=train_size, test_size=test_size, noise=noise,
                        num_classes=num_classes, channels=channels, image_size=image_size)

    def load_arrays(self):
        d = self.cfg
        arrays = make_synthetic(d["seed"], d["train_size"] + d["val_size"], d["test_size"],
                                d["num_classes"], d["channels"], d["image_size"], d["noise"])
        return arrays, f"generated in memory (data.seed={d['seed']})"
