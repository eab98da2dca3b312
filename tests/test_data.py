"""Data sets and the batched pipeline, on files the tests write in the real on-disk formats."""

import gzip
import io
import pickle
import struct

import numpy as np
import pytest
import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from resnet_lab.compose import compose
from resnet_lab.config import validate
from resnet_lab.data import (
    EvalBatches,
    ImageFolderDataModule,
    Normalizer,
    TrainStream,
    build_datamodule,
    draw_augmentation,
    load_cifar10,
    load_fashion_mnist,
    make_synthetic,
    pad_crop_flip,
    split_train_val,
)
from resnet_lab.data.pipeline import seeded_generator
from resnet_lab.errors import DataCorruptError, DataNotFoundError
from resnet_lab.models import build_model
from resnet_lab.train import resolved

from .conftest import FMNIST_DIR, image_folder, needs_fmnist

# ---------------------------------------------------------------- augmentation


def test_pad_crop_flip_equals_torchvision_for_fixed_draws():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8, generator=g)
    offsets, flips = draw_augmentation(16, 4, g)
    ours = pad_crop_flip(images, offsets, flips, pad=4)
    for k in range(16):
        i, j = offsets[k].tolist()
        ref = TF.crop(TF.pad(images[k], [4]), i, j, 32, 32)
        if flips[k]:
            ref = TF.horizontal_flip(ref)
        assert torch.equal(ours[k], ref), k


