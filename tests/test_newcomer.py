"""A new user's path: nothing silently ignored, every run says what it is doing, Ctrl-C and
resumes behave, every multirun shows its own jobs, the Makefile's folders are the ones used."""

import csv
import signal
import subprocess
import warnings
from pathlib import Path

import pytest
from lightning.pytorch.callbacks import Callback

import resnet_lab.train as train_mod
from resnet_lab.compose import compose
from resnet_lab.records import RunDir, read_metrics
from resnet_lab.train import train

from .conftest import FAST, FMNIST_DIR, ROOT, run_py, start_run_py, wait_for
from .test_reliability import last_logged_step

TINY = FAST + ["model.depth=8", "responses.enabled=false"]


def test_a_root_given_is_the_only_place_looked_at(tmp_path):
    # the system copy is the default only: a root that does not hold the data is one sentence,
    # whether the system copy is installed or not, and nothing is created there (offline: the
    # download fails; conftest keeps W&B offline, no test has a network)
    root = tmp_path / "nonexistent" / "fm"
    args = ["data=fashion_mnist", "trainer=debug", "logger=none", "model.depth=8"]
    assert compose(args + [f"data.root={root}"]).data.system_dirs == []
    assert compose(args).data.system_dirs == [str(FMNIST_DIR)]
    proc = run_py(args + [f"data.root={root}"], tmp_path, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    err = proc.stderr.strip()
    assert err.startswith(f"error: Fashion-MNIST is not in data.root={root}") and "\n" not in err
    assert "put the four IDX files" in err and "leave data.root unset" in err and "dataset-fashion-mnist" in err
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "nonexistent").exists()


def test_a_run_shorter_than_log_every_logs_its_partial_window(tmp_path):
    summary = train(compose(TINY + ["logger=none", "trainer.max_steps=3", "trainer.log_every=50",
                                    "trainer.eval_every=50"]), tmp_path / "run")
    m = read_metrics(tmp_path / "run")
    assert [s for s, _ in m["train/error"]] == [3] and [s for s, _ in m["lr"]] == [3]
    assert summary["train_error"] == m["train/error"][0][1]


def test_progress_is_shown_whatever_eval_every_and_log_every_are(tmp_path, capsys):
    train(compose(TINY + ["logger=none", "trainer.max_steps=6", "trainer.log_every=50",
                          "trainer.eval_every=50", "trainer.progress=lines",
                          "callbacks.progress.line_every_s=0"]), tmp_path / "run")
    lines = [x for x in capsys.readouterr().out.splitlines() if " it " in x and "/6 " in x]
    assert len(lines) == 6 and "it 6/6 (100%)" in lines[-1] and "left" in lines[-1]


@pytest.mark.slow  # a minute or more of real training: make test-slow
def test_ctrl_c_says_how_to_resume_records_interrupted_and_exits_130(tmp_path):
    args = TINY + ["logger=none", "trainer.max_steps=200", "trainer.eval_every=10", "trainer.ckpt_every=10",
                   "trainer.log_every=5"]
    run_dir = tmp_path / "outputs" / "runs" / "synthetic-ResNet-8-s0"
    proc = start_run_py(args, tmp_path)
    wait_for(lambda: last_logged_step(run_dir) >= 15, proc)
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 130, out[-2000:]
    assert "run the same command to resume" in out and "interrupted at iteration" in out
    summary = RunDir(run_dir).summary()
    assert summary["status"] == "interrupted" and summary["steps"] >= 15
    again = run_py(args, tmp_path, timeout=600)
    assert "resuming from its last checkpoint" in again.stdout
    assert RunDir(run_dir).summary()["status"] == "done"


class _Crash(Callback):
    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == 25:
            raise RuntimeError("crash")


def test_csv_logger_rows_written_before_a_crash_survive_the_resume(tmp_path, monkeypatch):
    cfg = compose(TINY + ["logger=csv", "trainer.max_steps=40", "trainer.eval_every=10",
                          "trainer.ckpt_every=10", "trainer.log_every=5", "trainer.deterministic=true"])
    train(cfg, tmp_path / "ref")
    build = train_mod.build_callbacks
    monkeypatch.setattr(train_mod, "build_callbacks", lambda c: [*build(c), _Crash()])
    with pytest.raises(RuntimeError, match="crash"):
        train(cfg, tmp_path / "cut")
    monkeypatch.setattr(train_mod, "build_callbacks", build)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(cfg, tmp_path / "cut")
    assert not [w for w in caught if "will be deleted" in str(w.message)]

    def rows(run):
        with open(tmp_path / run / "csv" / "metrics.csv", newline="") as f:
            return list(csv.DictReader(f))

    assert rows("cut") == rows("ref") and {r["step"] for r in rows("cut")} >= {"5", "10", "20", "25"}


