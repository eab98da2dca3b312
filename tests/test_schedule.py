"""The paper's learning-rate schedule, in iterations, and the warm-up of very deep nets."""

from itertools import pairwise

import pytest

from resnet_lab.compose import compose
from resnet_lab.schedule import LrSchedule, warmup_enabled
from resnet_lab.train import resolved


def paper_optim(**overrides):
    return resolved(compose([f"optim.{k}={v}" for k, v in overrides.items()]))["optim"]


def test_multistep_hits_the_papers_lrs_at_32k_and_48k():
    s = LrSchedule(paper_optim(), warmup=False)
    assert s.lr(0) == 0.1
    assert s.lr(31999) == 0.1
    assert s.lr(32000) == pytest.approx(0.01)
    assert s.lr(47999) == pytest.approx(0.01)
    assert s.lr(48000) == pytest.approx(0.001)
    assert s.lr(63999) == pytest.approx(0.001)


def test_warmup_is_on_by_default_for_110_layers_and_deeper():
    assert not warmup_enabled("auto", "cifar", 56)
    assert warmup_enabled("auto", "cifar", 110)
    assert warmup_enabled("auto", "cifar", 1202)
    assert not warmup_enabled("auto", "imagenet", 152)
    assert warmup_enabled(True, "cifar", 20) and not warmup_enabled(False, "cifar", 110)


def test_warmup_ends_when_running_training_error_drops_below_80():
    s = LrSchedule(paper_optim(**{"warmup.window": 5}), warmup=True)
    errors = [90.0] * 10 + [85, 80, 78, 76, 75, 74, 73, 72]
    ended = None
    for step, e in enumerate(errors):
        assert s.lr(step) == 0.01, step
        if s.observe_train_error(step, e):
            ended = step
            break
    # the window of 5 at step 13, [90, 85, 80, 78, 76], averages 81.8; at step 14,
    # [85, 80, 78, 76, 75], 78.8 < 80: the warm-up ends after iteration 14
    assert ended == 14
    assert s.warmup_ended_at == 15
    assert s.lr(15) == 0.1
    assert s.lr(32000) == pytest.approx(0.01)  # the milestones are unchanged by the warm-up
    assert not s.observe_train_error(17, 99.0)  # once over, it stays over


def test_warmup_by_steps():
    s = LrSchedule(paper_optim(**{"warmup.until": "steps", "warmup.steps": 400}), warmup=True)
    for step in range(399):
        assert not s.observe_train_error(step, 95.0)
    assert s.observe_train_error(399, 95.0)
    assert s.lr(400) == 0.1


def test_schedule_state_round_trips_mid_warmup():
    a = LrSchedule(paper_optim(), warmup=True)
    for step in range(7):
        a.observe_train_error(step, 85.0)
    b = LrSchedule(paper_optim(), warmup=True)
    b.load_state_dict(a.state_dict())
    for step in range(7, 40):
        e = 90.0 - step
        assert a.observe_train_error(step, e) == b.observe_train_error(step, e)
        assert a.lr(step + 1) == b.lr(step + 1)
    assert a.warmup_ended_at == b.warmup_ended_at is not None


def test_plateau_divides_lr_when_val_error_stalls():
    s = LrSchedule(paper_optim(schedule="plateau", **{"plateau.patience": 2}), warmup=False)
    assert not s.observe_val_error(50.0)
    assert not s.observe_val_error(40.0)
    assert not s.observe_val_error(40.05)  # within threshold: no improvement
    assert s.observe_val_error(40.0)  # second stalled evaluation
    assert s.lr(10**6) == pytest.approx(0.01)
    assert not s.observe_val_error(30.0)
    assert s.lr(0) == pytest.approx(0.01)


def test_describe_names_the_schedule():
    s = LrSchedule(paper_optim(), warmup=True)
    text = s.describe(64000)
    assert "0.01 until train error < 80%" in text and "32000, 48000" in text


def test_linear_warmup_rises_from_the_warmup_lr_to_the_base_lr_over_its_steps():
    s = LrSchedule(paper_optim(**{"warmup.until": "steps", "warmup.steps": 200,
                                  "warmup.ramp": "linear"}), warmup=True)
    assert "lr 0.01 rising linearly until iteration 200, then lr 0.1" in s.describe(64000)
    seen = []
    for step in range(200):
        seen.append(s.lr(step))
        s.observe_train_error(step, 95.0)
    assert seen[0] == pytest.approx(0.01)
    assert seen[100] == pytest.approx(0.055)       # halfway: 0.01 + 0.09 / 2
    assert seen[199] == pytest.approx(0.01 + 0.09 * 199 / 200)
    assert all(b > a for a, b in pairwise(seen))
    assert max(b / a for a, b in pairwise(seen)) < 1.1  # no jump, unlike the paper's x10
    assert not s.warming_up and s.lr(200) == pytest.approx(0.1)
    assert s.lr(32000) == pytest.approx(0.01)


def test_a_linear_warmup_needs_a_known_length():
    from resnet_lab.config.validation import validate
    from resnet_lab.errors import ConfigError
    with pytest.raises(ConfigError, match=r"optim\.warmup\.ramp.*until=steps"):
        validate(compose(["optim.warmup.ramp=linear"]))
    with pytest.raises(ConfigError, match=r"optim\.warmup\.ramp.*constant, linear"):
        validate(compose(["optim.warmup.ramp=cosine"]))
    validate(compose(["optim.warmup.ramp=linear", "optim.warmup.until=steps"]))
