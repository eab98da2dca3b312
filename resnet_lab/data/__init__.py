"""Data sets: CIFAR-10, Fashion-MNIST and synthetic (in memory, batched), ImageNet (ImageFolder);
``registry`` describes each (a leaf module, no torch). Names are imported on first use."""

from importlib import import_module

_EXPORTS = {
    "Cifar10": "cifar10", "load_cifar10": "cifar10",
    "FashionMnist": "fashion_mnist", "load_fashion_mnist": "fashion_mnist",
    "Synthetic": "synthetic", "make_synthetic": "synthetic",
    "ImageFolderDataModule": "datamodule", "InMemoryDataModule": "datamodule",
    "split_train_val": "datamodule", "build_datamodule": "build",
    "EvalBatches": "pipeline", "Normalizer": "pipeline", "TrainStream": "pipeline",
    "draw_augmentation": "pipeline", "pad_crop_flip": "pipeline",
    "DATASETS": "registry", "dataset_of": "registry",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
