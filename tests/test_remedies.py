"""The remedies of the degradation literature as parts of the same nets: stochastic depth (Huang
et al. 2016), checked against the paper's rules and equations."""

import pytest
import torch
from torch import nn

from resnet_lab.compose import compose
from resnet_lab.config import validate
from resnet_lab.errors import ConfigError
from resnet_lab.models import build_model, label, parse_net
from resnet_lab.models.gates import Identity, StochasticDepth, survival
from resnet_lab.models.units import PreactUnit

SD = dict(family="cifar", gate="stochastic_depth")


def branch_calls(net) -> list[int]:
    """Counts of each unit's branch runs, kept up to date by forward hooks."""
    counts = [0] * len(net.units())
    for i, u in enumerate(net.units()):
        u.branch.register_forward_hook(lambda *_, i=i: counts.__setitem__(i, counts[i] + 1))
    return counts


def test_survival_decays_linearly_from_the_input_to_p_L():
    """Huang et al. Eq. 4: p_l = 1 - l/L (1 - p_L); the 110-layer net has L = 54 units."""
    net = build_model(dict(SD, depth=110))
    p = [u.gate.survival for u in net.units()]
    assert len(p) == 54 and p[-1] == pytest.approx(0.5) and p[0] == pytest.approx(1 - 0.5 / 54)
    assert p == pytest.approx([1 - (i + 1) / 54 * 0.5 for i in range(54)])
    assert all(a > b for a, b in zip(p, p[1:], strict=False))
    q = [u.gate.survival for u in build_model(dict(SD, depth=20, survival_last=0.2)).units()]
    assert q[-1] == pytest.approx(0.2) and survival(3, 9, 0.2) == pytest.approx(1 - 3 / 9 * 0.8)


def test_a_dropped_unit_is_not_computed_and_is_its_shortcut():
    torch.manual_seed(0)
    net = build_model(dict(SD, depth=56, survival_last=0.3)).train()
    calls = branch_calls(net)
    x = torch.randn(8, 3, 32, 32)
    steps = 40
    for _ in range(steps):
        net(x)
    kept = [c / steps for c in calls]
    expected = [u.gate.survival for u in net.units()]
    assert any(c < steps for c in calls)  # some units were dropped...
    assert abs(sum(kept) - sum(expected)) < 0.1 * len(kept)  # ...about as often as p_l says
    net.eval()
    before = list(calls)
    net(x)
    assert [c - b for c, b in zip(calls, before, strict=True)] == [1] * len(calls)  # test: all run


def test_training_steps_through_dropped_units():
    """Backward through a net whose units are dropped now and then: a dropped branch gets no
    gradient, the others do (an in-place ReLU on the shortcut once broke this)."""
    torch.manual_seed(3)
    net = build_model(dict(SD, depth=20, survival_last=0.2)).train()
    calls = branch_calls(net)
    for _ in range(6):
        net.zero_grad(set_to_none=True)
        before = list(calls)
        net(torch.randn(4, 3, 32, 32)).sum().backward()
        for unit, c, b in zip(net.units(), calls, before, strict=True):
            assert (unit.branch.conv1.weight.grad is not None) == (c > b)


def test_a_dropped_unit_outputs_its_shortcut():
    torch.manual_seed(1)
    net = build_model(dict(SD, depth=20, survival_last=0.5)).train()
    unit = net.units()[-1]
    unit.gate.survival = 0.0  # always dropped
    x = torch.randn(2, 64, 8, 8)
    with torch.no_grad():
        assert torch.equal(unit(x), torch.relu(unit.shortcut(x)))


def test_the_test_time_output_is_the_expectation_over_drops():
    """A pre-activation unit's output is affine in its gate (nothing after the addition), so its
    expectation over the drop is exact in closed form: p (x + F(x)) + (1 - p) x = x + p F(x),
    which is what the unit computes at test time (Eq. 5)."""
    torch.manual_seed(2)
    net = build_model(dict(SD, depth=20, block="preact", survival_last=0.4))
    unit = net.units()[4]
    assert isinstance(unit, PreactUnit) and isinstance(unit.gate, StochasticDepth)
    for m in unit.modules():  # trained BN statistics, so that F(x) is not trivial
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2)
    p, x = unit.gate.survival, torch.randn(4, 32, 16, 16)
    unit.eval()
    with torch.no_grad():
        tested = unit(x)
        unit.gate.train()  # the training-time gate, BN still in eval mode
        outcomes = {}
        for _ in range(200):
            computed = unit.gate.computes()
            unit.gate.draws -= 1  # the same draw again, now through the unit
            outcomes[computed] = unit(x)
        assert set(outcomes) == {True, False}
        expectation = p * outcomes[True] + (1 - p) * outcomes[False]
    torch.testing.assert_close(tested, expectation, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(outcomes[False], x)


def test_the_draws_are_the_runs_seed_and_resume_with_the_weights():
    """Two nets built under one seed drop the same units; a net loaded from a state dict midway
    continues the same sequence of drops; another seed drops others."""
    def drops(net, n):
        calls = branch_calls(net)
        seq = []
        for _ in range(n):
            before = list(calls)
            net(torch.zeros(1, 3, 32, 32))
            seq.append(tuple(c - b for c, b in zip(calls, before, strict=True)))
        return seq

    def make(seed):
        torch.manual_seed(seed)
        return build_model(dict(SD, depth=20)).train()

    first = drops(make(0), 12)
    assert first == drops(make(0), 12) and first != drops(make(1), 12)
    half = make(0)
    drops(half, 5)
    resumed = make(7)  # other weights and seed, then the checkpoint's state
    resumed.load_state_dict(half.state_dict())
    assert drops(resumed, 7) == first[5:]


def test_stochastic_depth_names_read_back():
    assert label(dict(SD, depth=110)) == "ResNet-110-SD"
    assert label(dict(SD, depth=1202, survival_last=0.8)) == "ResNet-1202-SD0.8"
    assert parse_net("ResNet-110-SD") == dict(depth=110, residual=True, bottleneck=False,
                                               gate="stochastic_depth", shortcut="A")
    assert parse_net("preact-ResNet-164-SD0.2")["survival_last"] == 0.2
    m = compose(["net=ResNet-110-SD"]).model
    assert (m.gate, m.survival_last, m.depth) == ("stochastic_depth", 0.5, 110)
    assert isinstance(build_model(dict(family="cifar", depth=20)).units()[0].gate, Identity)


@pytest.mark.parametrize("overrides,message", [
    (["net=plain-56", "model.gate=stochastic_depth"],
     r"^model\.gate='stochastic_depth' is invalid; valid values: identity with model\.residual=false"),
    (["model.survival_last=0.8"], r"model\.survival_last=0\.8 .*unless model\.gate=stochastic_depth"),
    (["net=ResNet-56-SD", "model.survival_last=0"], r"model\.survival_last=0\.0 .*\(0, 1\]"),
    (["model.gate=dropout"], r"model\.gate='dropout' is invalid; valid values: identity, stochastic_depth"),
    (["net=ResNet-56-SD", "trainer=ddp"], r"ddp_find_unused_parameters_true with model\.gate=stochastic_depth"),
])
def test_meaningless_combinations_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose(overrides))
