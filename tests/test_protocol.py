"""The paper's protocol (issue 12): ImageNet's per-pixel mean, its augmentation and its 10-crop
and multiscale testing, checked against direct computations on a tiny ImageFolder written here;
the CIFAR comparisons on all 50k training images; no model selection on the test set."""

from __future__ import annotations

from functools import cache

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torchvision import datasets
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from resnet_lab.compose import compose
from resnet_lab.config import validate
from resnet_lab.data import build_datamodule, imagenet
from resnet_lab.data.registry import dataset_of
from resnet_lab.errors import ConfigError
from resnet_lab.module import ResNetModule, averaged_softmax
from resnet_lab.train import resolved

IMAGENET = ["data=imagenet", "model=imagenet", "optim=sgd_imagenet"]
SIZE, RESIZE = 32, 37  # a small crop and the shorter side before it (the paper's 224 and 256)


@cache
def imagenet_config() -> dict:
    return resolved(compose(IMAGENET))


def data_cfg(root, **kw) -> dict:
    """conf/data/imagenet.yaml for tiny images in ``root``."""
    d = dict(imagenet_config()["data"], root=str(root), num_classes=3, image_size=SIZE,
             scale_range=[SIZE, 48], val_resize=RESIZE, batch_size=4, eval_batch_size=20,
             num_workers=0, pin_memory=False, test_scales=[32, 40, 48])
    d.update(kw)
    return d


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A tiny ImageNet: 3 classes, 4 JPEGs each in train/ and val/, landscape and portrait, each a
    random colour plus noise (so a tiny net's predictions differ from image to image)."""
    root = tmp_path_factory.mktemp("imagenet") / "in"
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for c in range(3):
            (root / split / f"n0{c}").mkdir(parents=True)
            for i in range(4):
                shape = (40, 51, 3) if i % 2 else (47, 40, 3)
                arr = rng.integers(0, 256, 3) + rng.normal(0, 40, shape)
                Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(
                    root / split / f"n0{c}" / f"img{i}.JPEG", format="JPEG")
    return root


def samples(root, split: str) -> list[tuple[str, int]]:
    return datasets.ImageFolder(str(root / split)).samples  # sorted by class, then file


def uint8(path) -> torch.Tensor:
    return TF.pil_to_tensor(Image.open(path).convert("RGB"))


def center(path) -> torch.Tensor:
    """Shorter side to RESIZE, the center SIZE crop, in [0, 1]."""
    return TF.center_crop(TF.resize(uint8(path), [RESIZE], antialias=True), [SIZE]).double() / 255


# ---------------------------------------------------------------- normalisation (item 1)


def test_per_pixel_mean_is_the_training_images_mean_image_cached_in_the_data_root(folder, monkeypatch):
    dm = build_datamodule(data_cfg(folder))
    dm.prepare_data()
    dm.setup("fit")
    train = samples(folder, "train")
    expected = torch.stack([center(p) for p, _ in train]).mean(0)
    mean = dm.mean_image()
    assert mean.shape == (3, SIZE, SIZE) and torch.allclose(mean.double(), expected, atol=1e-6)
    assert mean.std((1, 2)).min() > 0.01  # a mean image, not a per-channel constant
    cache_file = folder / f"resnet_lab_mean_image_{SIZE}px_resize{RESIZE}_12of12.pt"
    assert cache_file.is_file()
    # the validation images: minus the mean image, not divided by a std
    x, y = next(iter(dm.val_dataloader()[0]))
    val = samples(folder, "val")
    for i in range(3):
        assert torch.allclose(x[i].double(), center(val[i][0]) - mean.double(), atol=1e-6)
    # a second run reads the cached file
    monkeypatch.setattr(imagenet, "compute_mean_image", lambda *a, **k: pytest.fail("recomputed"))
    again = build_datamodule(data_cfg(folder))
    again.setup("fit")
    assert torch.equal(again.mean_image(), mean)
    monkeypatch.undo()
    # data.mean_sample: that many training images, evenly spaced over the (class-sorted) folder
    few = build_datamodule(data_cfg(folder, mean_sample=5))
    idx = [i * 12 // 5 for i in range(5)]
    assert idx == [0, 2, 4, 7, 9]
    assert torch.allclose(few.mean_image().double(),
                          torch.stack([center(train[i][0]) for i in idx]).mean(0), atol=1e-6)
    assert (folder / f"resnet_lab_mean_image_{SIZE}px_resize{RESIZE}_5of12.pt").is_file()


def test_per_channel_normalisation_is_torchvisions_mean_and_std(folder):
    dm = build_datamodule(data_cfg(folder, normalize="per_channel"))
    dm.setup("fit")
    assert dm.mean_image() is None
    x, _ = next(iter(dm.val_dataloader()[0]))
    mean, std = (torch.tensor(v, dtype=torch.float64)[:, None, None]
                 for v in (imagenet.IMAGENET_MEAN, imagenet.IMAGENET_STD))
    first = samples(folder, "val")[0][0]
    assert torch.allclose(x[0].double(), (center(first) - mean) / std, atol=1e-5)


# ---------------------------------------------------------------- augmentation (item 2)


def test_training_transforms_are_the_papers_and_nothing_else():
    d = imagenet_config()["data"]
    assert (d["normalize"], d["color_jitter"], d["lighting"]) == ("per_pixel_mean", 0.0, 0.1)
    steps = imagenet.train_transform(d, torch.zeros(3, 224, 224)).transforms
    # scale augmentation, a random 224 crop or its flip, PCA lighting, the per-pixel mean
    assert [type(s) for s in steps] == [
        v2.ToImage, v2.RandomShortestSize, v2.RandomCrop, v2.RandomHorizontalFlip, v2.ToDtype,
        imagenet.Lighting, imagenet.SubtractMean]
    assert steps[1].min_size == list(range(256, 481)) and steps[2].size == (224, 224)
    assert steps[5].std == 0.1
    out = imagenet.train_transform(d, torch.zeros(3, 224, 224))(Image.new("RGB", (400, 300)))
    assert out.shape == (3, 224, 224) and out.dtype == torch.float32
    # ColorJitter is beyond the paper: off by default, one switch away
    jitter = imagenet.train_transform({**d, "color_jitter": 0.4}, torch.zeros(3, 224, 224))
    assert any(isinstance(s, v2.ColorJitter) for s in jitter.transforms)
    per_channel = imagenet.train_transform({**d, "normalize": "per_channel"}).transforms
    assert isinstance(per_channel[-1], v2.Normalize)


# ---------------------------------------------------------------- test modes (item 3)


class Tiny(nn.Module):
    """Fully convolutional, as the ImageNet nets: conv, ReLU, global average pooling, fc."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.fc = nn.Linear(8, 3)
        with torch.no_grad():  # confident, varied predictions: the errors differ between modes
            self.fc.weight.mul_(200.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).mean((2, 3)))


def direct_scores(net, path, mode: str, mean: torch.Tensor) -> torch.Tensor:
    """The class probabilities of one image, computed without resnet_lab's transforms."""
    img = uint8(path)
    if mode == "multiscale":  # the whole image at each scale, minus the mean image's channel means
        views = [TF.resize(img, [s], antialias=True).float() / 255 - mean.mean((1, 2), keepdim=True)
                 for s in (32, 40, 48)]
    else:
        resized = TF.resize(img, [RESIZE], antialias=True).float() / 255
        h, w = resized.shape[1:]
        middle = (round((h - SIZE) / 2), round((w - SIZE) / 2))  # the center crop's corner
        tops = {"center": [middle],
                "ten_crop": [(0, 0), (0, w - SIZE), (h - SIZE, 0), (h - SIZE, w - SIZE), middle]}[mode]
        crops = [resized[:, i:i + SIZE, j:j + SIZE] for i, j in tops]
        if mode == "ten_crop":
            crops += [c.flip(-1) for c in crops]
        views = [c - mean for c in crops]
    with torch.no_grad():
        return torch.stack([net(v[None]).softmax(-1)[0] for v in views]).mean(0)


@pytest.mark.parametrize("mode", ["center", "ten_crop", "multiscale"])
def test_test_modes_equal_a_direct_computation(folder, mode):
    c = imagenet_config()
    dm = build_datamodule(data_cfg(folder, test_mode=mode))
    module = ResNetModule(dict(c["model"], num_classes=3), c["optim"])
    module.model = Tiny()
    trainer = L.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                        enable_checkpointing=False, enable_model_summary=False)
    (result,) = trainer.test(module, datamodule=dm, verbose=False)
    net, mean = module.model.eval(), dm.mean_image()
    val = samples(folder, "val")
    direct = torch.stack([direct_scores(net, p, mode, mean) for p, _ in val])
    labels = torch.tensor([label for _, label in val])
    assert result["test/error"] == pytest.approx(
        100.0 * (direct.argmax(1) != labels).float().mean().item())
    # and image by image: the same views, averaged the same way
    seen = []
    with torch.no_grad():
        for x, _ in dm.test_dataloader():
            seen.append(net(x).softmax(-1) if mode == "center" else averaged_softmax(net, x))
    assert torch.allclose(torch.cat(seen), direct, atol=1e-5)
    assert len(set(direct.argmax(1).tolist())) > 1  # not one class for all: the check has teeth


def test_ten_crop_batches_hold_ten_views_per_image(folder):
    dm = build_datamodule(data_cfg(folder, test_mode="ten_crop", eval_batch_size=50))
    dm.setup("test")
    x, y = next(iter(dm.test_dataloader()))
    assert x.shape == (5, 10, 3, SIZE, SIZE) and len(y) == 5  # a tenth as many images per batch
    mean = dm.mean_image()
    assert torch.allclose(x[0, 5] + mean, (x[0, 0] + mean).flip(-1))  # the top-left corner, flipped


@pytest.mark.parametrize("override,message", [
    ("data.test_mode=five_crop", r"data\.test_mode='five_crop' .*center, ten_crop, multiscale"),
    ("data.test_scales=[16,224]", r"data\.test_scales=\[16, 224\] .*image sizes >= 32"),
    ("data.val_resize=200", r"data\.val_resize=200 .*at least data\.image_size \(224\)"),
])
def test_imagenet_test_settings_are_checked(override, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose([*IMAGENET, override]))


# ---------------------------------------------------------------- CIFAR: 50k (item 4), plateau (item 7)


@pytest.mark.parametrize("study", ["figure1", "figure6", "figure7", "table6"])
def test_the_papers_cifar_comparisons_train_on_all_50k_images(study):
    c = resolved(compose([f"experiment={study}"]))
    validate(c)
    assert dataset_of(c["data"]).name == "cifar10" and c["data"]["val_size"] == 0  # 50,000 - 0
    # the 45k/5k split is one switch away
    split = resolved(compose([f"experiment={study}", "data.val_size=5000"]))
    validate(split)
    assert split["data"]["val_size"] == 5000


def test_ad_hoc_runs_keep_the_45k_5k_split():
    assert resolved(compose())["data"]["val_size"] == 5000


def test_plateau_without_a_validation_split_is_refused():
    with pytest.raises(ConfigError, match=r"^optim\.schedule='plateau' is invalid; valid values: "
                                          r"multistep when data\.val_size=0 \(plateau would choose "
                                          r"the lr drops on the test set"):
        validate(compose(["optim.schedule=plateau", "data.val_size=0"]))
    validate(compose(["optim.schedule=plateau"]))  # on the 5k validation split: fine
    validate(compose(IMAGENET))  # ImageNet: the validation folder, as the paper
