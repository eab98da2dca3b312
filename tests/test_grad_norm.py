"""trainer.log_grad_norm: train/grad_norm is the global L2 norm of the loss's gradients before
each optimizer step, logged at the log points when asked for and absent otherwise, and it changes
nothing the run computes."""

from __future__ import annotations

import copy

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from resnet_lab import hardware
from resnet_lab.compose import compose
from resnet_lab.config import validate
from resnet_lab.errors import ConfigError
from resnet_lab.metric_names import GRAD_NORM, TRAIN_LOSS
from resnet_lab.module import ResNetModule
from resnet_lab.records import MetricsRecord, read_metrics
from resnet_lab.train import build_module, resolved

EARLY_STOP = ["callbacks=[default,early_stopping]", f"callbacks.early_stopping.monitor={GRAD_NORM}"]


def config(*overrides: str) -> dict:
    """ResNet-8 with the paper's SGD (lr 0.1, momentum 0.9, weight decay 1e-4), fp32."""
    return resolved(compose(["model.depth=8", "trainer=debug", *overrides]))


def batches(n: int = 3) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(16, 3, 16, 16, generator=g), torch.randint(0, 10, (16,), generator=g))
            for _ in range(n)]


def fit(tmp_path, steps: int, log_every: int, on: bool) -> tuple[dict, ResNetModule]:
    """``steps`` iterations of ResNetModule through Lightning on ``batches``; metrics.csv's
    series and the module as it was before training."""
    c = config()
    torch.manual_seed(0)
    module = ResNetModule(c["model"], c["optim"], log_every=log_every, log_grad_norm=on)
    start = copy.deepcopy(module.model)
    data = batches(steps)
    loader = DataLoader(TensorDataset(torch.cat([x for x, _ in data]), torch.cat([y for _, y in data])),
                        batch_size=16, shuffle=False)
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=steps, log_every_n_steps=log_every,
                        logger=MetricsRecord(tmp_path), enable_progress_bar=False,
                        enable_checkpointing=False, enable_model_summary=False, limit_val_batches=0)
    trainer.fit(module, train_dataloaders=loader)
    return read_metrics(tmp_path), start


def norms_by_hand(net: torch.nn.Module, steps: int) -> list[float]:
    """Each iteration's gradient norm, sqrt of the sum of squares over every parameter's
    gradient, in a plain loop with torch's SGD at the same settings."""
    c = config()["optim"]
    opt = torch.optim.SGD(net.parameters(), lr=c["lr"], momentum=c["momentum"],
                          weight_decay=c["weight_decay"])
    out = []
    for x, y in batches(steps):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        out.append(sum(float(p.grad.double().pow(2).sum()) for p in net.parameters()) ** 0.5)
        opt.step()
    return out


def test_grad_norm_is_logged_every_iteration_and_equals_the_norm_by_hand(tmp_path):
    m, start = fit(tmp_path, steps=3, log_every=1, on=True)
    assert [s for s, _ in m[GRAD_NORM]] == [1, 2, 3]
    assert [v for _, v in m[GRAD_NORM]] == pytest.approx(norms_by_hand(start, 3), rel=1e-5)


def test_grad_norm_at_each_log_point_is_its_own_iterations_not_a_window_mean(tmp_path):
    m, start = fit(tmp_path, steps=3, log_every=2, on=True)
    by_hand = norms_by_hand(start, 3)
    # iteration 2's own norm, and the last, partial window's (iteration 3) at the run's end
    assert [s for s, _ in m[GRAD_NORM]] == [2, 3]
    assert [v for _, v in m[GRAD_NORM]] == pytest.approx(by_hand[1:], rel=1e-5)
    assert m[GRAD_NORM][0][1] != pytest.approx((by_hand[0] + by_hand[1]) / 2, rel=1e-3)


def test_off_logs_no_grad_norm_and_on_changes_nothing_else(tmp_path):
    on, _ = fit(tmp_path / "on", steps=3, log_every=1, on=True)
    off, _ = fit(tmp_path / "off", steps=3, log_every=1, on=False)
    assert GRAD_NORM not in off and off[TRAIN_LOSS]
    assert {k: v for k, v in on.items() if k != GRAD_NORM} == off


def test_the_config_key_reaches_the_module_and_defaults_to_off():
    numerics = hardware.Numerics("32-true", False, "test")
    assert build_module(config(), numerics).log_grad_norm is False
    assert build_module(config("trainer.log_grad_norm=true"), numerics).log_grad_norm is True


def test_monitoring_the_grad_norm_needs_it_logged():
    with pytest.raises(ConfigError, match=r"callbacks\.early_stopping\.monitor='train/grad_norm' "
                                          r".*trainer\.log_grad_norm=true"):
        validate(compose(["model.depth=8", *EARLY_STOP]))
    validate(compose(["model.depth=8", *EARLY_STOP, "trainer.log_grad_norm=true"]))