def test_each_multirun_shows_its_own_jobs_and_marks_older_ones(tmp_path):
    base = ["-m"] + TINY + ["logger=none", "trainer.max_steps=2"]
    first = run_py(base + ["model.depth=8,14"], tmp_path)
    assert ": 2 jobs" in first.stdout and "== job 2 of 2: " in first.stdout  # where it is
    second = run_py(base + ["model.depth=20"], tmp_path)
    assert "1 of 1 jobs done" in second.stdout and "2 older jobs of earlier commands" in second.stdout
    assert "model.depth=8," not in second.stdout.split("sweep ")[-1].split("(saved")[0]
    table = (tmp_path / "outputs" / "sweeps" / "adhoc" / "sweep_summary.csv").read_text().splitlines()
    assert table[0] == "job,status,test_error,restarts,updated,reason" and len(table) == 4


def test_a_sweep_whose_data_is_missing_says_so_once_before_any_job(tmp_path):
    proc = run_py(["-m"] + [a for a in TINY if not a.startswith("data.")][1:] + ["data=cifar10", f"data.root={tmp_path / 'nothing'}",
                                      "data.download=false", "logger=none", "model.depth=8,14,20"],
                  tmp_path, check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("CIFAR-10 is not in") == 1 and "none was started" in proc.stderr
    assert not list((tmp_path / "outputs" / "sweeps").glob("adhoc/*/summary.json"))


def test_makefile_studies_train_and_draw_in_the_same_sweeps_folder():
    out = subprocess.run(["make", "-n", "-C", str(ROOT), "cpu_degradation", "SWEEPS=/tmp/x", "FIGURES=/tmp/f",
                          "PY=python"], capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if "run.py -m experiment=cpu_degradation" in x)
    assert "hydra.sweep.dir=/tmp/x/cpu_degradation" in line
    assert "--sweep /tmp/x/cpu_degradation --out /tmp/f/cpu_degradation" in line
    assert Path(ROOT / "Makefile").read_text().count("hydra.sweep.dir=$(SWEEPS)/$(1)") == 1


def test_resumable_order_continues_the_uninterrupted_stream():
    from resnet_lab.data.pipeline import ResumableOrder

    data = list(range(18))
    whole = [item for epoch in range(3) for item in ResumableOrder(data, 4, 7, lambda e=epoch: 4 * e)]
    assert len(whole) == 3 * 16 and sorted(whole[:16]) != whole[:16]  # shuffled, 4 batches an epoch
    assert whole[:16] != whole[16:32]  # another order each epoch
    for step in (1, 5, 6):  # mid-epoch: the rest of that epoch, as the uninterrupted run
        assert list(ResumableOrder(data, 4, 7, lambda s=step: s)) == whole[4 * step: 16 * (step // 4 + 1)]
    # two processes: each its half of every global batch
    halves = [list(ResumableOrder(data, 4, 7, lambda: 0, rank=r, world_size=2)) for r in (0, 1)]
    assert [x for b in range(4) for r in (0, 1) for x in halves[r][2 * b: 2 * b + 2]] == whole[:16]


@pytest.mark.slow  # a minute or more of real training: make test-slow
def test_a_resumed_imagefolder_run_sees_the_same_batches(tmp_path, monkeypatch):
    from .conftest import image_folder

    root = image_folder(tmp_path / "in", classes=3, per_class=6)
    args = ["data=imagenet", "model=imagenet", "optim=sgd_imagenet", f"data.root={root}",
            "data.num_classes=3", "data.image_size=32", "data.scale_range=[32,48]", "data.val_resize=37",
            "data.batch_size=4", "data.eval_batch_size=9", "model.depth=18", "logger=none",
            "trainer=debug", "trainer.max_steps=10", "trainer.eval_every=5", "trainer.ckpt_every=3",
            "trainer.log_every=1", "trainer.deterministic=true", "trainer.progress=none",
            "responses.enabled=false"]
    train(compose(args + ["data.num_workers=0"]), tmp_path / "ref")
    build = train_mod.build_callbacks

    class Crash(Callback):
        def on_train_batch_end(self, trainer, *a):
            if trainer.global_step == 7:  # mid-epoch (4 batches an epoch); last checkpoint at 6
                raise RuntimeError("crash")

    monkeypatch.setattr(train_mod, "build_callbacks", lambda c: [*build(c), Crash()])
    with pytest.raises(RuntimeError, match="crash"):
        train(compose(args + ["data.num_workers=2"]), tmp_path / "cut")
    monkeypatch.setattr(train_mod, "build_callbacks", build)
    train(compose(args + ["data.num_workers=2"]), tmp_path / "cut")  # workers draw the same crops
    assert read_metrics(tmp_path / "cut") == read_metrics(tmp_path / "ref")
