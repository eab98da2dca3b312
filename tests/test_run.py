"""run.py for real (subprocess): single runs, multirun, outputs, W&B offline, bad input."""

import glob
import json
import os

import pytest
import yaml
from lightning.pytorch.callbacks import Callback

from resnet_lab.records import read_metrics

from .conftest import FAST, run_py

METRICS = {"train/error", "train/loss", "lr", "val/error", "test/error"}


def test_single_run_writes_its_records_and_wandb_offline(tmp_path):
    env = {"WANDB_API_KEY": "local-secret-0123456789abcdef"}
    proc = run_py(FAST + ["model.depth=8", "trainer.max_steps=20"], tmp_path, env=env)
    run_dir = tmp_path / "outputs" / "runs" / "synthetic-ResNet-8-s0"
    assert "synthetic-ResNet-8-s0: test error" in proc.stdout
    # the terminal holds what a user reads (no W&B chatter); run.log holds that and the rest
    assert "wandb:" not in proc.stdout + proc.stderr
    log = (run_dir / "run.log").read_text()
    assert "synthetic-ResNet-8-s0: test error" in log and "run directory" in log
    for name in ("config.yaml", "metrics.csv", "summary.json", "checkpoints/last.ckpt", "wandb_run_id",
                 "responses.json", "responses.csv"):
        assert (run_dir / name).is_file(), name
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert cfg["model"]["depth"] == 8 and cfg["optim"]["lr"] == 0.1 and cfg["seed"] == 0
    m = read_metrics(run_dir)
    assert METRICS <= set(m)
    assert [s for s, _ in m["val/error"]] == [10, 20]
    assert all(0 <= v <= 100 for key in ("train/error", "val/error", "test/error") for _, v in m[key])
    responses = json.loads((run_dir / "responses.json").read_text())
    assert [r["layer"] for r in responses] == list(range(1, 8))  # the 7 3x3 layers of ResNet-8
    run_id = (run_dir / "wandb_run_id").read_text().strip()
    offline = glob.glob(str(run_dir / "wandb" / f"offline-run-*-{run_id}" / f"run-{run_id}.wandb"))
    assert offline and os.path.getsize(offline[0]) > 0
    # the API key (here only in the environment) is written nowhere in the run directory
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert b"local-secret-0123456789abcdef" not in path.read_bytes(), path
    assert "local-secret" not in proc.stdout + proc.stderr


class TakesAnything(Callback):
    """A user's callback whose arguments include one named like a credential."""

    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs


def test_a_config_entry_named_like_a_credential_never_reaches_wandb(tmp_path):
    token = "tok-0123456789abcdef-in-the-config"
    run_py(FAST + ["model.depth=8", "trainer.max_steps=2", "responses.enabled=false",
                   "+callbacks.mine._target_=tests.test_run.TakesAnything", f"+callbacks.mine.api_token={token}",
                   "+callbacks.mine.colour=blue-0123456789"], tmp_path)
    run_dir = tmp_path / "outputs" / "runs" / "synthetic-ResNet-8-s0"
    # masked in the run's own record (a run directory is shared; credentials.py) ...
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["callbacks"]["mine"]["api_token"] == "<redacted>"
    wandb_files = [p for p in (run_dir / "wandb").rglob("*") if p.is_file()]
    uploaded = b"".join(p.read_bytes() for p in wandb_files)
    # ... but not in what goes to W&B, where its neighbour (not a credential) is
    assert b"blue-0123456789" in uploaded and token.encode() not in uploaded


def test_finished_run_is_not_retrained(tmp_path):
    args = FAST + ["model.depth=8", "trainer.max_steps=10", "logger=none"]
    run_py(args, tmp_path)
    metrics = tmp_path / "outputs" / "runs" / "synthetic-ResNet-8-s0" / "metrics.csv"
    before = (metrics.stat().st_mtime_ns, metrics.read_bytes())
    proc = run_py(args, tmp_path)
    assert "already done" in proc.stdout
    assert (metrics.stat().st_mtime_ns, metrics.read_bytes()) == before


def test_other_config_in_same_directory_is_refused(tmp_path):
    args = FAST + ["model.depth=8", "trainer.max_steps=10", "logger=none"]
    run_py(args, tmp_path)
    run_dir = tmp_path / "outputs" / "runs" / "synthetic-ResNet-8-s0"
    # run.log: the command's own log; .lock: who holds the directory (runlock.py), not a record
    logs = {"run.log", ".lock"}
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.name not in logs}
    proc = run_py(args + ["optim.lr=0.05"], tmp_path, check=False)
    assert proc.returncode == 2
    assert "optim.lr: 0.1 there, 0.05 here" in proc.stderr and "run_name=" in proc.stderr
    after = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.name not in logs}
    assert after == before  # nothing of the earlier run was touched


@pytest.mark.slow  # four runs through run.py (over a minute); `make test-slow` runs it
def test_multirun_2x2(tmp_path):
    proc = run_py(["-m"] + FAST + ["logger=csv", "trainer.max_steps=10", "model.depth=8,14",
                                   "model.residual=true,false"], tmp_path)
    sweep = tmp_path / "outputs" / "sweeps" / "adhoc"
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert len(jobs) == 4
    labels = set()
    for job in jobs:
        cfg = yaml.safe_load((job / "config.yaml").read_text())
        summary = yaml.safe_load((job / "summary.json").read_text())
        assert summary["status"] == "done"
        assert METRICS <= set(read_metrics(job))
        assert (job / "csv" / "metrics.csv").is_file()  # logger=csv
        assert (job / "checkpoints" / "last.ckpt").is_file()
        assert f"model.depth={cfg['model']['depth']}" in job.name
        labels.add(summary["run_name"])
    assert labels == {"synthetic-ResNet-8-s0", "synthetic-plain-8-s0", "synthetic-ResNet-14-s0",
                      "synthetic-plain-14-s0"}
    assert "4 of 4 jobs done, 0 failed" in proc.stdout


def test_bad_value_is_one_sentence_and_leaves_nothing(tmp_path):
    proc = run_py(FAST + ["model.depth=21"], tmp_path, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: model.depth=21 is invalid")
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "outputs" / "runs" / "synthetic-ResNet-21-s0").exists()


def test_missing_cifar_offline_says_where_to_put_it(tmp_path):
    proc = run_py(["logger=none", f"data.root={tmp_path / 'nothing'}", "data.download=false"],
                  tmp_path, check=False)
    assert proc.returncode == 2
    msg = proc.stderr.strip().splitlines()[-1]
    assert "cifar-10-python.tar.gz" in msg and str(tmp_path / "nothing") in msg
    assert "Traceback" not in proc.stderr


def test_ckpt_path_continues_from_another_runs_checkpoint(tmp_path):
    run_py(FAST + ["model.depth=8", "logger=none", "trainer.max_steps=10"], tmp_path)
    ckpt = tmp_path / "outputs" / "runs" / "synthetic-ResNet-8-s0" / "checkpoints" / "last.ckpt"
    proc = run_py(FAST + ["model.depth=8", "logger=none", "trainer.max_steps=20", "run_name=longer",
                          f"ckpt_path={ckpt}"], tmp_path)
    assert f"starting from {ckpt} (iteration 10)" in proc.stdout
    m = read_metrics(tmp_path / "outputs" / "runs" / "longer")
    assert min(s for s, _ in m["train/error"]) > 10 and m["test/error"][-1][0] == 20
