"""Killed runs resume exactly, sweeps survive failed jobs, nothing unsafe is loaded."""

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import Callback
from torch import nn

import resnet_lab.train as train_mod
from resnet_lab.checkpoints import AtomicCheckpointIO, CheckpointError, load_checkpoint
from resnet_lab.cli import restarts
from resnet_lab.compose import compose
from resnet_lab.errors import DivergenceError, Interrupted, RunDirError
from resnet_lab.records import RunDir, read_metrics
from resnet_lab.runlock import holder
from resnet_lab.train import resolved, train

from .conftest import FAST, ROOT, run_py, start_run_py, wait_for

RESUME = FAST + ["model.depth=8", "logger=none", "trainer.max_steps=40", "trainer.eval_every=10",
                 "trainer.ckpt_every=10", "trainer.log_every=5", "trainer.deterministic=true"]


def last_logged_step(run_dir: Path) -> int:
    m = read_metrics(run_dir)
    return max((s for rows in m.values() for s, _ in rows), default=0)


def weights(run_dir: Path) -> dict:
    return load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["state_dict"]


@pytest.mark.slow  # a minute or more of real training: make test-slow
def test_sigkilled_run_resumes_to_the_same_result(tmp_path):
    (tmp_path / "ref").mkdir()
    run_py(RESUME, tmp_path / "ref")
    ref = tmp_path / "ref" / "outputs" / "runs" / "synthetic-ResNet-8-s0"
    (tmp_path / "cut").mkdir()
    run_dir = tmp_path / "cut" / "outputs" / "runs" / "synthetic-ResNet-8-s0"
    proc = start_run_py(RESUME, tmp_path / "cut")
    # past the checkpoint of iteration 20, before the end
    wait_for(lambda: last_logged_step(run_dir) >= 25, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert RunDir(run_dir).summary()["status"] == "running"  # really cut short
    again = run_py(RESUME, tmp_path / "cut")
    assert "resuming from its last checkpoint (iteration 20)" in again.stdout
    assert read_metrics(run_dir) == read_metrics(ref)
    a, b = weights(ref), weights(run_dir)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert RunDir(run_dir).summary()["test_error"] == RunDir(ref).summary()["test_error"]


# Runs a training whose second checkpoint save stops half-way (after writing some bytes) and
# signals that it has, so the test can kill the process in the middle of that save for sure.
SLOW_SAVE = """
import sys, time, torch
real, saves = torch.save, []
def save(obj, f, *args, **kwargs):
    saves.append(1)
    if len(saves) == 2:
        f.write(b"half a checkpoint"); f.flush()
        open(sys.argv[2], "w").close()
        time.sleep(600)
    return real(obj, f, *args, **kwargs)
torch.save = save
from resnet_lab.compose import compose
from resnet_lab.train import train
train(compose(sys.argv[3:]), sys.argv[1])
"""


@pytest.mark.slow  # a minute or more of real training: make test-slow
def test_kill_during_checkpointing_never_leaves_a_broken_checkpoint(tmp_path):
    args = FAST + ["model.depth=8", "logger=none", "trainer.max_steps=40", "trainer.ckpt_every=10",
                   "trainer.eval_every=10", "trainer.log_every=5", "responses.enabled=false"]
    run_dir, saving = tmp_path / "run", tmp_path / "saving"
    script = tmp_path / "slow_save.py"
    script.write_text(SLOW_SAVE)
    proc = subprocess.Popen([sys.executable, str(script), str(run_dir), str(saving), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for(saving.is_file, proc)  # the second checkpoint (iteration 20) is half written now
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list((run_dir / "checkpoints").glob(".last.ckpt.tmp-*"))  # killed mid-save for sure
    assert load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 10  # the old one, whole
    summary = train(compose(args), run_dir)  # resumes from it
    assert summary["status"] == "done" and summary["steps"] == 40
    assert not list((run_dir / "checkpoints").glob(".last.ckpt.tmp-*"))  # the torn file is cleaned up


def test_atomic_checkpoint_keeps_the_old_file_when_a_save_fails(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}, "global_step": 1}, path)

    def broken_save(obj, f, *a, **k):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(3)}, "global_step": 2}, path)
    monkeypatch.undo()
    assert load_checkpoint(path)["global_step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_sweep_with_a_bad_job_finishes_the_others_and_reruns_only_failures(tmp_path):
    args = ["-m"] + FAST + ["logger=none", "trainer.max_steps=10", "model.depth=8,21,14"]
    proc = run_py(args, tmp_path, check=False)
    assert proc.returncode == 1
    assert "2 of 3 jobs done, 1 failed" in proc.stdout
    failed = [line for line in proc.stdout.splitlines() if line.startswith("  FAILED")]
    assert len(failed) == 1 and "model.depth=21," in failed[0] and "model.depth=21 is invalid" in failed[0]
    sweep = tmp_path / "outputs" / "sweeps" / "adhoc"
    job = {d: next(sweep.glob(f"*model.depth={d},*")) for d in (8, 21, 14)}
    good = [job[8], job[14]]
    for d in good:
        assert RunDir(d).summary()["status"] == "done"
    table = (sweep / "sweep_summary.csv").read_text()
    assert "failed" in table and table.count("done") == 2
    bad = RunDir(job[21]).summary()
    assert bad["status"] == "failed" and "model.depth=21 is invalid" in bad["reason"]
    stamps = [(d / "metrics.csv").stat().st_mtime_ns for d in good]
    again = run_py(args, tmp_path, check=False)
    assert again.returncode == 1 and again.stdout.count("already done") == 2
    assert [(d / "metrics.csv").stat().st_mtime_ns for d in good] == stamps
    # a later multirun over part of the grid keeps the other jobs' rows in the saved table
    subset = run_py(["-m"] + FAST + ["logger=none", "trainer.max_steps=10", "model.depth=8"], tmp_path)
    assert "1 of 1 jobs done" in subset.stdout
    rows = (sweep / "sweep_summary.csv").read_text().splitlines()[1:]
    assert len(rows) == 3 and sum(",failed," in r for r in rows) == 1 and sum(",done," in r for r in rows) == 2


def test_divergence_stops_the_run_with_a_clear_message(tmp_path, monkeypatch):
    import resnet_lab.module as module

    original = module.build_model

    def exploding(cfg):
        m = original(cfg)
        nn.init.constant_(m.head.fc.bias, float("nan"))
        return m

    monkeypatch.setattr(module, "build_model", exploding)
    cfg = compose(FAST + ["model.depth=8", "logger=none", "trainer.max_steps=20", "trainer.log_every=5"])
    with pytest.raises(DivergenceError, match=r"diverged by iteration 5: the loss is nan at lr 0\.1.*warm"):
        train(cfg, tmp_path / "run")
    summary = RunDir(tmp_path / "run").summary()
    assert summary["status"] == "failed" and "diverged" in summary["reason"]
    assert summary["steps"] == 5  # where it stopped, for the tables (the stress test's)


class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _malicious_checkpoint(path: Path, marker: Path) -> None:
    payload = _Payload()
    payload.marker = marker
    torch.save({"state_dict": {}, "global_step": 3, "evil": payload}, path)


def test_malicious_checkpoint_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    _malicious_checkpoint(tmp_path / "evil.ckpt", marker)
    with pytest.raises(CheckpointError, match="refusing to load .*tensors and plain data"):
        load_checkpoint(tmp_path / "evil.ckpt")
    assert not marker.exists()
    (tmp_path / "garbage.ckpt").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "garbage.ckpt")


