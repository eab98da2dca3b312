"""The SLURM launcher against a real SLURM: the one-node cluster of scripts/local_slurm.sh.

Marked ``slurm``: not in the default run; ``make test-slurm`` runs them. They start the local
cluster (skipped, with the reason, when it cannot start) and every wait is bounded.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from resnet_lab.records import RunDir, read_metrics

from .conftest import ROOT, run_py, start_run_py, wait_for

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


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """The LONG run on the local launcher, never stopped: what a pre-empted job must end equal to."""
    root = tmp_path_factory.mktemp("uninterrupted")
    run_py([*LONG, f"hydra.sweep.dir={root / 'sweep'}"], root, timeout=600)
    (run_dir,) = [d for d in (root / "sweep").iterdir() if (d / "summary.json").is_file()]
    return run_dir


def stopped_by_slurm(tmp_path: Path, stop) -> tuple[Path, str, str]:
    """LONG through SLURM, ``stop(job)`` once its first checkpoint is behind it; the run
    directory, the job id and the sweep's output."""
    sweep = tmp_path / "slurm"
    proc = start_run_py([*LONG, *SLURM, f"hydra.sweep.dir={sweep}"], tmp_path)

    def past_first_checkpoint():  # iteration 40 saved, the run on its way to 120
        return any(s >= 45 for d in sweep.glob("*/metrics.csv")
                   for rows in read_metrics(d.parent).values() for s, _ in rows)

    wait_for(past_first_checkpoint, proc, "the job's first checkpoint", timeout=240)
    (job,) = slurm_jobs()
    stop(job)
    out = proc.communicate(timeout=400)[0]
    assert proc.returncode == 0, out[-3000:]
    (run_dir,) = [d for d in sweep.iterdir() if (d / "summary.json").is_file()]
    return run_dir, job, out


def assert_resumed_exactly(run_dir: Path, ref: Path, job: str, out: str, signal_name: str) -> None:
    log = (run_dir / "run.log").read_text()
    assert f"({signal_name}; saved as its checkpoint)" in log
    assert "resuming from its last checkpoint (iteration" in log
    summary = RunDir(run_dir).summary()
    assert summary["status"] == "done" and summary["requeued"] == 1 and len(summary["resumed_at"]) == 1
    # the sweep summary names how the job got to its end
    assert f"requeued by SLURM once; resumed from iteration {summary['resumed_at'][0]}" in out
    assert read_metrics(run_dir) == read_metrics(ref)
    assert "REQUEUED" in slurm("sacct", "-n", "-X", "-D", "-j", job, "-o", "State")


def test_a_job_preempted_by_slurms_signal_requeues_and_resumes_exactly(env, tmp_path, uninterrupted):
    # what --signal=USR1@signal_delay_s sends before the time limit
    run_dir, job, out = stopped_by_slurm(tmp_path, lambda job: slurm("scancel", "--signal=USR1", job))
    assert "requeueing SLURM job" in (run_dir / "run.log").read_text()
    assert_resumed_exactly(run_dir, uninterrupted, job, out, "SIGUSR1")
    # the signal is asked of SLURM in the job's own script, with the launcher's delay
    (script,) = (tmp_path / "slurm" / ".submitit").glob("*/*_submission.sh")
    assert "#SBATCH --signal=USR1@30" in script.read_text()  # slurm_local's signal_delay_s


def test_a_job_requeued_by_scontrol_resumes_exactly(env, tmp_path, uninterrupted):
    # `scontrol requeue` (an admin, a node drained) ends the job with SIGTERM and queues it again
    run_dir, job, out = stopped_by_slurm(tmp_path, lambda job: slurm("scontrol", "requeue", job))
    assert_resumed_exactly(run_dir, uninterrupted, job, out, "SIGTERM")


def test_a_failed_and_a_cancelled_job_are_named_while_the_others_finish(env, tmp_path):
    sweep = tmp_path / "sweep"
    # model.depth=21 is refused (a failed job); of 8 and 14, the later job is cancelled
    args = ["-m", *TINY, "trainer.max_steps=150", "trainer.eval_every=50", "trainer.ckpt_every=50",
            "model.depth=8,21,14", *SLURM, f"hydra.sweep.dir={sweep}"]
    proc = start_run_py(args, tmp_path)
    wait_for(lambda: any(sweep.glob("*/metrics.csv")), proc, "a job to train", timeout=240)
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
