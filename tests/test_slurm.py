"""The SLURM launcher against a real SLURM: the one-node cluster of scripts/local_slurm.sh.

Marked ``slurm``: not in the default run; ``make test-slurm`` runs them. They start the local
cluster (skipped, with the reason, when it cannot start) and every wait is bounded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resnet_lab.records import RunDir, read_metrics

from .conftest import ROOT, run_py

pytestmark = pytest.mark.slurm

SCRIPT = ROOT / "scripts" / "local_slurm.sh"
SLURM_DIR = Path(os.environ.get("RESNET_LAB_SLURM_DIR", "/tmp/resnet_lab_slurm"))
SLURM_CONF = SLURM_DIR / "etc" / "slurm.conf"
# tiny jobs: the node has the machine's few CPUs
TINY = ["data=synthetic", "trainer=cpu", "logger=csv", "model.depth=8", "data.train_size=256",
        "data.val_size=64", "data.test_size=64", "data.batch_size=32", "trainer.deterministic=true",
        "trainer.progress=lines"]
SMOKE = ["experiment=smoke", "net=plain-8,ResNet-8", *TINY[2:], "trainer.max_steps=20",
         "trainer.eval_every=10", "trainer.ckpt_every=10", "trainer.log_every=5"]
SLURM = ["hydra/launcher=slurm_local"]


@pytest.fixture(scope="module")
def cluster():
    try:
        proc = subprocess.run([str(SCRIPT), "up"], capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        pytest.skip("the local SLURM did not start within 600 s")
    if proc.returncode != 0:
        pytest.skip(f"the local SLURM cannot start: {(proc.stderr or proc.stdout).strip().splitlines()[-1]}")
    return {"SLURM_CONF": str(SLURM_CONF)}


@pytest.fixture
def env(cluster, monkeypatch):
    monkeypatch.setenv("SLURM_CONF", cluster["SLURM_CONF"])
    return cluster


def slurm(*cmd: str) -> str:
    return subprocess.run(list(cmd), capture_output=True, text=True, check=True, timeout=30,
                          env={**os.environ, "SLURM_CONF": str(SLURM_CONF)}).stdout


def jobs_of(sweep: Path) -> dict[str, dict]:
    return {d.name: RunDir(d).summary() for d in sorted(sweep.iterdir()) if (d / "summary.json").is_file()}


def start(args, cwd) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "run.py"), *args], cwd=cwd, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def until(predicate, proc, what, timeout=240):
    end = time.time() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the sweep ended before {what}:\n{proc.stdout.read()[-3000:]}")
        if time.time() > end:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def slurm_jobs() -> list[str]:
    return slurm("squeue", "-h", "-o", "%i").split()


def test_smoke_study_through_slurm_records_like_the_local_launcher(env, tmp_path):
    run_py([*SMOKE, f"hydra.sweep.dir={tmp_path / 'local'}"], tmp_path, timeout=600)
    out = run_py([*SMOKE, *SLURM, f"hydra.sweep.dir={tmp_path / 'slurm'}"], tmp_path, timeout=600)
    assert "2 of 2 jobs done, 0 failed" in out.stdout
    local, remote = jobs_of(tmp_path / "local"), jobs_of(tmp_path / "slurm")
    assert local.keys() == remote.keys() and len(local) == 2
    for name in local:
        assert remote[name]["status"] == "done"
        assert set(remote[name]) == set(local[name])
        files = {p.name for p in (tmp_path / "local" / name).iterdir()}
        assert files <= {p.name for p in (tmp_path / "slurm" / name).iterdir()}
        assert read_metrics(tmp_path / "slurm" / name) == read_metrics(tmp_path / "local" / name)
    assert list((tmp_path / "slurm" / ".submitit").iterdir())  # really through SLURM


LONG = ["experiment=smoke", "net=ResNet-8", *TINY[2:], "trainer.max_steps=120",
        "trainer.eval_every=40", "trainer.ckpt_every=40", "trainer.log_every=5"]


def test_a_job_preempted_by_slurms_signal_requeues_and_resumes_exactly(env, tmp_path):
    run_py([*LONG, f"hydra.sweep.dir={tmp_path / 'ref'}"], tmp_path, timeout=600)
    sweep = tmp_path / "slurm"
    proc = start([*LONG, *SLURM, f"hydra.sweep.dir={sweep}"], tmp_path)

    def past_first_checkpoint():  # iteration 40 saved, the run on its way to 120
        return any(s >= 45 for d in sweep.glob("*/metrics.csv")
                   for rows in read_metrics(d.parent).values() for s, _ in rows)

    until(past_first_checkpoint, proc, "the job's first checkpoint")
    job = slurm_jobs()[0]
    slurm("scancel", "--signal=USR1", job)  # what --signal=USR1@N sends before the time limit
    out = proc.communicate(timeout=400)[0]
    assert proc.returncode == 0, out[-3000:]
    (run_dir,) = [d for d in sweep.iterdir() if (d / "summary.json").is_file()]
    (ref_dir,) = [d for d in (tmp_path / "ref").iterdir() if (d / "summary.json").is_file()]
    log = (run_dir / "run.log").read_text()
    assert "(SIGUSR1; saved as its checkpoint)" in log and "requeueing SLURM job" in log
    assert "resuming from its last checkpoint (iteration" in log
    assert RunDir(run_dir).summary()["status"] == "done"
    assert read_metrics(run_dir) == read_metrics(ref_dir)
    assert "REQUEUED" in slurm("sacct", "-n", "-X", "-D", "-j", job, "-o", "State")


def test_a_failed_and_a_cancelled_job_are_named_while_the_others_finish(env, tmp_path):
    sweep = tmp_path / "sweep"
    # model.depth=21 is refused (a failed job); of 8 and 14, the later job is cancelled
    args = ["-m", *TINY, "trainer.max_steps=150", "trainer.eval_every=50", "trainer.ckpt_every=50",
            "model.depth=8,21,14", *SLURM, f"hydra.sweep.dir={sweep}"]
    proc = start(args, tmp_path)
    until(lambda: any(sweep.glob("*/metrics.csv")), proc, "a job to train")
    victim = sorted(slurm_jobs())[-1]
    slurm("scancel", victim)
    out = proc.communicate(timeout=400)[0]  # the launcher is not left waiting on it
    assert proc.returncode == 1, out[-3000:]  # jobs not done: non-zero, after the summary
    assert "1 of 3 jobs done, 2 failed" in out, out[-3000:]
    failed = [line for line in out.splitlines() if line.startswith("  FAILED")]
    assert any("model.depth=21 is invalid" in line for line in failed), failed
    assert any("CANCELLED" in line for line in failed), failed
    states = sorted(s["status"] for s in jobs_of(sweep).values())
    assert states == ["cancelled", "done", "failed"], json.dumps(jobs_of(sweep))
    assert "cancelled" in (sweep / "sweep_summary.csv").read_text()


def test_two_task_ddp_job_gives_the_local_ddp_runs_curves(env, tmp_path):
    # one SLURM job of 2 tasks (srun starts both ranks; Lightning's SLURM environment joins them,
    # gloo on the CPU) against the 2 processes resnet_lab starts itself
    args = ["-m", *TINY, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
            "trainer.max_steps=30", "trainer.eval_every=15", "trainer.ckpt_every=15",
            "trainer.log_every=5", "data.batch_size=64", "data.train_size=512", "seed=0"]
    run_py([*args, f"hydra.sweep.dir={tmp_path / 'local'}"], tmp_path, timeout=600)
    run_py([*args, *SLURM, "hydra.launcher.tasks_per_node=2", f"hydra.sweep.dir={tmp_path / 'slurm'}"],
           tmp_path, timeout=600)
    (local,) = jobs_of(tmp_path / "local").keys()
    ours = tmp_path / "slurm" / local
    assert RunDir(ours).summary()["status"] == "done" and RunDir(ours).summary()["world_size"] == 2
    assert len(list((tmp_path / "slurm" / ".submitit").glob("*/*_result.pkl"))) == 2  # two tasks
    assert (ours / "metrics.csv").read_text() == (tmp_path / "local" / local / "metrics.csv").read_text()