@pytest.mark.slow  # a minute or more of real training: make test-slow
def test_run_py_refuses_a_tampered_checkpoint(tmp_path):
    marker = tmp_path / "pwned"
    _malicious_checkpoint(tmp_path / "evil.ckpt", marker)
    proc = run_py(FAST + ["logger=none", f"ckpt_path={tmp_path / 'evil.ckpt'}"], tmp_path, check=False)
    assert proc.returncode == 2 and "refusing to load" in proc.stderr and not marker.exists()
    # the same file planted as a run's own last checkpoint
    args = FAST + ["model.depth=8", "logger=none", "trainer.max_steps=10"]
    run_py(args, tmp_path)
    run_dir = tmp_path / "outputs" / "runs" / "synthetic-ResNet-8-s0"
    RunDir(run_dir).update_summary(status="interrupted")
    _malicious_checkpoint(run_dir / "checkpoints" / "last.ckpt", marker)
    proc = run_py(args, tmp_path, check=False)
    assert proc.returncode == 2 and "refusing to load" in proc.stderr and not marker.exists()


@pytest.mark.parametrize("override,message", [
    ("model.dept=20", "unknown option model.dept (did you mean model.depth?)"),
    ("optim.warmup.lrr=0.1", "unknown option optim.warmup.lrr (did you mean optim.warmup.lr?)"),
    ("trainer.max_step=5", "unknown option trainer.max_step (did you mean trainer.max_steps?)"),
])
def test_unknown_command_line_key_names_the_nearest(tmp_path, override, message):
    proc = run_py(FAST + [override], tmp_path, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {message}")
    assert "Traceback" not in proc.stderr


def test_slurm_and_parallel_launchers_compose():
    for launcher, target in (("slurm", "SlurmLauncher"), ("submitit_slurm", "SlurmLauncher"),
                             ("local_parallel", "JoblibLauncher")):
        cfg = compose(["experiment=figure6", f"hydra/launcher={launcher}"], return_hydra_config=True)
        assert cfg.hydra.launcher._target_.endswith(target)
    cfg = compose(["experiment=figure6", "hydra/launcher=slurm", "hydra.launcher.partition=gpu"],
                  return_hydra_config=True)
    assert cfg.hydra.launcher.partition == "gpu" and cfg.hydra.launcher.gpus_per_node == 1


@pytest.mark.slow  # a minute or more of real training: make test-slow
def test_parallel_launcher_runs_jobs_and_summarises(tmp_path):
    proc = run_py(["-m", "hydra/launcher=local_parallel"] + FAST +
                  ["logger=none", "trainer.max_steps=10", "model.depth=8,14"], tmp_path)
    assert "2 of 2 jobs done, 0 failed" in proc.stdout
    sweep = tmp_path / "outputs" / "sweeps" / "adhoc"
    assert all(RunDir(next(sweep.glob(f"*model.depth={d},*"))).summary()["status"] == "done" for d in (8, 14))
    assert not list(sweep.glob(".jobs-*"))


@pytest.mark.slow  # a minute or more of real training: make test-slow
def test_ddp_on_cpu_with_two_processes(tmp_path):
    args = FAST + ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "model.depth=8",
                   "logger=none", "trainer.max_steps=60", "trainer.eval_every=30",
                   "trainer.log_every=10", "data.train_size=2000"]
    proc = run_py(args, tmp_path)
    run_dir = tmp_path / "outputs" / "runs" / "synthetic-ResNet-8-s0"
    summary = RunDir(run_dir).summary()
    assert summary["status"] == "done" and summary["world_size"] == 2 and summary["steps"] == 60
    assert summary["test_error"] < 60  # chance is 90%: the two processes trained one model
    m = read_metrics(run_dir)
    assert [s for s, _ in m["val/error"]] == [30, 60]
    rows = (run_dir / "metrics.csv").read_text().splitlines()[1:]
    # rank 1 logged nothing: every value once, but for the final test's, which comes last and
    # repeats the evaluation of the same weights at the same iteration
    assert rows.pop() == f"60,test/error,{dict(m['test/error'])[60]!r}"
    assert len(rows) == len(set(rows)) and sum(",train/error," in r for r in rows) == 6
    assert proc.stdout.count("test error") == 1


