"""Data sets: CIFAR-10, Fashion-MNIST and synthetic (in memory, batched), ImageNet (ImageFolder)."""

from .cifar10 import load_cifar10
from .datamodule import ImageFolderDataModule, InMemoryDataModule, build_datamodule, split_train_val
from .fashion_mnist import load_fashion_mnist
from .pipeline import EvalBatches, Normalizer, TrainStream, draw_augmentation, pad_crop_flip
from .synthetic import make_synthetic

__all__ = [
    "load_cifar10", "load_fashion_mnist", "make_synthetic", "build_datamodule",
    "InMemoryDataModule", "ImageFolderDataModule", "split_train_val", "EvalBatches", "Normalizer",
    "TrainStream", "draw_augmentation", "pad_crop_flip",
]
