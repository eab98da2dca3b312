"""Lightning's own mechanisms work on a run: metrics reach ``callback_metrics`` (EarlyStopping),
the lr is a real LR scheduler (LearningRateMonitor), callbacks come from the config
(``callbacks`` group, ``_target_``), and the schedule's state rides in the checkpoint."""

import json

import pytest
import torch
from lightning.pytorch.callbacks import Callback

from resnet_lab.checkpoints import load_checkpoint
from resnet_lab.compose import compose
from resnet_lab.records import read_metrics
from resnet_lab.schedule import IterationLR, LrSchedule
from resnet_lab.train import resolved, train

from .conftest import FAST

BASE = FAST + ["model.depth=8", "logger=none", "trainer.progress=none", "responses.enabled=false"]


class Recorder(Callback):
    """A user's callback, built from ``+callbacks.mine._target_=tests.test_callbacks.Recorder``:
    writes the iterations it saw end and the validation metrics it was shown."""

    def __init__(self, path: str, tag: str = "") -> None:
        self.path, self.tag, self.seen = path, tag, {"batches": [], "val": [], "tag": tag}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.seen["batches"].append(trainer.global_step)

    def on_validation_end(self, trainer, pl_module) -> None:
        self.seen["val"].append({k: float(v) for k, v in trainer.callback_metrics.items() if "/" in k})

    def on_fit_end(self, trainer, pl_module) -> None:
        with open(self.path, "w") as f:
            json.dump(self.seen, f)


def test_a_users_callback_from_target_is_called_and_sees_the_metrics(tmp_path):
    out = tmp_path / "seen.json"
    train(compose(BASE + ["trainer.max_steps=20", "trainer.eval_every=10", "trainer.log_every=5",
                          "+callbacks.mine._target_=tests.test_callbacks.Recorder",
                          f"+callbacks.mine.path={out}", "+callbacks.mine.tag=hello"]), tmp_path / "run")
    seen = json.loads(out.read_text())
    assert seen["tag"] == "hello" and seen["batches"] == list(range(1, 21))
    # every evaluation reaches callback_metrics: val and test error, and the latest train error
    assert len(seen["val"]) == 2
    rows = read_metrics(tmp_path / "run")
    for i, step in enumerate((10, 20)):
        assert seen["val"][i]["val/error"] == pytest.approx(dict(rows["val/error"])[step])
        assert seen["val"][i]["test/error"] == pytest.approx(dict(rows["test/error"])[step])
        assert seen["val"][i]["train/error"] == pytest.approx(dict(rows["train/error"])[step])


def test_early_stopping_on_val_error_stops_the_run_early(tmp_path):
    # min_delta 100: no evaluation can improve on the first, so it stops after patience 1 more
    summary = train(compose(BASE + ["trainer.max_steps=200", "trainer.eval_every=10", "trainer.log_every=5",
                                    "callbacks=[default,early_stopping]", "callbacks.early_stopping.patience=1",
                                    "callbacks.early_stopping.min_delta=100"]), tmp_path / "run")
    assert summary["status"] == "done" and summary["steps"] == 20
    assert [s for s, _ in read_metrics(tmp_path / "run")["val/error"]] == [10, 20]


def test_lr_monitor_logs_the_schedules_lr_across_its_drops(tmp_path):
    train(compose(BASE + ["trainer.max_steps=30", "trainer.eval_every=30", "trainer.log_every=1",
                          "optim.milestones=[10,20]", "callbacks=[default,lr_monitor]"]), tmp_path / "run")
    rows = read_metrics(tmp_path / "run")
    monitored = [v for _, v in rows["lr-SGD"]]
    assert len(monitored) == 30
    # 0.1 for 10 iterations, then 0.01, then 0.001: the scheduler Lightning steps is the paper's
    assert monitored == pytest.approx([0.1] * 10 + [0.01] * 10 + [0.001] * 10)
    assert [v for _, v in rows["lr"]] == pytest.approx(monitored)


def test_a_callback_that_cannot_be_built_is_one_sentence_before_any_work(tmp_path):
    from resnet_lab.errors import ConfigError

    with pytest.raises(ConfigError, match=r"callbacks\.mine cannot be built .*_target_"):
        train(compose(BASE + ["+callbacks.mine._target_=no_such_module.Callback"]), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_rich_progress_replaces_the_projects_display(tmp_path):
    cfg = resolved(compose(BASE + ["callbacks=[default,rich_progress]"]))
    assert cfg["callbacks"]["progress"] is None
    assert cfg["callbacks"]["rich_progress"]["_target_"].endswith("RichProgressBar")
    summary = train(compose(BASE + ["trainer.max_steps=4", "trainer.eval_every=2", "trainer.log_every=2",
                                    "callbacks=[default,rich_progress]"]), tmp_path / "run")
    assert summary["status"] == "done"


def _optim(**kw):
    return resolved(compose([f"optim.{k}={v}" for k, v in kw.items()]))["optim"]


def test_scheduler_state_rides_in_a_weights_only_checkpoint(tmp_path):
    params = [torch.nn.Parameter(torch.zeros(1))]
    a_opt = torch.optim.SGD(params, lr=0.1)
    a = IterationLR(a_opt, LrSchedule(_optim(**{"warmup.window": 3}), warmup=True))
    for step, e in enumerate([90.0, 70.0, 60.0, 50.0]):
        a.schedule.observe_train_error(step, e)
        a_opt.step()
        a.step()
    assert not a.schedule.warming_up and a_opt.param_groups[0]["lr"] == 0.1
    torch.save({"state_dict": {}, "lr_schedulers": [a.state_dict()]}, tmp_path / "c.ckpt")
    state = load_checkpoint(tmp_path / "c.ckpt")["lr_schedulers"][0]  # weights_only=True
    b_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    b = IterationLR(b_opt, LrSchedule(_optim(**{"warmup.window": 3}), warmup=True))
    assert b.schedule.warming_up
    b.load_state_dict(state)
    assert not b.schedule.warming_up and b.schedule.warmup_ended_at == a.schedule.warmup_ended_at
    assert b.last_epoch == a.last_epoch == 4
    b_opt.step()
    b.step()
    assert b_opt.param_groups[0]["lr"] == pytest.approx(0.1)


def test_a_plateau_division_applies_from_the_next_iteration(tmp_path):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    s = IterationLR(opt, LrSchedule(_optim(schedule="plateau", **{"plateau.patience": 1}), warmup=False))
    assert s.schedule.observe_val_error(50.0) is False
    assert s.schedule.observe_val_error(50.0) is True  # stalled: divided now
    s.refresh()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01) and s.get_last_lr() == pytest.approx([0.01])