class _SignalAt(Callback):
    """Sends the process ``signum`` as iteration ``step`` ends, as a scheduler or a user would."""

    def __init__(self, step: int, signum: int) -> None:
        self.step, self.signum = step, signum

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)


# smaller still: three runs of it in one test
SIGNALLED = FAST + ["model.depth=8", "logger=none", "data.batch_size=16", "data.val_size=64",
                    "data.test_size=64", "trainer.max_steps=20", "trainer.eval_every=5",
                    "trainer.log_every=4", "trainer.ckpt_every=100", "trainer.deterministic=true",
                    "responses.enabled=false", "trainer.progress=none"]


def test_a_signal_saves_its_iteration_and_the_resume_ends_equal(tmp_path, monkeypatch):
    # no periodic checkpoint before the end: whatever a resume starts from, the signal saved it;
    # 7 is inside a log window, 10 an evaluated iteration (saved after its evaluation)
    train(compose(SIGNALLED), tmp_path / "ref")
    build = train_mod.build_callbacks
    for step, signum in ((7, signal.SIGUSR1), (10, signal.SIGINT)):
        run_dir = tmp_path / signum.name
        monkeypatch.setattr(train_mod, "build_callbacks", lambda c, s=step, n=signum: [*build(c), _SignalAt(s, n)])
        before = signal.getsignal(signum)
        with pytest.raises(Interrupted, match=rf"at iteration {step} \({signum.name}; saved") as e:
            train(compose(SIGNALLED), run_dir)
        assert e.value.exit_code == 128 + signum
        assert signal.getsignal(signum) == before  # the handlers are the caller's again
        assert load_checkpoint(RunDir(run_dir).last_checkpoint())["global_step"] == step
        assert RunDir(run_dir).summary()["status"] == "interrupted" and RunDir(run_dir).summary()["steps"] == step
        monkeypatch.undo()
        if signum == signal.SIGUSR1:  # SLURM's pre-emption signal: the job comes back requeued
            monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
        assert train(compose(SIGNALLED), run_dir)["steps"] == 20
        monkeypatch.undo()
        assert read_metrics(run_dir) == read_metrics(tmp_path / "ref")
        # the record says how the run got there; the uninterrupted one says nothing
        summary = RunDir(run_dir).summary()
        assert summary["resumed_at"] == [step] and "resumed_at" not in RunDir(tmp_path / "ref").summary()
        assert restarts(summary) == (f"requeued by SLURM once; resumed from iteration {step}"
                                     if signum == signal.SIGUSR1 else f"resumed from iteration {step}")
        a, b = weights(tmp_path / "ref"), weights(run_dir)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_summary_names_a_jobs_restarts():
    assert restarts({"status": "done"}) == ""
    assert restarts({"requeued": 2, "resumed_at": [40, 80]}) == \
        "requeued by SLURM twice; resumed from iterations 40, 80"
    assert restarts({"requeued": 3}) == "requeued by SLURM 3 times"  # killed before a checkpoint


