"""Lightning DataModules: the in-memory 32x32 data sets and ImageFolder (ImageNet)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader

from .cifar10 import load_cifar10
from .fashion_mnist import fashion_mnist_dir, load_fashion_mnist
from .imagenet import (
    collate_views,
    default_workers,
    eval_transform,
    image_folders,
    mean_image,
    train_transform,
    transform_for_test_mode,
)
from .pipeline import (
    EvalBatches,
    Normalizer,
    ResumableOrder,
    SeededSamples,
    TrainStream,
    seeded_generator,
)
from .synthetic import make_synthetic


def split_train_val(x: torch.Tensor, y: torch.Tensor, val_size: int, split_seed: int):
    """A seeded random split of the training set: (train_x, train_y, val_x, val_y)."""
    order = torch.randperm(len(x), generator=seeded_generator(split_seed, 12345))
    val, train = order[:val_size], order[val_size:]
    return x[train], y[train], x[val], y[val]


class Replicated:
    """A normalizer whose 1-channel output is repeated to ``channels`` identical channels
    (``data.channels=3`` for Fashion-MNIST, as torchvision's Grayscale(num_output_channels=3)).
    The data set stays one channel in memory; each batch is augmented and normalized as one
    channel, then expanded (the loaders make it contiguous, one copy per batch)."""

    def __init__(self, normalizer: Normalizer, channels: int) -> None:
        self.normalizer, self.channels = normalizer, channels

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = self.normalizer(images)
        return x.expand(-1, self.channels, -1, -1)


class InMemoryDataModule(L.LightningDataModule):
    """CIFAR-10, Fashion-MNIST or synthetic data held as one uint8 tensor (see ``pipeline``).
    ``source`` (after ``load``) says where the images came from: the directory actually read.

    ``eval_names`` are the evaluation sets of Lightning's validation loop during training (in
    the order of ``val_dataloader``): ``["val", "test"]``, or ``["test"]`` when ``val_size`` is 0.
    """

    def __init__(self, cfg: Mapping[str, Any], seed: int = 0) -> None:
        super().__init__()
        self.cfg, self.seed = dict(cfg), seed
        self._arrays = None
        self.memory_format = torch.contiguous_format
        self.eval_names = ["val", "test"] if self.cfg["val_size"] > 0 else ["test"]

    # ---------------------------------------------------------------- loading
    def load(self):
        """Load (or generate) the arrays once; raises DataNotFoundError / DataCorruptError."""
        if self._arrays is None:
            d = self.cfg
            if d["name"] == "cifar10":
                arrays = load_cifar10(d["root"], d["download"])
                self.source = str(Path(d["root"]).expanduser().resolve())
            elif d["name"] == "fashion_mnist":
                arrays = load_fashion_mnist(d["root"], d["system_dirs"], d["download"])
                self.source = str(fashion_mnist_dir(d["root"], d["system_dirs"]))
            else:
                arrays = make_synthetic(d["seed"], d["train_size"] + d["val_size"], d["test_size"],
                                        d["num_classes"], d["channels"], d["image_size"], d["noise"])
                self.source = f"generated in memory (data.seed={d['seed']})"
            train_x, train_y, test_x, test_y = arrays
            train_x, train_y, val_x, val_y = split_train_val(train_x, train_y, d["val_size"], d["split_seed"])
            self._arrays = dict(train=(train_x, train_y), val=(val_x, val_y), test=(test_x, test_y))
        return self._arrays

    def prepare_data(self) -> None:
        self.load()

    def setup(self, stage: str | None = None) -> None:
        device = torch.device("cpu")
        if self.cfg["device"] == "auto" and self.trainer is not None:
            device = self.trainer.strategy.root_device
        self.place(device)

    def place(self, device: torch.device) -> None:
        """Hold the data set (uint8) and its mean image on ``device``."""
        arrays = self.load()
        self.device = device
        self.normalizer = Normalizer(arrays["train"][0], self.cfg["normalize"]).to(device)
        stored, wanted = arrays["train"][0].shape[1], self.cfg["channels"]
        if wanted != stored:
            if stored != 1:
                raise ValueError(f"{stored}-channel images cannot be given as {wanted} channels")
            self.normalizer = Replicated(self.normalizer, wanted)
        self.on_device = {k: (x.to(device), y.to(device)) for k, (x, y) in arrays.items()}

    # ---------------------------------------------------------------- loaders
    def _dist(self) -> tuple[int, int]:
        t = self.trainer
        return (t.global_rank, t.world_size) if t is not None else (0, 1)

    def train_dataloader(self) -> TrainStream:
        rank, world = self._dist()
        aug = self.cfg["augment"]
        x, y = self.on_device["train"]
        trainer = self.trainer
        return TrainStream(
            x, y, self.cfg["batch_size"], self.normalizer, self.seed, pad=aug["pad"], flip=aug["flip"],
            augment=aug["enabled"], start_step=(lambda: trainer.global_step) if trainer else (lambda: 0),
            rank=rank, world_size=world, memory_format=self.memory_format)

    def _eval(self, split: str, subset: int | None) -> EvalBatches:
        rank, world = self._dist()
        x, y = self.on_device[split]
        if subset is not None:
            x, y = x[:subset], y[:subset]
        return EvalBatches(x, y, self.cfg["eval_batch_size"], self.normalizer, rank, world, self.memory_format)

    def val_dataloader(self) -> list[EvalBatches]:
        return [self._eval(name, self.cfg["eval_subset"]) for name in self.eval_names]

    def test_dataloader(self):
        return self._eval("test", None)

    # test_dataloader in one process is response_batches: the final test can record them
    responses_are_the_test = True

    def response_batches(self) -> EvalBatches:
        """The whole test set in one process (Figure 7's statistics)."""
        x, y = self.on_device["test"]
        return EvalBatches(x, y, self.cfg["eval_batch_size"], self.normalizer, 0, 1, self.memory_format)


class ImageFolderDataModule(L.LightningDataModule):
    """ImageNet from ``root``/train and ``root``/val. There is no labelled test set, so the
    final "test" is the validation set, in ``data.test_mode`` (center crop, 10-crop or
    multiscale); the validation curves during training are center crop."""

    eval_names = ["val"]

    def __init__(self, cfg: Mapping[str, Any], seed: int = 0) -> None:
        super().__init__()
        self.cfg, self.seed = dict(cfg), seed
        self._folders = None
        self.memory_format = torch.contiguous_format

    def load(self):
        if self._folders is None:
            self._folders = image_folders(self.cfg["root"], self.cfg["num_classes"])
            self.source = str(Path(self.cfg["root"]).expanduser().resolve())
        return self._folders

    def mean_image(self) -> torch.Tensor | None:
        """``data.normalize=per_pixel_mean``: the training images' mean image (cached in a file
        in the data root, see ``imagenet.mean_image``); None for ``per_channel``."""
        if self.cfg["normalize"] != "per_pixel_mean":
            return None
        if getattr(self, "_mean", None) is None:
            workers = self.cfg["num_workers"]
            workers = default_workers(1) if workers == "auto" else workers
            self._mean = mean_image(self.load()[0], self.cfg["root"], self.cfg, workers)
        return self._mean

    def prepare_data(self) -> None:
        self.mean_image()  # once per node, before every process's setup reads the cached file

    def setup(self, stage: str | None = None) -> None:
        train, val = self.load()
        mean = self.mean_image()
        train.transform, val.transform = train_transform(self.cfg, mean), eval_transform(self.cfg, mean)
        self.train_set, self.val_set = train, val
        # the final test: the validation images in data.test_mode (a second view of the folder)
        self.test_set = copy.copy(val)
        self.test_set.transform = transform_for_test_mode(self.cfg, mean)

    def _loader(self, ds, batch_size: int, train: bool, **extra) -> DataLoader:
        """``train``: this process's share of the global batch, incomplete batches dropped (the
        order comes from ``extra["sampler"]``); else whole batches in file order."""
        t = self.trainer
        devices = t.num_devices if t is not None else 1
        workers = self.cfg["num_workers"]
        workers = default_workers(devices) if workers == "auto" else workers
        pin = self.cfg["pin_memory"]
        on_gpu = t is not None and t.strategy.root_device.type == "cuda"
        pin = on_gpu if pin == "auto" else pin
        world = t.world_size if t is not None else 1
        return DataLoader(
            ds, batch_size=batch_size // world if train else batch_size,
            num_workers=workers, pin_memory=pin, drop_last=train, persistent_workers=workers > 0,
            # a stuck worker (broken file system, corrupt file) ends the run instead of hanging
            timeout=600 if workers > 0 else 0, **extra)

    def train_dataloader(self) -> DataLoader:
        t = self.trainer
        order = ResumableOrder(self.train_set, self.cfg["batch_size"], self.seed,
                               start_step=(lambda: t.global_step) if t is not None else (lambda: 0),
                               rank=t.global_rank if t is not None else 0,
                               world_size=t.world_size if t is not None else 1)
        return self._loader(SeededSamples(self.train_set), self.cfg["batch_size"], True, sampler=order)

    def val_dataloader(self) -> list[DataLoader]:
        return [self._loader(self.val_set, self.cfg["eval_batch_size"], False)]

    def test_dataloader(self) -> DataLoader:
        mode, n = self.cfg.get("test_mode", "center"), self.cfg["eval_batch_size"]
        if mode == "ten_crop":  # 10 views per image: a tenth as many images per batch
            return self._loader(self.test_set, max(1, n // 10), False)
        if mode == "multiscale":  # whole images of different sizes: lists, not one tensor
            return self._loader(self.test_set, max(1, n // 32), False, collate_fn=collate_views)
        return self._loader(self.test_set, n, False)

    def response_batches(self) -> DataLoader:
        return self._loader(self.val_set, self.cfg["eval_batch_size"], False)  # center crops


def build_datamodule(cfg: Mapping[str, Any], seed: int = 0) -> L.LightningDataModule:
    """The DataModule for a validated ``data`` config."""
    if cfg["name"] == "imagenet":
        return ImageFolderDataModule(cfg, seed)
    return InMemoryDataModule(cfg, seed)
