"""The batched in-memory pipeline for the 32x32 data sets (CIFAR-10, Fashion-MNIST, synthetic).

The whole data set is one uint8 tensor on the training device; each batch is gathered,
padded, cropped, flipped and mean-subtracted as a batch, with no per-image Python work. On a
GPU this keeps the GPU busy with tiny nets such as ResNet-20; on a CPU it needs no worker
processes competing with training for the cores.

Determinism: the order and the augmentation of epoch ``e`` are drawn from a generator seeded
with ``(seed, e)``, and a stream starts at the trainer's global step. A run resumed mid-epoch
therefore sees exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, DistributedSampler


def seeded_generator(*keys: int) -> torch.Generator:
    """A CPU generator seeded from several integers (statistically independent streams)."""
    seed = int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1, np.uint64)[0])
    return torch.Generator().manual_seed(seed)


def draw_augmentation(n: int, pad: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop offsets (n, 2) in [0, 2*pad] and flip flags (n,), as torchvision's
    ``RandomCrop(size, padding=pad)`` and ``RandomHorizontalFlip()`` draw them."""
    offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5
    return offsets, flips


def pad_crop_flip(images: torch.Tensor, offsets: torch.Tensor | None, flips: torch.Tensor | None,
                  pad: int) -> torch.Tensor:
    """Zero-pad ``pad`` pixels on each side, crop back to the input size at ``offsets``
    (row, col), flip horizontally where ``flips``; batched, on any device and dtype.

    Equals, image by image, ``hflip(crop(pad(img, pad), i, j, H, W))`` of torchvision.
    """
    b, _, h, w = images.shape
    out = images
    if offsets is not None and pad > 0:
        padded = F.pad(images, (pad, pad, pad, pad))
        offsets = offsets.to(images.device)
        rows = offsets[:, 0, None] + torch.arange(h, device=images.device)  # (B, H)
        cols = offsets[:, 1, None] + torch.arange(w, device=images.device)  # (B, W)
        batch = torch.arange(b, device=images.device)[:, None, None]
        # advanced indices around a slice: the result is (B, H, W, C)
        out = padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    if flips is not None:
        out = torch.where(flips.to(images.device)[:, None, None, None], out.flip(3), out)
    return out


class Normalizer:
    """uint8 images -> float in [0, 1], minus the training set's mean image (``per_pixel_mean``,
    the paper), or minus per-channel mean and divided by per-channel std (``per_channel``)."""

    def __init__(self, train_images: torch.Tensor, mode: str = "per_pixel_mean") -> None:
        x = train_images.to(torch.float64) / 255.0
        if mode == "per_pixel_mean":
            self.mean = x.mean(0).float()  # (C, H, W)
            self.std = None
        else:
            self.mean = x.mean((0, 2, 3)).float()[:, None, None]
            self.std = x.std((0, 2, 3)).float()[:, None, None]
        self.mode = mode

    def to(self, device) -> Normalizer:
        self.mean = self.mean.to(device)
        if self.std is not None:
            self.std = self.std.to(device)
        return self

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float().div_(255.0).sub_(self.mean)
        return x.div_(self.std) if self.std is not None else x