def test_sigterm_saves_the_iteration_reached_and_exits_143(tmp_path):
    run_dir = tmp_path / "outputs" / "runs" / "synthetic-ResNet-8-s0"
    args = SIGNALLED + ["trainer.max_steps=1000", "trainer.progress=lines"]
    proc = start_run_py(args, tmp_path)
    wait_for(lambda: last_logged_step(run_dir) >= 6, proc)
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 143, out[-2000:]
    step = RunDir(run_dir).summary()["steps"]
    assert step >= 6 and load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"] == step
    assert f"interrupted at iteration {step} (SIGTERM; saved as its checkpoint); run the same command to resume" in out
    assert "Traceback" not in out
    again = start_run_py(args, tmp_path)
    wait_for(lambda: "resuming from" in (run_dir / "run.log").read_text(), again)
    again.kill()
    again.wait()
    assert f"resuming from its last checkpoint (iteration {step})" in (run_dir / "run.log").read_text()


# two sweeps in parallel (over half a minute): `make test-slow`; a second sweep into a finished one's
# directory is in the default suite (test_sweep_with_a_bad_job_finishes_the_others_and_reruns_only_failures)
@pytest.mark.slow
def test_two_sweeps_into_one_directory_share_its_jobs(tmp_path):
    # the first sweep is frozen while it trains its first job (SIGSTOP): the second meets that
    # job's lock for sure, moves on, trains the other job and ends; the first then finishes its
    # job and finds the other one done
    sweep = tmp_path / "D"
    args = ["-m"] + FAST + ["logger=none", "trainer.max_steps=10", "model.depth=8,14",
                            "responses.enabled=false", f"hydra.sweep.dir={sweep}"]
    first = start_run_py(args, tmp_path)
    first_job = lambda: next(sweep.glob("*model.depth=8*"), None)  # noqa: E731
    wait_for(lambda: first_job() is not None and holder(first_job()) is not None, first)
    first.send_signal(signal.SIGSTOP)
    try:
        second = run_py(args, tmp_path)
    finally:
        first.send_signal(signal.SIGCONT)
    out_first = first.communicate(timeout=600)[0]
    assert first.returncode == 0, out_first[-3000:]
    assert f"job 1 of 2: already running (pid {first.pid} on host " in second.stdout
    assert "1 of 2 jobs done, 0 failed, 1 running in another process" in second.stdout
    assert "job 2 of 2" in out_first and "already done" in out_first
    assert "2 of 2 jobs done, 0 failed" in out_first
    trained = (out_first + second.stdout).count("after 10 iterations in")
    assert trained == 2  # each job once
    for d in (first_job(), next(sweep.glob("*model.depth=14*"))):
        assert RunDir(d).summary()["status"] == "done"
        rows = (d / "metrics.csv").read_text().splitlines()
        assert rows[0] == "step,metric,value" and rows.count("step,metric,value") == 1
        # every row once, but for the final test's, which repeats the evaluation at iteration 10
        assert len(set(rows[1:-1])) == len(rows) - 2 and sum(",train/error," in r for r in rows) == 2
        assert holder(d) is None  # released


