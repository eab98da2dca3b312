"""Lightning DataModules: the in-memory 32x32 data sets (one subclass each: ``cifar10.Cifar10``,
``fashion_mnist.FashionMnist``, ``synthetic.Synthetic``) and ImageFolder (ImageNet).

Each is built by ``hydra.utils.instantiate`` from ``conf/data/<name>.yaml``, whose keys are its
constructor's parameters; ``order_seed`` (the run's seed: batch order and augmentation) is given
when the run builds it, not configured. What the rest of the suite knows about each data set is
in ``registry``.
"""

from __future__ import annotations

import copy
from abc import abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import lightning as L
import torch
from torch.utils.data import DataLoader

from ..signatures import takes
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


@dataclass  # not frozen: OmegaConf makes a frozen dataclass's node read-only
class Augment:
    enabled: bool = True
    pad: int = 4  # zero-pad 4 pixels each side (before mean subtraction), random crop back
    flip: bool = True  # random horizontal flip


@dataclass(frozen=True)
class InMemoryOptions:
    """What every in-memory data set takes; the defaults are the paper's CIFAR recipe (Sec. 4.2).
    Each data set's YAML sets the rest (``conf/data/<name>.yaml``)."""

    # a validation split held out of the training images: the paper chose its schedule on 45k/5k,
    # then trained its reported nets on all 50k (0 = no split)
    val_size: int
    eval_batch_size: int  # images per evaluation batch
    batch_size: int = 128  # the global batch: divided among devices under DDP
    split_seed: int = 0
    # per_pixel_mean: subtract the training split's mean image (the paper); per_channel:
    # subtract per-channel means and divide by per-channel stds (common practice)
    normalize: str = "per_pixel_mean"
    augment: Augment = field(default_factory=Augment)
    # where the data set lives: auto = the training device (on a GPU the uint8 images stay there
    # and are augmented there in batches), or cpu
    device: str = "auto"
    # evaluate on at most this many images of val / test during training (null = all); the
    # final test after training always uses the whole test set
    eval_subset: int | None = None


@takes(InMemoryOptions)
class InMemoryDataModule(L.LightningDataModule):
    """A data set held as one uint8 tensor and augmented in batches (see ``pipeline``); a
    subclass says where the images come from (``load_arrays``). ``source`` (after ``load``) says
    where they came from: the directory actually read.

    ``eval_names`` are the evaluation sets of Lightning's validation loop during training (in
    the order of ``val_dataloader``): ``["val", "test"]``, or ``["test"]`` when ``val_size`` is 0.
    """

    # what the run gives the constructor rather than the config (config/schema.py leaves it out)
    runtime_args: ClassVar[tuple[str, ...]] = ("order_seed",)

    def __init__(self, order_seed: int = 0, **options: Any) -> None:
        super().__init__()
        o = InMemoryOptions(**{**options, "augment": Augment(**dict(options.get("augment") or {}))})
        self.cfg, self.seed = asdict(o), order_seed  # a subclass adds its own options to cfg
        self._arrays = None
        self.memory_format = torch.contiguous_format
        self.eval_names = ["val", "test"] if o.val_size > 0 else ["test"]

    @abstractmethod
    def load_arrays(self) -> tuple[tuple[torch.Tensor, ...], str]:
        """``(train_x, train_y, test_x, test_y)`` (uint8 NCHW images, int64 labels) and where
        they came from; DataNotFoundError / DataCorruptError when they cannot be had."""

    @property
    def channels(self) -> int:
        return self.cfg.get("channels") or 3

    # ---------------------------------------------------------------- loading
    def load(self):
        """Load (or generate) the arrays once; raises DataNotFoundError / DataCorruptError."""
        if self._arrays is None:
            d = self.cfg
            (train_x, train_y, test_x, test_y), self.source = self.load_arrays()
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
        stored, wanted = arrays["train"][0].shape[1], self.channels
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
    final "test" is the validation set, in ``test_mode`` (center crop, 10-crop or multiscale);
    the validation curves during training are center crop. The options are described in
    ``conf/data/imagenet.yaml``, which holds their values."""

    eval_names = ["val"]
    runtime_args: ClassVar[tuple[str, ...]] = ("order_seed",)

    def __init__(self, root: str, num_classes: int, image_size: int, scale_range: list[int],
                 val_resize: int, lighting: float, color_jitter: float, normalize: str,
                 mean_sample: int, test_mode: str, test_scales: list[int], batch_size: int,
                 eval_batch_size: int, num_workers: int | str, pin_memory: bool | str,
                 order_seed: int = 0) -> None:
        options = {k: v for k, v in locals().items() if k not in ("self", "order_seed", "__class__")}
        super().__init__()
        self.cfg = {k: list(v) if k.endswith(("_range", "_scales")) else v for k, v in options.items()}
        self.seed = order_seed
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

