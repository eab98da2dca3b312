"""Real (short) training runs in-process: learning, the schedule, every data path."""


from resnet_lab.compose import compose
from resnet_lab.records import read_metrics
from resnet_lab.train import train

from .conftest import FMNIST_DIR, image_folder, needs_fmnist

TINY = ["logger=none", "trainer=debug", "trainer.progress=none", "model.depth=8"]


def run(tmp_path, overrides, name="run"):
    cfg = compose(TINY + list(overrides))
    summary = train(cfg, tmp_path / name)
    return summary, read_metrics(tmp_path / name)


def test_synthetic_run_learns(tmp_path):
    summary, m = run(tmp_path, ["data=synthetic", "trainer.max_steps=150", "trainer.eval_every=50",
                                "trainer.log_every=10"])
    assert summary["status"] == "done" and summary["steps"] == 150
    first_train = m["train/error"][0][1]
    assert first_train > 60  # starts near chance (90%)
    assert summary["test_error"] < 45, summary  # clearly below chance
    assert m["train/error"][-1][1] < first_train - 30
    assert [s for s, _ in m["val/error"]] == [50, 100, 150]
    assert all(0 <= v <= 100 for _, v in m["test/error"])
    assert all(v > 0 and v == v for _, v in m["train/loss"])


@needs_fmnist
def test_fashion_mnist_run_learns(tmp_path):
    summary, m = run(tmp_path, ["data=fashion_mnist", f"data.system_dirs=[{FMNIST_DIR}]",
                                "trainer.max_steps=80", "trainer.eval_every=40", "trainer.log_every=10",
                                "data.eval_subset=1000"])
    assert summary["status"] == "done"
    # chance is 90%; 80 iterations at lr 0.1 end anywhere from about 50 to 61% on different
    # CPUs (their rounding takes the runs apart), so the bar is well above noise, well below chance
    assert summary["test_error"] < 70, summary
    assert m["train/error"][0][1] > m["train/error"][-1][1] + 25


def test_lr_schedule_in_a_real_run(tmp_path):
    summary, m = run(tmp_path, ["data=synthetic", "trainer.max_steps=30", "trainer.log_every=1",
                                "trainer.eval_every=30", "optim.milestones=[10,20]"])
    lr = dict(m["lr"])
    # the lr logged at step s is the one iteration s (1-based) used
    assert {lr[s] for s in range(1, 11)} == {0.1}
    assert {round(lr[s], 10) for s in range(11, 21)} == {0.01}
    assert {round(lr[s], 10) for s in range(21, 31)} == {0.001}


def test_warmup_in_a_real_run(tmp_path):
    summary, m = run(tmp_path, ["data=synthetic", "trainer.max_steps=60", "trainer.log_every=1",
                                "trainer.eval_every=60", "optim.warmup.enabled=true",
                                "optim.warmup.window=5"])
    ended = summary["warmup_ended_at"]
    assert ended is not None and 5 <= ended < 60
    lr, err = dict(m["lr"]), dict(m["train/error"])
    assert all(lr[s] == 0.01 for s in range(1, ended + 1))
    assert all(lr[s] == 0.1 for s in range(ended + 1, 61))
    # ended exactly when the mean training error of the last 5 iterations fell below 80%
    window = [err[s] for s in range(ended - 4, ended + 1)]
    assert sum(window) / 5 < 80
    if ended > 5:
        before = [err[s] for s in range(ended - 5, ended)]
        assert sum(before) / 5 >= 80


def test_cifar10_path_end_to_end(tmp_path, cifar_files):
    folder, _ = cifar_files
    summary, m = run(tmp_path, ["data=cifar10", f"data.root={folder.parent}", "data.download=false",
                                "data.val_size=40", "data.batch_size=32", "trainer.max_steps=8",
                                "trainer.eval_every=4", "trainer.log_every=4"])
    assert summary["status"] == "done"
    assert {"train/error", "train/loss", "lr", "val/error", "test/error"} <= set(m)


def test_imagenet_path_end_to_end(tmp_path):
    root = image_folder(tmp_path / "in", classes=6, per_class=4)
    summary, m = run(tmp_path, [
        "data=imagenet", "model=imagenet", "optim=sgd_imagenet", f"data.root={root}",
        "data.num_classes=6", "data.image_size=32", "data.scale_range=[32,48]", "data.val_resize=37",
        "data.batch_size=8", "data.eval_batch_size=12", "data.num_workers=0",
        "trainer.max_steps=4", "trainer.eval_every=2", "trainer.log_every=2", "model.depth=18",
        "data.test_mode=center"])  # the 10-crop test is tests/test_protocol.py's
    assert summary["status"] == "done"
    assert {"val/error", "val/top5_error", "test/error", "test/top5_error"} <= set(m)
    assert summary["test_top5_error"] <= summary["test_error"]