def test_augmentation_draws_match_torchvision_distribution():
    """Crop offsets uniform on 0..8 in both axes and flips with p = 0.5, as RandomCrop(32,
    padding=4) and RandomHorizontalFlip() draw them."""
    n = 40000
    offsets, flips = draw_augmentation(n, 4, torch.Generator().manual_seed(1))
    torch.manual_seed(1)
    padded = torch.zeros(3, 40, 40)
    tv = torch.tensor([v2.RandomCrop.get_params(padded, (32, 32))[:2] for _ in range(n // 4)])
    for axis in range(2):
        ours = torch.bincount(offsets[:, axis], minlength=9).float() / n
        theirs = torch.bincount(tv[:, axis], minlength=9).float() / len(tv)
        assert len(ours) == len(theirs) == 9
        assert torch.allclose(ours, torch.full((9,), 1 / 9), atol=0.01)
        assert torch.allclose(theirs, torch.full((9,), 1 / 9), atol=0.02)
    assert flips.float().mean().item() == pytest.approx(0.5, abs=0.01)
    # rows and columns drawn independently
    joint = torch.bincount(offsets[:, 0] * 9 + offsets[:, 1], minlength=81).float() / n
    assert torch.allclose(joint, torch.full((81,), 1 / 81), atol=0.005)


def test_normalizer_per_pixel_mean_and_per_channel():
    x = torch.randint(0, 256, (200, 3, 8, 8), dtype=torch.uint8)
    pp = Normalizer(x, "per_pixel_mean")
    assert pp.mean.shape == (3, 8, 8)
    assert pp(x).mean(0).abs().max() < 1e-5
    pc = Normalizer(x, "per_channel")
    y = pc(x)
    assert y.mean((0, 2, 3)).abs().max() < 1e-4
    assert torch.allclose(y.std((0, 2, 3)), torch.ones(3), atol=1e-3)


def _stream(n=640, batch=64, world=1, rank=0, start=0, seed=3):
    x = torch.arange(n, dtype=torch.int64)[:, None, None, None].expand(n, 1, 4, 4).to(torch.uint8).clone()
    # image i carries its index in pixel [0,0] (mod 256) and its label is i
    x[:, 0, 0, 0] = torch.arange(n) % 256
    y = torch.arange(n)
    norm = Normalizer(x)
    norm.mean.zero_()
    return TrainStream(x, y, batch, norm, seed, augment=False, start_step=lambda: start,
                       rank=rank, world_size=world)


def test_train_stream_covers_each_epoch_once_and_is_seeded():
    s = _stream()
    it = iter(s)
    epoch0 = torch.cat([next(it)[1] for _ in range(s.steps_per_epoch)])
    assert sorted(epoch0.tolist()) == list(range(640))
    epoch1 = torch.cat([next(it)[1] for _ in range(s.steps_per_epoch)])
    assert sorted(epoch1.tolist()) == list(range(640))
    assert not torch.equal(epoch0, epoch1)
    again = iter(_stream())
    assert torch.equal(next(again)[1], epoch0[:64])
    assert not torch.equal(next(iter(_stream(seed=4)))[1], epoch0[:64])


def test_train_stream_resumes_at_any_iteration():
    full = iter(_stream())
    batches = [next(full) for _ in range(25)]
    resumed = iter(_stream(start=17))
    for k in range(17, 25):
        x, y = next(resumed)
        assert torch.equal(y, batches[k][1]) and torch.equal(x, batches[k][0])


def test_train_stream_splits_the_global_batch_among_processes():
    whole = iter(_stream())
    halves = [iter(_stream(world=2, rank=r)) for r in range(2)]
    for _ in range(12):
        _, y = next(whole)
        parts = [next(h)[1] for h in halves]
        assert all(len(p) == 32 for p in parts)
        assert torch.equal(torch.cat(parts), y)


def test_train_stream_augments_with_the_epoch_plan():
    n = 256
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.arange(n)
    s = TrainStream(x, y, 32, Normalizer(x), seed=7)
    order, offsets, flips = s.epoch_plan(0)
    bx, by = next(iter(s))
    idx = order[:32]
    assert torch.equal(by, idx)
    expected = s.normalizer(pad_crop_flip(x[idx], offsets[idx], flips[idx], 4))
    assert torch.equal(bx, expected)
    assert not torch.equal(bx, s.normalizer(x[idx]))  # really augmented


def test_eval_batches_shard_exactly():
    x = torch.zeros(1001, 1, 2, 2, dtype=torch.uint8)
    y = torch.arange(1001)
    norm = Normalizer(x)
    seen = torch.cat([b[1] for r in range(3) for b in EvalBatches(x, y, 100, norm, r, 3)])
    assert sorted(seen.tolist()) == list(range(1001))
    assert len(EvalBatches(x, y, 100, norm)) == 11


def test_split_is_seeded_and_disjoint():
    x = torch.arange(100)[:, None]
    y = torch.arange(100)
    tx, ty, vx, vy = split_train_val(x, y, 10, 0)
    assert len(ty) == 90 and len(vy) == 10 and not set(ty.tolist()) & set(vy.tolist())
    assert torch.equal(split_train_val(x, y, 10, 0)[3], vy)
    assert not torch.equal(split_train_val(x, y, 10, 1)[3], vy)
    assert len(split_train_val(x, y, 0, 0)[1]) == 100


# ---------------------------------------------------------------- CIFAR-10 (real format)


def _expected_cifar(folder):
    data = [pickle.load(open(folder / f"data_batch_{i}", "rb")) for i in range(1, 6)]
    x = np.concatenate([d["data"] for d in data]).reshape(-1, 3, 32, 32)
    y = sum((d["labels"] for d in data), [])
    return torch.from_numpy(x), torch.tensor(y)


def test_cifar10_from_extracted_folder(cifar_files, tmp_path):
    folder, _ = cifar_files
    train_x, train_y, test_x, test_y = load_cifar10(folder.parent, download=False)
    ex, ey = _expected_cifar(folder)
    assert train_x.shape == (200, 3, 32, 32) and train_x.dtype == torch.uint8
    assert test_x.shape == (30, 3, 32, 32)
    assert torch.equal(train_x, ex) and torch.equal(train_y, ey)


def test_cifar10_from_archive(cifar_files, tmp_path):
    _, archive = cifar_files
    root = tmp_path / "root"
    root.mkdir()
    (root / archive.name).write_bytes(archive.read_bytes())
    train_x, *_ = load_cifar10(root, download=False)
    assert (root / "cifar-10-batches-py" / "data_batch_1").is_file()
    assert len(train_x) == 200


def test_cifar10_missing_says_where_to_put_it(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"put cifar-10-python\.tar\.gz .* in .*empty"):
        load_cifar10(tmp_path / "empty", download=False)


def test_cifar10_truncated_archive_is_a_clear_error(cifar_files, tmp_path):
    _, archive = cifar_files
    root = tmp_path / "bad"
    root.mkdir()
    (root / archive.name).write_bytes(archive.read_bytes()[:500])
    with pytest.raises(DataCorruptError, match="MD5"):
        load_cifar10(root, download=False)


def test_cifar10_corrupt_batch_is_a_clear_error(cifar_files):
    folder, _ = cifar_files
    (folder / "data_batch_3").write_bytes(b"garbage")
    with pytest.raises(DataCorruptError, match="corrupt"):
        load_cifar10(folder.parent, download=False)


# ---------------------------------------------------------------- Fashion-MNIST (IDX files)


def _idx(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_fmnist(folder, compress: bool, n_train=30, n_test=20):
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
              "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test)}
    folder.mkdir(parents=True, exist_ok=True)
    for name, a in arrays.items():
        data = _idx(a)
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return arrays


@pytest.mark.parametrize("compress", [True, False])
def test_fashion_mnist_from_idx_files(tmp_path, compress):
    arrays = _write_fmnist(tmp_path / "fm", compress)
    train_x, train_y, test_x, test_y = load_fashion_mnist(tmp_path / "fm", [], download=False)
    assert train_x.shape == (30, 1, 32, 32) and test_x.shape == (20, 1, 32, 32)
    assert torch.equal(train_x[:, 0, 2:30, 2:30], torch.from_numpy(arrays["train-images-idx3-ubyte"].astype(np.uint8)))
    assert train_x[:, :, :2].sum() == 0 and train_x[:, :, :, 30:].sum() == 0  # zero border
    assert torch.equal(test_y, torch.from_numpy(arrays["t10k-labels-idx1-ubyte"]))


def test_fashion_mnist_truncated_file_is_a_clear_error(tmp_path):
    _write_fmnist(tmp_path / "fm", compress=False)
    p = tmp_path / "fm" / "train-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(DataCorruptError, match="truncated"):
        load_fashion_mnist(tmp_path / "fm", [], download=False)


def test_fashion_mnist_missing_says_where(tmp_path):
    with pytest.raises(DataNotFoundError, match="not in data.root=.*none; put the four IDX files .* there, "
                                                "or leave data.root unset .*dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path / "none", [], download=False)
    with pytest.raises(DataNotFoundError, match="install Debian's dataset-fashion-mnist .* or put the four IDX"):
        load_fashion_mnist(tmp_path / "none", [tmp_path / "system"], download=False)
    assert not (tmp_path / "none").exists()


def test_fashion_mnist_channels_3_replicates_the_normalized_gray_images(tmp_path):
    """data.channels=3: batches of 3 identical channels, each the 1-channel batch, and a
    3-channel stem."""
    _write_fmnist(tmp_path / "fm", compress=False, n_train=40, n_test=20)
    batches = {}
    for channels in (1, 3):
        c = resolved(compose(["data=fashion_mnist", f"data.channels={channels}",
                              f"data.root={tmp_path / 'fm'}", "data.system_dirs=[]",
                              "data.download=false", "data.val_size=8", "data.batch_size=16",
                              "data.eval_batch_size=10"]))
        validate(c)
        assert build_model(c["model"]).stem.conv.in_channels == channels
        dm = build_datamodule(c["data"], seed=0)
        dm.place(torch.device("cpu"))
        loaders = [dm.train_dataloader(), dm.val_dataloader()[0], dm.test_dataloader()]
        batches[channels] = [next(iter(loader))[0] for loader in loaders]
    for one, three in zip(batches[1], batches[3], strict=True):
        assert one.shape[1] == 1 and three.shape[1] == 3 and three.is_contiguous()
        for k in range(3):
            assert torch.equal(three[:, k], one[:, 0])


@needs_fmnist
def test_fashion_mnist_from_debian_package(tmp_path):
    train_x, train_y, test_x, test_y = load_fashion_mnist(tmp_path / "unused", [FMNIST_DIR], download=False)
    assert train_x.shape == (60000, 1, 32, 32) and test_x.shape == (10000, 1, 32, 32)
    assert sorted(torch.bincount(train_y).tolist()) == [6000] * 10
    assert train_x.float().mean() > 50  # real images, not zeros


# ---------------------------------------------------------------- synthetic


def test_synthetic_is_deterministic_from_its_seed():
    a = make_synthetic(0, 200, 50)
    b = make_synthetic(0, 200, 50)
    c = make_synthetic(1, 200, 50)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0])
    assert a[0].shape == (200, 3, 32, 32) and a[0].dtype == torch.uint8
    assert set(a[1].tolist()) == set(range(10))


def test_synthetic_classes_survive_flips():
    x, y, *_ = make_synthetic(0, 2000, 10, noise=0.0)
    # with no noise, an image and its mirror image are the same pattern (up to contrast/rounding)
    d = (x.float() - x.flip(-1).float()).abs().mean()
    assert d < 1.0


# ---------------------------------------------------------------- ImageFolder (ImageNet path)


def _imagenet_cfg(root, **kw):
    cfg = dict(root=str(root), num_classes=3, image_size=32,
               scale_range=[32, 48], val_resize=37, color_jitter=0.0, lighting=0.1, batch_size=4,
               eval_batch_size=5, normalize="per_channel", num_workers=0, pin_memory=False,
               mean_sample=10000, test_mode="center", test_scales=[32, 40, 48])
    cfg.update(kw)
    return cfg


def test_image_folder_loaders(tmp_path):
    root = image_folder(tmp_path / "in")
    dm = ImageFolderDataModule(**_imagenet_cfg(root))
    dm.setup("fit")
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32
    assert y.max() < 3
    loaders = dm.val_dataloader()
    assert dm.eval_names == ["val"] and len(loaders) == 1
    total = sum(len(b[1]) for b in loaders[0])
    assert total == 18


def test_image_folder_missing_split_says_where(tmp_path):
    (tmp_path / "in" / "train" / "n0").mkdir(parents=True)
    dm = ImageFolderDataModule(**_imagenet_cfg(tmp_path / "in"))
    with pytest.raises(DataNotFoundError, match=r"val.*train/<class>/\*\.JPEG"):
        dm.load()


def test_image_folder_class_count_mismatch(tmp_path):
    root = image_folder(tmp_path / "in")
    with pytest.raises(DataCorruptError, match="data.num_classes=3"):
        ImageFolderDataModule(**_imagenet_cfg(root, num_classes=1000)).load()
    with pytest.raises(DataCorruptError, match="3 class folders"):
        ImageFolderDataModule(**_imagenet_cfg(root, num_classes=5)).load()


def test_image_folder_broken_image_names_the_file(tmp_path):
    root = image_folder(tmp_path / "in")
    bad = root / "train" / "n00001" / "img0.JPEG"
    bad.write_bytes(b"not a jpeg" + io.BytesIO(b"\0" * 100).getvalue())
    dm = ImageFolderDataModule(**_imagenet_cfg(root, batch_size=18))
    dm.setup("fit")
    with pytest.raises(DataCorruptError, match="img0.JPEG cannot be decoded"):
        for _ in dm.train_dataloader():
            pass


def test_seeded_generator_streams_differ():
    a = torch.rand(4, generator=seeded_generator(1, 2))
    assert torch.equal(a, torch.rand(4, generator=seeded_generator(1, 2)))
    assert not torch.equal(a, torch.rand(4, generator=seeded_generator(2, 1)))
