"""Shared fixtures: running run.py for real, composing configs, data the tests write."""

from __future__ import annotations

import hashlib
import os
import pickle
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.datasets import CIFAR10

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One torch thread per worker (-n auto runs one worker per core): two workers with a thread
    # per core each would fight over the cores. The run.py processes tests start inherit it.
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
FMNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
HAS_FMNIST = (FMNIST_DIR / "train-images-idx3-ubyte.gz").is_file()
needs_fmnist = pytest.mark.skipif(
    not HAS_FMNIST, reason="Debian's dataset-fashion-mnist is not installed (make install installs it as root)")

# Tiny, fast settings for real runs of run.py on synthetic data.
FAST = ["data=synthetic", "trainer=debug", "data.train_size=512", "data.val_size=128",
        "data.test_size=256", "data.batch_size=64", "trainer.progress=lines"]


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch, tmp_path_factory):
    """No test reaches the network or a user's W&B account or data folder."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("RESNET_LAB_DATA", str(tmp_path_factory.getbasetemp() / "data"))


def run_py(args: list[str], cwd: Path, timeout: float = 600, env: dict | None = None,
           check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python run.py *args`` in ``cwd`` and return the finished process."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"run.py {' '.join(args)} exited {proc.returncode}\n"
                             f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}")
    return proc


def start_run_py(args, cwd) -> subprocess.Popen:
    """``python run.py *args`` started in ``cwd``, its output on one pipe, for a test that signals
    or kills it while it runs."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # Ctrl-C as in a terminal: a child inherits an ignored SIGINT, and this pytest process may
    # have one (Lightning ignores SIGINT for good once it has handled a KeyboardInterrupt)
    return subprocess.Popen([sys.executable, str(ROOT / "run.py"), *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(predicate, proc: subprocess.Popen, what: str = "the awaited state", timeout: float = 300) -> None:
    """Wait until ``predicate()`` holds while ``proc`` runs; fail (killing it) if it ends first
    or ``timeout`` passes."""
    end = time.time() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"run.py ended before {what}:\n{proc.stdout.read()[-3000:]}")
        if time.time() > end:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _cifar_batch(n, seed):
    rng = np.random.default_rng(seed)
    return {"batch_label": f"batch {seed}", "labels": rng.integers(0, 10, n).tolist(),
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            "filenames": [f"img{i}.png" for i in range(n)]}


@pytest.fixture
def cifar_files(tmp_path, monkeypatch):
    """A small CIFAR-10 in the real python format (pickled batches, batches.meta, the tar.gz),
    with torchvision's checksums pointed at these files."""
    folder = tmp_path / "src" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        with open(folder / name, "wb") as f:
            pickle.dump(_cifar_batch(40 if name != "test_batch" else 30, i), f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)], "num_cases_per_batch": 40}, f)

    def md5(p):
        return hashlib.md5(p.read_bytes()).hexdigest()

    monkeypatch.setattr(CIFAR10, "train_list", [[n, md5(folder / n)] for n in names[:5]])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5(folder / "test_batch")]])
    monkeypatch.setattr(CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names",
                                          "md5": md5(folder / "batches.meta")})
    archive = tmp_path / "src" / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    monkeypatch.setattr(CIFAR10, "tgz_md5", md5(archive))
    return folder, archive


def image_folder(root, classes=3, per_class=6, size=(40, 56)):
    """A small ImageFolder data set (train/ and val/, JPEG files) like ImageNet's layout."""
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for c in range(classes):
            d = root / split / f"n0000{c}"
            d.mkdir(parents=True)
            for i in range(per_class):
                arr = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
                Image.fromarray(arr).save(d / f"img{i}.JPEG", format="JPEG")
    return root
