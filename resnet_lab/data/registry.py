"""The data sets, one descriptor each: what the rest of the suite knows about a data set (its
name, how readers call it, its classes, channels and image size, its fixed sizes, whether its
tables report top-5 errors) and the LightningDataModule that loads it (``conf/data/<name>.yaml``
builds it with ``hydra.utils.instantiate``). A leaf module: no torch.

A new data set is a DataModule class and an entry here (and its YAML).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DataSet:
    name: str  # data=<name>
    title: str  # as a reader knows it, in titles and captions
    module: str  # its LightningDataModule, as conf/data/<name>.yaml's _target_
    num_classes: int | None = None  # None: the config says (data.num_classes)
    channels: tuple[int, ...] | None = None  # the channels it can give the stem; None: data.channels
    image_size: int | None = None  # None: the config says (data.image_size)
    train_images: int | None = None  # before a validation split; None: not fixed
    test_images: int | None = None
    top5: bool = False  # its tables report top-5 errors (where it has classes to spare)


DATASETS: dict[str, DataSet] = {d.name: d for d in (
    DataSet("cifar10", "CIFAR-10", "resnet_lab.data.cifar10.Cifar10", num_classes=10, channels=(3,),
            image_size=32, train_images=50_000, test_images=10_000),
    # gray images: 1 channel, or replicated to 3 for an RGB stem (data.channels)
    DataSet("fashion_mnist", "Fashion-MNIST", "resnet_lab.data.fashion_mnist.FashionMnist",
            num_classes=10, channels=(1, 3), image_size=32, train_images=60_000, test_images=10_000),
    DataSet("synthetic", "synthetic data", "resnet_lab.data.synthetic.Synthetic"),
    DataSet("imagenet", "ImageNet", "resnet_lab.data.datamodule.ImageFolderDataModule", channels=(3,),
            top5=True),
)}

# ImageNet's final test (data.test_mode): one center crop, 10 crops, or whole images at several scales
TEST_MODES = ("center", "ten_crop", "multiscale")


def dataset_of(data: Mapping[str, Any]) -> DataSet:
    """The data set of a data config: by its ``_target_``, or ``name`` in records written before
    the configs named their modules."""
    target = data.get("_target_")
    found = next((d for d in DATASETS.values() if d.module == target), None)
    if found is None and data.get("name") in DATASETS:
        found = DATASETS[data["name"]]
    if found is None:
        raise KeyError(f"not a data set of resnet_lab: {target or data.get('name')!r}")
    return found


def fact(data: Mapping[str, Any], key: str) -> Any:
    """``num_classes``, ``channels`` or ``image_size`` of a data config: the config's own value
    where it has the key (synthetic data, Fashion-MNIST's channels), else the data set's."""
    if data.get(key) is not None:
        return data[key]
    value = getattr(dataset_of(data), key)
    return value[0] if isinstance(value, tuple) else value


def logs_top5(data: Mapping[str, Any]) -> bool:
    """Whether a run on this data logs top-5 errors: where its tables report them and it has
    classes to spare."""
    return dataset_of(data).top5 and fact(data, "num_classes") > 5