class TrainStream:
    """Endless stream of augmented training batches, resumable from any iteration.

    ``batch_size`` is the global batch; under DDP each of ``world_size`` processes yields its
    ``batch_size // world_size`` slice of the same global batch. Epochs drop the last
    incomplete batch so every iteration has the paper's batch size.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        normalizer: Normalizer,
        seed: int,
        pad: int = 4,
        flip: bool = True,
        augment: bool = True,
        start_step: Callable[[], int] = lambda: 0,
        rank: int = 0,
        world_size: int = 1,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> None:
        if len(images) < batch_size:
            raise ValueError(f"{len(images)} training images are fewer than one batch of {batch_size}")
        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.normalizer, self.seed = normalizer, seed
        self.pad, self.flip, self.augment = pad, flip, augment
        self.start_step, self.rank, self.world_size = start_step, rank, world_size
        self.memory_format = memory_format
        self.steps_per_epoch = len(images) // batch_size
        self.local_batch = batch_size // world_size

    def epoch_plan(self, epoch: int):
        """Order, crop offsets and flips of one epoch, drawn on the CPU (the same on any device)."""
        g = seeded_generator(self.seed, epoch)
        n = len(self.images)
        order = torch.randperm(n, generator=g)
        offsets, flips = draw_augmentation(n, self.pad, g)
        dev = self.images.device
        return order.to(dev), offsets.to(dev), flips.to(dev)

    def batch(self, step: int, plan=None) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch of global iteration ``step`` (this process's slice of it)."""
        epoch, k = divmod(step, self.steps_per_epoch)
        order, offsets, flips = plan if plan is not None else self.epoch_plan(epoch)
        lo = k * self.batch_size + self.rank * self.local_batch
        idx = order[lo: lo + self.local_batch]
        x = self.images[idx]
        if self.augment:
            x = pad_crop_flip(x, offsets[idx], flips[idx] if self.flip else None, self.pad)
        x = self.normalizer(x).contiguous(memory_format=self.memory_format)
        return x, self.labels[idx]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        step = self.start_step()
        plan_epoch, plan = None, None
        while True:
            epoch = step // self.steps_per_epoch
            if epoch != plan_epoch:
                plan_epoch, plan = epoch, self.epoch_plan(epoch)
            yield self.batch(step, plan)
            step += 1

    # Lightning treats loaders with state_dict/load_state_dict as resumable mid-epoch; ours
    # resumes from the trainer's global step, so there is no state to keep.
    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class EvalBatches:
    """Fixed-order evaluation batches (no augmentation). Under DDP process ``rank`` takes
    every ``world_size``-th image; error counts are summed across processes, so the result is
    exact."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int,
                 normalizer: Normalizer, rank: int = 0, world_size: int = 1,
                 memory_format: torch.memory_format = torch.contiguous_format) -> None:
        self.images, self.labels = images[rank::world_size], labels[rank::world_size]
        self.batch_size, self.normalizer, self.memory_format = batch_size, normalizer, memory_format

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __iter__(self):
        for i in range(0, len(self.images), self.batch_size):
            x = self.normalizer(self.images[i: i + self.batch_size])
            yield x.contiguous(memory_format=self.memory_format), self.labels[i: i + self.batch_size]


class ResumableOrder(DistributedSampler):
    """The training order of a data set read from files (ImageFolder), resumable mid-epoch: the
    order of epoch ``e`` is a permutation drawn from ``(seed, e)``, and each image's random
    augmentation from ``(seed, e, position)`` (see ``SeededSamples``). The stream starts at the
    trainer's global step, so a run resumed mid-epoch sees exactly the batches, crops and flips
    an uninterrupted run would have seen, whatever the number of DataLoader workers.

    Under DDP process ``rank`` yields its ``batch_size // world_size`` slice of every global
    batch (a DistributedSampler, so Lightning leaves it in place). Epochs drop the last
    incomplete batch, as the in-memory ``TrainStream`` does.
    """

    def __init__(self, dataset, batch_size: int, seed: int, start_step: Callable[[], int] = lambda: 0,
                 rank: int = 0, world_size: int = 1) -> None:
        super().__init__(dataset, num_replicas=world_size, rank=rank, shuffle=False, drop_last=True)
        self.n, self.batch_size, self.seed, self.start_step = len(dataset), batch_size, seed, start_step
        self.local_batch = batch_size // world_size
        self.steps_per_epoch = self.n // batch_size
        if self.steps_per_epoch == 0:
            raise ValueError(f"{self.n} training images are fewer than one batch of {batch_size}")

    def __len__(self) -> int:
        return self.steps_per_epoch * self.local_batch

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, k = divmod(self.start_step(), self.steps_per_epoch)
        order = torch.randperm(self.n, generator=seeded_generator(self.seed, epoch)).tolist()
        # one seed per position of the epoch: the same image draws the same augmentation
        seeds = torch.randint(0, 2**62, (self.n,), generator=seeded_generator(self.seed, epoch, 1)).tolist()
        for b in range(k, self.steps_per_epoch):
            lo = b * self.batch_size + self.rank * self.local_batch
            for pos in range(lo, lo + self.local_batch):
                yield order[pos], seeds[pos]


class SeededSamples(Dataset):
    """A data set indexed by ``(index, seed)``: item ``index`` with its random transforms drawn
    from ``seed`` (torch's RNG, forked so nothing else's draws change)."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]):
        index, seed = key
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.dataset[index]