class TokenCallback(Callback):
    """A callback that takes a credential, as a user's own (a notifier's API token) would."""

    def __init__(self, api_token: str) -> None:
        self.api_token = api_token


def test_credentials_are_masked_in_messages_and_records(tmp_path):
    secret = "s3cr3t-value"
    refused = run_py(FAST + ["logger=none", f"+callbacks.x={{api_token: {secret}, every: 5}}"], tmp_path,
                     check=False)
    assert refused.returncode == 2
    assert "callbacks.x={'api_token': '<redacted>', 'every': 5} is invalid" in refused.stderr
    assert secret not in refused.stdout + refused.stderr
    args = FAST + ["model.depth=8", "logger=none", "trainer.max_steps=2", "responses.enabled=false",
                   "+callbacks.tok._target_=tests.test_reliability.TokenCallback",
                   f"+callbacks.tok.api_token={secret}", "+callbacks.monkey=null"]
    run_py(args, tmp_path)
    run_dir = tmp_path / "outputs" / "runs" / "synthetic-ResNet-8-s0"
    assert RunDir(run_dir).config()["callbacks"]["tok"]["api_token"] == "<redacted>"
    assert "+callbacks.tok.api_token=<redacted>" in (run_dir / "overrides.txt").read_text()
    assert "+callbacks.monkey=null" in (run_dir / "overrides.txt").read_text()  # not a credential's name
    for p in run_dir.rglob("*"):
        assert not p.is_file() or secret.encode() not in p.read_bytes(), p
    RunDir(run_dir).check_config(resolved(compose(args)))  # the masked record is still this command's run


def test_a_config_yaml_edited_after_the_run_is_refused(tmp_path):
    args = FAST + ["logger=none", "trainer.max_steps=2", "responses.enabled=false", "run_name=probe"]
    run_py(args + ["model.depth=8"], tmp_path)
    run_dir = tmp_path / "outputs" / "runs" / "probe"
    config = run_dir / "config.yaml"
    config.write_text(config.read_text().replace("depth: 8\n", "depth: 14\n", 1))
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.name not in ("run.log", ".lock")}
    proc = run_py(args + ["model.depth=14"], tmp_path, check=False)
    assert proc.returncode == 2 and "already done" not in proc.stdout
    assert proc.stderr.strip() == (
        f"error: {config} no longer matches the run's checkpoint (model.depth: 14 in config.yaml, 8 "
        f"in the checkpoint); the checkpoint is what was trained: restore config.yaml, or delete "
        f"{run_dir} to start over.")
    after = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.name not in ("run.log", ".lock")}
    assert after == before and RunDir(run_dir).summary()["params"] == 75290  # ResNet-8's, untouched


