"""The remedies of the degradation literature as parts of the same nets, each checked against its
paper's rules and equations: stochastic depth (Huang et al. 2016); nets without normalisation,
with He init, Fixup (Zhang, Dauphin & Ma 2019) or a learnable scalar on each branch (ReZero,
Bachlechner et al. 2020; SkipInit, De & Smith 2020)."""

import pytest
import torch
from torch import nn

from resnet_lab.compose import compose
from resnet_lab.config import validate
from resnet_lab.errors import ConfigError
from resnet_lab.models import build_model, count_params, label, parse_net, response_layers
from resnet_lab.models.gates import Identity, StochasticDepth, survival
from resnet_lab.models.init import fixup_factor
from resnet_lab.models.norms import Bias, NoNorm, Scale
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


# ---------------------------------------------------------------- without normalisation


NO_BN = dict(family="cifar", norm="none")
FIXUP = dict(family="cifar", norm="none", init="fixup")


def test_without_bn_every_bn_is_gone_and_its_place_kept():
    net = build_model(dict(NO_BN, depth=20, shortcut="B"))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert count_params(net) == count_params(build_model(dict(family="cifar", depth=20, shortcut="B"))) \
        - sum(m.weight.numel() * 2 for m in build_model(dict(family="cifar", depth=20, shortcut="B")).modules()
              if isinstance(m, nn.BatchNorm2d))
    assert len(response_layers(net)) == 19 and all(isinstance(m, NoNorm) for _, m in response_layers(net))


def output_std(cfg, depth, seed=0) -> float:
    torch.manual_seed(seed)
    net = build_model(dict(cfg, depth=depth)).eval()
    with torch.no_grad():
        return net(torch.randn(16, 3, 32, 32)).std().item()


def test_without_bn_he_init_explodes_with_depth_and_fixup_does_not():
    """He init keeps a plain conv stack's variance, but a residual unit adds its branch to its
    input: without BN the variance grows with every unit. Fixup starts each branch at 0 and
    keeps the output at the classifier's (zero) start; ReZero likewise."""
    he20, he110 = output_std(NO_BN, 20), output_std(NO_BN, 110)
    assert he110 > 1e4 * he20
    assert output_std(FIXUP, 110) == 0.0  # Fixup's classifier starts at 0
    assert output_std(dict(NO_BN, gate="rezero"), 110) < 10 * output_std(dict(NO_BN, gate="rezero"), 20)


@pytest.mark.parametrize("depth,bottleneck,m", [(20, False, 2), (29, True, 3)])
def test_fixup_init_follows_its_formula(depth, bottleneck, m):
    """Against the same net with He init, from the same seed (the same draws): each branch's last
    layer and the classifier at 0, its other layers rescaled by exactly L^(-1/(2m-2)) (L units,
    m layers a branch), the stem as He's, the scalar biases at 0 and the multipliers at 1."""
    cfg = dict(family="cifar", depth=depth, bottleneck=bottleneck, norm="none",
               **({"shortcut": "B"} if bottleneck else {}))
    torch.manual_seed(5)
    fixup = build_model(dict(cfg, init="fixup"))
    torch.manual_seed(5)
    he = build_model(cfg)
    units = fixup.units()
    factor = len(units) ** (-1 / (2 * m - 2))
    assert factor == fixup_factor(len(units), m) and len(units) == (depth - 2) // m
    for fu, hu in zip(units, he.units(), strict=True):
        fc = [c for c in fu.branch.modules() if isinstance(c, nn.Conv2d)]
        hc = [c for c in hu.branch.modules() if isinstance(c, nn.Conv2d)]
        assert len(fc) == m
        for f, h in zip(fc[:-1], hc[:-1], strict=True):
            assert torch.equal(f.weight, h.weight * factor)
        assert torch.count_nonzero(fc[-1].weight) == 0
        if isinstance(fu.shortcut, nn.Sequential):  # a projection keeps He's init
            assert torch.equal(fu.shortcut[0].weight, hu.shortcut[0].weight)
    assert torch.equal(fixup.stem.conv.weight, he.stem.conv.weight)
    assert torch.count_nonzero(fixup.head.fc.weight) == 0 and torch.count_nonzero(fixup.head.fc.bias) == 0
    biases = [m for m in fixup.modules() if isinstance(m, Bias)]
    scales = [m for m in fixup.modules() if isinstance(m, Scale)]
    per_branch = 4 if m == 2 else 6  # before each conv and each activation (and the end)
    assert len(biases) == per_branch * len(units) + 2  # + the stem's and the classifier's
    assert len(scales) == len(units)
    assert all(b.bias.item() == 0 for b in biases) and all(s.scale.item() == 1 for s in scales)


def test_rezero_starts_every_unit_as_its_shortcut():
    torch.manual_seed(4)
    for cfg in (dict(family="cifar", depth=20, gate="rezero"), dict(NO_BN, depth=20, gate="rezero")):
        net = build_model(cfg).train()
        assert all(u.gate.alpha.item() == 0.0 for u in net.units())
        x = torch.randn(2, 16, 32, 32)
        unit = net.units()[0]
        with torch.no_grad():
            assert torch.equal(unit(x.clone()), torch.relu(unit.shortcut(x)))
        alphas = [p for n, p in net.named_parameters() if n.endswith("gate.alpha")]
        assert len(alphas) == len(net.units())  # one learnable scalar a unit


def test_the_remedies_names_read_back():
    for name in ("Fixup-ResNet-110", "SkipInit-ResNet-56", "ReZero-ResNet-56", "ResNet-56-noBN",
                 "preact-ResNet-110-noBN", "Fixup-ResNet-164", "ReZero-preact-ResNet-56"):
        fields = parse_net(name)
        assert label(dict(family="cifar", **fields)) == name
    assert parse_net("Fixup-ResNet-110") == dict(depth=110, residual=True, bottleneck=False,
                                                 init="fixup", norm="none", shortcut="A")
    assert parse_net("SkipInit-ResNet-56")["gate"] == "rezero" and parse_net("SkipInit-ResNet-56")["norm"] == "none"
    assert parse_net("ReZero-ResNet-56")["norm"] == "bn"


@pytest.mark.parametrize("overrides,message", [
    (["model.init=fixup"], r"^model\.norm='bn' is invalid; valid values: none with model\.init=fixup"),
    (["net=Fixup-ResNet-56", "model.block=preact"], r"model\.block='preact' .*original with model\.init=fixup"),
    (["net=Fixup-ResNet-56", "model.residual=false"], r"model\.residual=False .*true with model\.init=fixup"),
    (["net=ResNet-56-noBN", "model.zero_init_residual=true"], r"false with model\.norm=none"),
    (["net=plain-56", "model.gate=rezero"], r"model\.gate='rezero' .*identity with model\.residual=false"),
    (["model.norm=ln"], r"^model\.norm='ln' is invalid; valid values: bn, none\.$"),
    (["model.init=xavier"], r"^model\.init='xavier' is invalid; valid values: he, fixup\.$"),
])
def test_meaningless_remedy_combinations_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose(overrides))