def test_a_monitor_the_module_never_logs_is_refused_before_any_work(tmp_path):
    proc = run_py(FAST + ["logger=none", "callbacks=[default,early_stopping]",
                          "callbacks.early_stopping.monitor=val/nonexistent"], tmp_path, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: callbacks.early_stopping.monitor='val/nonexistent' is invalid; valid values: "
        "train/error, train/loss, lr, val/error, test/error, val/top5_error, test/top5_error, "
        "train/grad_norm (what "
        "the module logs, metric_names.py).")
    assert not list((tmp_path / "outputs").rglob("*.yaml"))  # nothing written


def test_a_malformed_override_names_its_option(tmp_path):
    proc = run_py(FAST + ["optim.milestones=[1,"], tmp_path, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: optim.milestones: 'optim.milestones=[1,' cannot be read (no viable alternative at "
        "input '[1,'); write a list as optim.milestones=[a,b], a string with spaces or brackets in "
        "quotes, and quote the whole override for the shell.")


class _FailAt(Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == self.step:
            raise RuntimeError("failed at the first evaluation")


def test_a_run_that_failed_before_its_first_checkpoint_does_not_block_the_corrected_one(tmp_path, monkeypatch):
    args = FAST + ["model.depth=8", "logger=none", "trainer.max_steps=4", "trainer.eval_every=2",
                   "trainer.ckpt_every=4", "trainer.log_every=2", "responses.enabled=false"]
    build = train_mod.build_callbacks
    monkeypatch.setattr(train_mod, "build_callbacks", lambda c: [*build(c), _FailAt(2)])
    with pytest.raises(RuntimeError):
        train(compose(args), tmp_path / "run")
    assert RunDir(tmp_path / "run").summary()["status"] == "failed"
    assert RunDir(tmp_path / "run").last_checkpoint() is None
    monkeypatch.undo()
    summary = train(compose(args + ["optim.lr=0.05"]), tmp_path / "run")  # the corrected command
    assert summary["status"] == "done" and RunDir(tmp_path / "run").config()["optim"]["lr"] == 0.05
    assert [s for s, _ in read_metrics(tmp_path / "run")["train/error"]] == [2, 4]  # its own rows only
    # a directory holding a checkpoint is still another run's
    with pytest.raises(RunDirError, match="already holds a run with another config"):
        train(compose(args + ["optim.lr=0.02"]), tmp_path / "run")


DISK = FAST + ["model.depth=8", "logger=none", "trainer.max_steps=4", "trainer.eval_every=2",
               "trainer.ckpt_every=2", "trainer.log_every=2", "responses.enabled=false"]


@pytest.mark.parametrize("fault", ["ENOSPC", "torch"])
def test_a_full_disk_during_a_checkpoint_is_one_sentence_and_keeps_the_last_one(tmp_path, monkeypatch, fault):
    import resnet_lab.disk as disk

    real, saves = torch.save, []

    def filling(obj, f, *a, **k):  # the second save (iteration 4) meets a full disk half-way
        saves.append(1)
        if len(saves) < 2:
            return real(obj, f, *a, **k)
        f.write(b"half a checkpoint")
        if fault == "ENOSPC":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        # what torch's own writer says on a full disk; the disk then has 1 KiB left
        monkeypatch.setattr(disk, "free_bytes", lambda folder: 1024)
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", filling)
    run_dir = tmp_path / "run"
    with pytest.raises(disk.DiskError) as e:
        train(compose(DISK), run_dir)
    message = str(e.value)
    assert message.startswith(f"no space left in {run_dir / 'checkpoints'}: writing last.ckpt needs about 0.")
    assert "MiB free there" in message and "\n" not in message and "the last checkpoint is intact" in message
    monkeypatch.undo()
    summary = RunDir(run_dir).summary()
    assert summary["status"] == "failed" and summary["reason"] == message
    assert load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 2  # the good one, whole
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["last.ckpt"]


def test_a_read_only_output_directory_is_one_sentence(tmp_path, monkeypatch):
    import resnet_lab.records as records
    from resnet_lab.disk import DiskError, check_writable

    def read_only(path, text):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    # a read-only file system refuses root too (a chmod would not): injected where the run
    # writes its first record
    monkeypatch.setattr(records, "atomic_write", read_only)
    with pytest.raises(DiskError) as e:
        train(compose(DISK), tmp_path / "run")
    assert str(e.value) == (f"{tmp_path / 'run'} is not writable (Read-only file system); give the runs a "
                            f"writable directory with paths.output_root=<dir> (or hydra.run.dir / "
                            f"hydra.sweep.dir).")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []  # the run directory it made is gone again
    check_writable(tmp_path / "new" / "runs")  # a folder that would be made: tried where it would be
    assert list(tmp_path.iterdir()) == []
    # run.py checks the directory Hydra is about to make, before Hydra's traceback could
    import tempfile

    from resnet_lab.config.command_line import output_error

    with monkeypatch.context() as m:
        m.setattr(tempfile, "mkstemp", lambda **k: read_only(k["dir"], ""))
        assert output_error(["-m", "model.depth=8,14", f"paths.output_root={tmp_path / 'out'}"]) == (
            f"{tmp_path} is not writable (Read-only file system); give the runs a writable "
            f"directory with paths.output_root=<dir> (or hydra.run.dir / hydra.sweep.dir).")
    if os.geteuid() == 0:
        return  # root writes through permission bits: a real read-only directory for the others
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    proc = run_py(DISK + [f"paths.output_root={ro / 'outputs'}"], tmp_path, check=False)
    assert proc.returncode == 2 and proc.stderr.strip() == (
        f"error: {ro} is not writable (Permission denied); give the runs a writable directory with "
        f"paths.output_root=<dir> (or hydra.run.dir / hydra.sweep.dir).")


def test_wandb_without_a_network_goes_offline_at_once_and_says_how_to_sync(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)  # logged in (a key), online by default
    env = {"WANDB_API_KEY": "0123456789abcdef0123456789abcdef01234567",
           "WANDB_BASE_URL": "http://127.0.0.1:9"}  # nothing listens there: the no-network case
    started = time.time()
    proc = run_py(FAST + ["model.depth=8", "logger=wandb", "trainer.max_steps=2", "responses.enabled=false"],
                  tmp_path, env=env)
    run_dir = tmp_path / "outputs" / "runs" / "synthetic-ResNet-8-s0"
    assert time.time() - started < 120  # not W&B's minutes of retries
    line = next(x for x in proc.stdout.splitlines() if "W&B" in x)
    assert "W&B offline because http://127.0.0.1:9 cannot be reached: Connection refused (project " in line
    assert line.endswith(f"sync later with `wandb sync {run_dir / 'wandb'}`")
    assert "Traceback" not in proc.stdout + proc.stderr
    assert RunDir(run_dir).summary()["status"] == "done"
    assert list((run_dir / "wandb").glob("offline-run-*"))


def test_the_online_check_is_bounded_even_when_the_name_look_up_hangs(monkeypatch):
    import socket
    import threading

    from resnet_lab.loggers import unreachable

    released = threading.Event()

    def hang(*args, **kwargs):
        # a look-up that hangs until the test ends, then fails as a real one would, so the
        # abandoned thread does not outlive the test with this fake in hand
        released.wait(30)
        raise OSError("released by the test")

    monkeypatch.setattr(socket, "create_connection", hang)
    started = time.time()
    try:
        assert unreachable("https://api.wandb.ai", timeout=0.5) == "no answer within 0.5 s"
        assert time.time() - started < 2
    finally:
        released.set()
