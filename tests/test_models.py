"""The paper's networks, checked against the paper and against torchvision; and the
follow-ups' nets built from the same blocks (pre-activation, CIFAR bottlenecks, wide, ResNeXt)."""

import csv
import math

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from resnet_lab import paper
from resnet_lab.errors import ConfigError
from resnet_lab.models import (
    build_model,
    count_flops,
    count_params,
    count_weights,
    model_name,
    parse_net,
    response_layers,
)
from resnet_lab.models.__main__ import architecture_rows
from resnet_lab.models.__main__ import main as table_main
from resnet_lab.models.branches import Bottleneck, PreactBasic, PreactBottleneck
from resnet_lab.models.gates import Identity
from resnet_lab.models.shortcuts import Projection, ZeroPad, make_shortcut
from resnet_lab.models.units import PreactUnit
from resnet_lab.responses import layer_response_stds


def cifar(depth, residual=True, shortcut="A", **kw):
    return build_model(dict(family="cifar", depth=depth, residual=residual, shortcut=shortcut, **kw))


def imagenet(depth, residual=True, shortcut="B", stride_in="1x1", **kw):
    return build_model(dict(family="imagenet", depth=depth, residual=residual, shortcut=shortcut,
                            stride_in=stride_in, **kw))


def projection_params(model):
    """Parameters of the 1x1 projection shortcuts (conv + BN) of a model."""
    return sum(count_params(u.shortcut) for u in model.units() if isinstance(u.shortcut, Projection))


# ---------------------------------------------------------------- CIFAR

@pytest.mark.parametrize("depth", paper.CIFAR_DEPTHS)
def test_cifar_option_a_params_match_table6(depth):
    params = count_params(cifar(depth))
    digits = 1 if depth >= 110 else 2  # the paper prints 1.7M and 19.4M, 0.27M ...
    assert round(params / 1e6, digits) == paper.CIFAR_PARAMS_M[depth]


@pytest.mark.parametrize("depth", [20, 56])
def test_plain_and_residual_a_have_identical_parameters(depth):
    plain, res = cifar(depth, residual=False), cifar(depth)
    assert [(n, p.shape) for n, p in plain.named_parameters()] == \
           [(n, p.shape) for n, p in res.named_parameters()]


@pytest.mark.parametrize("depth", [20, 32])
def test_b_and_c_add_exactly_the_projections(depth):
    a, b, c = (cifar(depth, shortcut=s) for s in "ABC")
    assert projection_params(a) == 0
    # B: one projection where the shape changes (2 of them: 16->32, 32->64)
    assert count_params(b) - count_params(a) == projection_params(b) == (16 * 32 + 64) + (32 * 64 + 128)
    # C: a projection on every one of the 3n shortcuts
    n = (depth - 2) // 6
    expected_c = n * (16 * 16 + 32) + (16 * 32 + 64) + (n - 1) * (32 * 32 + 64) \
        + (32 * 64 + 128) + (n - 1) * (64 * 64 + 128)
    assert count_params(c) - count_params(a) == projection_params(c) == expected_c


@pytest.mark.parametrize("depth", [8, 20, 26, 1202])
def test_any_6n_plus_2_depth_builds(depth):
    m = cifar(depth)
    assert sum(1 for _ in response_layers(m)) == depth - 1  # every layer but the fc is 3x3
    assert m(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("depth", [21, 19, 2, 0, -4, "twenty", 20.5])
def test_invalid_cifar_depth_lists_valid_depths(depth):
    with pytest.raises(ConfigError, match=r"model\.depth=.*6n\+2.*20, 32, 44, 56, 110, 1202"):
        cifar(depth)


def test_unknown_shortcut_lists_valid_ones():
    with pytest.raises(ConfigError, match=r"model\.shortcut='D'.*A, B, C"):
        cifar(20, shortcut="D")


@pytest.mark.parametrize("shortcut", ["B", "C"])
def test_plain_net_with_projection_shortcut_is_refused(shortcut):
    with pytest.raises(ConfigError, match="plain nets have no shortcuts"):
        cifar(20, residual=False, shortcut=shortcut)


def test_unknown_model_key_names_nearest_option():
    with pytest.raises(ConfigError, match=r"model\.shortcuts \(did you mean model\.shortcut\?\)"):
        build_model(dict(family="cifar", depth=20, shortcuts="A"))


@pytest.mark.parametrize("family,option,value,match", [
    ("cifar", "family", "mnist", "cifar, imagenet"),
    ("cifar", "residual", "maybe", "true, false"),  # "yes" reads as true, as on the command line
    ("imagenet", "stride_in", "2x2", "1x1, 3x3"),
    ("cifar", "num_classes", 1, ">= 2"),
    ("cifar", "init_mode", "xavier", "fan_out, fan_in"),
    ("cifar", "shortcut_pad", "middle", "end, both"),
    ("cifar", "zero_init_residual", "maybe", "true, false"),
])
def test_bad_model_values_name_option_and_valid_values(family, option, value, match):
    cfg = dict(family=family, depth=20 if family == "cifar" else 18)
    cfg[option] = value
    with pytest.raises(ConfigError, match=rf"model\.{option}=.*{match}"):
        build_model(cfg)


def test_option_a_zero_pads_and_subsamples():
    sc = ZeroPad(16, 32, 2)
    x = torch.randn(2, 16, 8, 8)
    y = sc(x)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, :16], x[:, :, ::2, ::2])
    assert torch.count_nonzero(y[:, 16:]) == 0
    assert count_params(sc) == 0


def test_option_a_pads_both_sides_with_shortcut_pad_both():
    x = torch.randn(2, 16, 8, 8)
    y = ZeroPad(16, 32, 2, pad="both")(x)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, 8:24], x[:, :, ::2, ::2])  # the identity in the middle channels
    assert torch.count_nonzero(y[:, :8]) == 0 and torch.count_nonzero(y[:, 24:]) == 0
    odd = ZeroPad(3, 8, 1, pad="both")(x[:, :3])  # 5 zero channels: 2 before, 3 after
    assert torch.equal(odd[:, 2:5], x[:, :3]) and torch.count_nonzero(odd[:, :2]) == 0
    assert torch.count_nonzero(odd[:, 5:]) == 0


def test_shortcut_pad_reaches_option_a_and_is_ignored_by_b():
    pads = {m.pad for m in cifar(20, shortcut_pad="both").modules() if isinstance(m, ZeroPad)}
    assert pads == {"both"}
    assert {m.pad for m in cifar(20).modules() if isinstance(m, ZeroPad)} == {"end"}
    b = cifar(20, shortcut="B", shortcut_pad="both")  # no zero channels to place: no error
    assert count_params(b) == count_params(cifar(20, shortcut="B"))


def silence_residual_branches(model):
    """Make every unit's branch output exactly 0: zero its last conv (a pre-activation branch's
    last layer) and, in the original order, the BN after it."""
    for u in model.units():
        last = 3 if hasattr(u.branch, "conv3") else 2
        nn.init.zeros_(getattr(u.branch, f"conv{last}").weight)
        if not isinstance(u, PreactUnit):
            nn.init.zeros_(u.branch.last_bn.weight)
            nn.init.zeros_(u.branch.last_bn.bias)


@pytest.mark.parametrize("make,size", [(lambda r: cifar(20, residual=r), 32),
                                       (lambda r: imagenet(18, residual=r, shortcut="A"), 64)])
def test_plain_nets_have_no_shortcut(make, size):
    """With every block's conv path silenced, information can only flow through shortcuts:
    a residual net's output still depends on its input, a plain net's does not."""
    x1, x2 = torch.randn(2, 3, size, size).chunk(2)
    for residual in (True, False):
        m = make(residual).eval()
        silence_residual_branches(m)
        with torch.no_grad():
            same = torch.allclose(m(x1), m(x2))
        assert same is (not residual)


def test_he_initialisation():
    m = cifar(56)
    conv = m.layer3[0].branch.conv2  # 64 -> 64, 3x3: fan_out = 64 * 9
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (64 * 9)), rel=0.05)
    bn = m.layer3[0].branch.bn2
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)


@pytest.mark.parametrize("make,size", [
    (lambda **kw: cifar(20, **kw), 32),                                  # basic, option A
    (lambda **kw: cifar(11, shortcut="B", bottleneck=True, **kw), 32),   # bottleneck, option B
    (lambda **kw: imagenet(18, **kw), 64),                               # basic, option B
])
def test_zero_init_residual_starts_every_unit_as_the_identity(make, size):
    m = make(zero_init_residual=True)
    units = m.units()
    assert all(torch.all(u.branch.last_bn.weight == 0) for u in units)
    torch.manual_seed(0)
    with torch.no_grad():
        for u in units:  # in training mode too: a zero scale makes the branch exactly 0
            x = torch.randn(2, u.branch.conv1.in_channels, 8, 8)
            assert torch.allclose(u(x.clone()), torch.relu(u.shortcut(x)))
        x1, x2 = torch.randn(2, 3, size, size).chunk(2)
        assert not torch.allclose(m(x1), m(x2))  # the net still sees its input
    # the paper's init, the default: every BN scale starts at 1
    assert all(torch.all(u.branch.last_bn.weight == 1) for u in make().units())


def test_fashion_mnist_stem_takes_one_channel():
    m = cifar(20, in_channels=1)
    assert m(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    assert count_params(m) == count_params(cifar(20)) - 2 * 16 * 9


# ---------------------------------------------------------------- ImageNet

TV = {18: torchvision.models.resnet18, 34: torchvision.models.resnet34,
      50: torchvision.models.resnet50, 101: torchvision.models.resnet101,
      152: torchvision.models.resnet152}


@pytest.mark.parametrize("depth", paper.IMAGENET_DEPTHS)
def test_imagenet_option_b_equals_torchvision(depth):
    torch.manual_seed(0)
    ours, tv = imagenet(depth, stride_in="3x3").eval(), TV[depth]().eval()
    assert count_params(ours) == count_params(tv) == paper.TORCHVISION_PARAMS[depth]
    # our weights into torchvision (in its names) and torchvision's into ours, strictly
    tv.load_state_dict(ours.torchvision_state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), tv(x), rtol=0, atol=0)
    fresh = TV[depth]().eval()
    ours.load_state_dict(fresh.state_dict(), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), fresh(x), rtol=0, atol=0)
    if depth >= 50:
        # the paper's bottleneck strides the 1x1: same weights, another function
        paper_net = imagenet(depth, stride_in="1x1").eval()
        paper_net.load_state_dict(fresh.state_dict(), strict=True)
        with torch.no_grad():
            assert not torch.allclose(paper_net(x), fresh(x))


@pytest.mark.parametrize("depth", paper.IMAGENET_DEPTHS)
def test_imagenet_flops_match_table1(depth):
    macs = count_flops(imagenet(depth), (3, 224, 224))
    assert macs / 1e9 == pytest.approx(paper.IMAGENET_GFLOPS[depth], rel=0.02)


def test_cifar_flops_are_counted():
    f20, f56 = count_flops(cifar(20), (3, 32, 32)), count_flops(cifar(56), (3, 32, 32))
    # ResNet-20's 3x3 convs on 32x32x16: 32*32*16*16*9 multiply-adds for each of 7 layers, ...
    stage = lambda hw, c, layers: hw * hw * c * c * 9 * layers  # noqa: E731
    convs = 32 * 32 * 3 * 16 * 9 + stage(32, 16, 6) + stage(16, 32, 6) + stage(8, 64, 6) \
        - (16 * 16 * 32 * 32 * 9) // 2 - (8 * 8 * 64 * 64 * 9) // 2  # the two stride-2 convs
    assert f20 == convs + 64 * 10
    assert f56 > 3 * f20


@pytest.mark.parametrize("name, family, size", [
    ("ResNet-20-B", "cifar", (3, 32, 32)), ("ResNeXt-11-2x8d", "cifar", (3, 32, 32)),
    ("WRN-10-2", "cifar", (1, 32, 32)), ("ResNet-18-C", "imagenet", (3, 64, 64)),
    ("ResNet-50", "imagenet", (3, 64, 64))])
def test_flops_are_what_torchs_counter_counts_for_conv_and_fc(name, family, size):
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(dict(family=family, in_channels=size[0], **parse_net(name, family))).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, *size))
    assert count_flops(model, size) == counter.get_total_flops() // 2


@pytest.mark.parametrize("depth,expected", [(18, 16), (34, 32), (50, 16), (152, 50)])
def test_imagenet_response_layers(depth, expected):
    assert len(response_layers(imagenet(depth))) == expected


def test_imagenet_input_size_and_classes_configurable():
    m = imagenet(50, num_classes=7)
    assert m(torch.randn(2, 3, 32, 32)).shape == (2, 7)


@pytest.mark.parametrize("bad", [17, 200, "resnet18"])
def test_imagenet_invalid_depth(bad):
    with pytest.raises(ConfigError, match=r"model\.depth=.*18, 34, 50, 101, 152"):
        imagenet(bad)


# ---------------------------------------------------------------- the table

# every net of every family counted (about a minute): `make test-slow`, and `make architectures` prints
# it; the counts themselves are checked against the papers by the tests above and below
@pytest.mark.slow
def test_architecture_table_printed_and_saved(tmp_path, capsys):
    table_main(["--out", str(tmp_path / "arch")])
    printed = capsys.readouterr().out
    assert "ResNet-110-B" in printed and "plain-34" in printed and "ResNet-34-C" in printed
    assert "preact-ResNet-1001" in printed and "WRN-28-10" in printed and "ResNeXt-29-8x64d" in printed
    rows = list(csv.DictReader(open(tmp_path / "arch.csv")))
    beyond = len(paper.TORCHVISION_BEYOND) + 1  # torchvision's ResNeXt and wide, preact-152
    assert len(rows) == (6 + 5) * 4 + len(BEYOND_NAMES) + beyond
    assert set(rows[0]) >= {"family", "depth", "residual", "shortcut", "block", "params",
                            "weights_M", "GMACs", "paper_params_M", "paper_GFLOPs"}
    r56 = next(r for r in rows if r["model"] == "ResNet-56")
    assert r56["params_M"] == r56["paper_params_M"] == "0.85"
    r34 = next(r for r in rows if r["model"] == "ResNet-34")
    assert float(r34["GMACs"]) == pytest.approx(float(r34["paper_GFLOPs"]), rel=0.02)
    for name, reported in paper.BEYOND.items():  # the follow-ups' counts beside ours
        row = next((r for r in rows if r["model"] == name), None)
        if row and reported.params_m and not reported.source.startswith("He et al. 2015"):
            assert float(row["paper_params_M"]) == reported.params_m
            assert float(row["weights_M"]) == pytest.approx(reported.params_m, abs=0.055), name
    rx = next(r for r in rows if r["model"] == "ResNeXt-50-32x4d")
    assert float(rx["GMACs"]) == pytest.approx(4.2, rel=0.02)  # Xie et al., Table 1
    assert (tmp_path / "arch.md").read_text().count("\n|") >= len(rows)


BEYOND_NAMES = architecture_rows.__defaults__[2]


# ---------------------------------------------------------------- beyond the paper


def net(name, family="cifar", **kw):
    """The model config a ``net=`` name gives (parse_net, the family's defaults filled in)."""
    return dict(family=family, **parse_net(name, family), **kw)


def on_meta(cfg):
    with torch.device("meta"):  # shapes only: the largest nets are counted in milliseconds
        return build_model(cfg)


@pytest.mark.parametrize("name", [n for n, r in paper.BEYOND.items() if r.params_m])
def test_follow_ups_params_match_their_papers(name):
    """The 2016-17 papers count the conv and fc weights (ResNet-1001: 10.18M; 10.33M with its
    BNs); the 2015 paper's ResNet-1202 (19.4M) counts every parameter."""
    model = on_meta(net(name))
    counted = count_params(model) if name == "ResNet-1202" else count_weights(model)
    assert round(counted / 1e6, 1) == paper.BEYOND[name].params_m


@pytest.mark.parametrize("name,arch,tv", [
    ("ResNeXt-50-32x4d", dict(cardinality=32, base_width=4), torchvision.models.resnext50_32x4d),
    ("ResNeXt-50-1x128d", dict(base_width=128), torchvision.models.wide_resnet50_2),
])
def test_imagenet_resnext_and_wide_equal_torchvision(name, arch, tv):
    torch.manual_seed(0)
    ours, theirs = imagenet(50, stride_in="3x3", **arch).eval(), tv().eval()
    assert model_name(dict(family="imagenet", depth=50, **arch)) == name
    assert count_params(ours) == count_params(theirs) == paper.TORCHVISION_BEYOND[name][1]
    theirs.load_state_dict(ours.torchvision_state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=0)


def test_resnext_grouped_conv_has_the_stated_groups():
    m = build_model(net("ResNeXt-29-8x64d"))
    assert len(m.units()) == 9 and all(isinstance(u.branch, Bottleneck) for u in m.units())  # 3 a stage
    for stage, layer in enumerate((m.layer1, m.layer2, m.layer3)):
        for u in layer:
            b, width = u.branch, 8 * 64 * 2**stage  # C groups of d channels, doubled each stage
            assert (b.conv2.groups, b.conv2.in_channels, b.conv2.out_channels) == (8, width, width)
            assert b.conv2.weight.shape == (width, 64 * 2**stage, 3, 3)  # each group sees d
            assert b.conv3.out_channels == 256 * 2**stage
    assert m.stem.conv.out_channels == 64 and m.layer2[0].branch.conv2.stride == (2, 2)  # on the 3x3
    assert m(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert all(u.branch.conv2.groups == 32 for u in imagenet(50, cardinality=32, base_width=4).units())


def _bn(x, bn):
    return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)


def _randomize_bns(module):
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):  # statistics and affine parameters as after training
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)


@pytest.mark.parametrize("stride,in_planes,shortcut", [(1, 16, "A"), (2, 16, "B"), (2, 16, "A")])
def test_preact_basic_unit_is_x_plus_conv_relu_bn_conv_relu_bn(stride, in_planes, shortcut):
    torch.manual_seed(0)
    planes = in_planes * stride
    path = make_shortcut(shortcut, True, in_planes, planes, stride, projection_norm=False)
    u = PreactUnit(PreactBasic(in_planes, planes, stride), path, Identity()).eval()
    _randomize_bns(u)
    x = torch.randn(4, in_planes, 8, 8)
    b = u.branch
    pre = F.relu(_bn(x, b.bn1))
    branch = F.conv2d(F.relu(_bn(F.conv2d(pre, b.conv1.weight, stride=stride, padding=1), b.bn2)),
                      b.conv2.weight, padding=1)
    if isinstance(u.shortcut, nn.Identity):
        shortcut_path = x  # identity: the clean path, nothing after the addition
    elif shortcut == "A":
        shortcut_path = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, 0, planes - in_planes))
    else:  # a projection takes the pre-activated input, no BN after it
        assert len(u.shortcut) == 1
        shortcut_path = F.conv2d(pre, u.shortcut[0].weight, stride=stride)
    with torch.no_grad():
        torch.testing.assert_close(u(x), shortcut_path + branch, rtol=1e-5, atol=1e-5)
    assert [n for n, _ in b.named_children()][:4] == ["bn1", "conv1", "bn2", "conv2"]  # run order


def test_preact_bottleneck_unit_direct_computation():
    torch.manual_seed(0)
    u = PreactUnit(PreactBottleneck(64, 16), nn.Identity(), Identity()).eval()
    _randomize_bns(u)
    x, b = torch.randn(2, 64, 8, 8), u.branch
    out = F.conv2d(F.relu(_bn(x, b.bn1)), b.conv1.weight)
    out = F.conv2d(F.relu(_bn(out, b.bn2)), b.conv2.weight, padding=1)
    out = F.conv2d(F.relu(_bn(out, b.bn3)), b.conv3.weight)
    with torch.no_grad():
        torch.testing.assert_close(u(x), x + out, rtol=1e-5, atol=1e-5)


def test_preact_net_has_no_relu_on_the_identity_path():
    """Pre-activation: the stem is the conv alone and a BN-ReLU follows the last unit; the
    shortcut sum passes between units untouched (negative values survive)."""
    m = build_model(net("preact-ResNet-110"))
    assert list(dict(m.stem.named_children())) == ["conv"] and isinstance(m.head.bn, nn.BatchNorm2d)
    outs = []
    m.layer1[0].register_forward_hook(lambda mod, i, o: outs.append(o))
    m.eval()(torch.randn(2, 3, 32, 32))
    assert (outs[0] < 0).any()


@pytest.mark.parametrize("plain,resnet", [
    ("plain-56", "ResNet-56"), ("plain-164", "ResNet-164"), ("plain-WRN-16-8", "WRN-16-8"),
    ("plain-ResNeXt-29-8x64d", "ResNeXt-29-8x64d"), ("preact-plain-20", "preact-ResNet-20"),
])
def test_plain_twins_have_no_shortcut(plain, resnet):
    """The same layers without the shortcuts (and without the projections on them)."""
    twin, res = build_model(net(plain)), build_model(net(resnet))
    assert all(u.shortcut is None and not u.residual for u in twin.units())
    projections = sum(count_params(u.shortcut) for u in res.units() if u.shortcut is not None)
    assert count_params(twin) == count_params(res) - projections
    x1, x2 = torch.randn(2, 3, 32, 32).chunk(2)
    for model, residual in ((twin, False), (res, True)):
        silence_residual_branches(model)
        with torch.no_grad():
            assert torch.allclose(model.eval()(x1), model(x2)) is (not residual)


def test_plain_twin_of_a_preact_net_is_the_plain_net():
    """BN-ReLU-conv repeated is conv-BN-ReLU repeated, shifted by one: the same layers in the
    same order, the same weights from the same seed, the same outputs."""
    torch.manual_seed(3)
    plain = build_model(net("plain-20"))
    torch.manual_seed(3)
    preact_plain = build_model(net("preact-plain-20"))
    assert model_name(net("preact-plain-20")) == "preact-plain-20"
    assert [p.shape for p in plain.parameters()] != [] and count_params(plain) == count_params(preact_plain)
    x = torch.randn(4, 3, 32, 32)
    torch.testing.assert_close(plain(x), preact_plain(x), rtol=0, atol=0)  # training mode
    with torch.no_grad():
        torch.testing.assert_close(plain.eval()(x), preact_plain.eval()(x), rtol=0, atol=0)


@pytest.mark.parametrize("name,layers", [("preact-ResNet-20", 19), ("preact-ResNet-164", 55),
                                         ("WRN-16-8", 13), ("ResNeXt-29-8x64d", 10)])
def test_response_layers_of_the_follow_ups(name, layers):
    """One response per 3x3 conv (the stem's too), read at the BN that follows it in the order
    the net runs: in a pre-activation net the next unit's, or the one before the pooling."""
    m = build_model(net(name))
    found = response_layers(m)
    assert len(found) == layers == sum(1 for c in m.modules()
                                       if isinstance(c, nn.Conv2d) and c.kernel_size == (3, 3))
    if name == "preact-ResNet-20":
        assert [n for n, _ in found[:3]] == ["layer1.0.branch.bn1", "layer1.0.branch.bn2",
                                             "layer1.1.branch.bn1"]
        assert found[-1][0] == "head.bn"
    rows = layer_response_stds(m, [(torch.randn(8, 3, 32, 32), None)])
    assert len(rows) == layers and all(r["std"] > 0 for r in rows)


def test_dropout_sits_before_the_last_conv():
    m = build_model(net("WRN-16-8-dropout0.3"))
    u = m.layer1[0]
    assert isinstance(u.branch.dropout, nn.Dropout) and u.branch.dropout.p == 0.3
    assert model_name(net("WRN-16-8-dropout0.3")) == "WRN-16-8-dropout0.3"
    x = torch.randn(2, 16, 8, 8)
    u.eval()
    with torch.no_grad():
        assert torch.equal(u(x), u(x))  # eval: dropout off
    assert isinstance(cifar(20).layer1[0].branch.dropout, nn.Identity)  # the paper's nets: none


@pytest.mark.parametrize("name", [
    "plain-56", "ResNet-110", "ResNet-110-B", "preact-ResNet-110", "preact-plain-56",
    "preact-ResNet-164", "ResNet-164", "ResNet-1001", "preact-ResNet-1202", "ResNet-164-basic",
    "ResNet-56-bottleneck", "WRN-16-8", "WRN-28-10", "WRN-28-10-dropout0.3", "plain-WRN-28-10",
    "original-WRN-28-10", "ResNeXt-29-8x64d", "ResNeXt-29-16x64d", "plain-ResNeXt-29-8x64d",
    "preact-ResNeXt-29-8x64d", "ResNeXt-29-8x64d-w2", "ResNet-164-w4",
])
def test_names_read_back(name):
    """``label`` and ``parse_net`` are each other's inverse: a run's name is a valid net=."""
    assert model_name(net(name)) == name


@pytest.mark.parametrize("name,family", [("ResNet-34-C", "imagenet"), ("preact-ResNet-152", "imagenet"),
                                         ("ResNeXt-50-32x4d", "imagenet"), ("ResNet-50", "imagenet")])
def test_imagenet_names_read_back(name, family):
    assert model_name(net(name, family)) == name


@pytest.mark.parametrize("cfg,match", [
    (dict(family="imagenet", depth=50, width=2),  # a family takes only the options it uses
     r"^unknown option model\.width \(did you mean model\.base_width\?\); valid model options: "),
    (dict(depth=100, bottleneck=True), r"model\.depth=100 is invalid; valid values: 9n\+2 .*164 and 1001"),
    (dict(depth=1001), r"model\.depth=1001 is invalid; valid values: 6n\+2 .*or 9n\+2 with model\.bottleneck=true"),
    (dict(depth=20, cardinality=8), r"model\.cardinality=8 is invalid; valid values: 1 with basic units .*bottleneck=true"),
    (dict(family="imagenet", depth=34, base_width=4), r"model\.base_width=4 is invalid; valid values: 64 with basic units"),
    (dict(depth=29, bottleneck=True, base_width=2), r"model\.base_width=2 is invalid; valid values: at least 4 with 16 planes"),
    (dict(depth=20, block="postact"), r"model\.block='postact' is invalid; valid values: original, preact"),
    (dict(depth=20, dropout=1.0), r"model\.dropout=1\.0 is invalid; valid values: a number in \[0, 1\)"),
    (dict(depth=20, width=0), r"model\.width=0 is invalid; valid values: an integer >= 1"),
    (dict(depth=26, width=10, residual=False, shortcut="B"), r"plain nets have no shortcuts"),
    (dict(depth=56, residual=False, zero_init_residual=True),
     r"^model\.zero_init_residual=True is invalid; valid values: false with model\.residual=false .*"
     r"true needs model\.residual=true\.$"),
    (dict(depth=20, block="preact", zero_init_residual=True),
     r"^model\.zero_init_residual=True is invalid; valid values: false with model\.block=preact"),
])
def test_bad_combinations_name_the_valid_values(cfg, match):
    with pytest.raises(ConfigError, match=match) as e:
        build_model(cfg)
    message = str(e.value).replace("e.g. ", "e.g.,")
    assert message.endswith(".") and ". " not in message and "\n" not in message  # one sentence


def test_names_that_are_not_nets():
    assert parse_net("WRN-26-10") is None  # WRN depths are 6N+4
    assert parse_net("ResNeXt-29-8x64") is None and parse_net("preact-WRN") is None


def test_net_shorthand_and_run_names_of_the_follow_ups():
    from resnet_lab.compose import compose
    from resnet_lab.train import resolved

    c = resolved(compose(["net=WRN-28-10"]))
    assert {k: c["model"][k] for k in ("depth", "width", "block", "shortcut", "bottleneck")} == \
        dict(depth=26, width=10, block="preact", shortcut="B", bottleneck=False)
    assert c["run_name"] == "cifar10-WRN-28-10-s0"
    c = resolved(compose(["net=ResNet-110", "model.block=preact"]))  # a key set directly wins
    assert c["run_name"] == "cifar10-preact-ResNet-110-s0"
    c = resolved(compose(["model=imagenet", "net=ResNeXt-50-32x4d"]))
    # torchvision's resnext50_32x4d: grouped, strided on the 3x3; ImageNet nets have no width
    assert (c["model"]["cardinality"], c["model"]["base_width"], c["model"]["stride_in"]) == (32, 4, "3x3")
    assert "width" not in c["model"]
    assert c["run_name"] == "cifar10-ResNeXt-50-32x4d-s0"


@pytest.mark.parametrize("name,family", [("preact-ResNet-20", "cifar"), ("preact-ResNet-18", "imagenet")])
def test_a_preact_unit_that_starts_a_stage_splits_after_its_preactivation(name, family):
    """He et al. 2016 (appendix): the first unit after conv1 adopts its activation before the two
    paths split; fb.resnet.torch's preresnet does so for each stage's first unit. The units
    within a stage keep the raw input on their identity path."""
    torch.manual_seed(0)
    m = build_model(net(name, family)).eval()
    _randomize_bns(m)
    first, second = m.layer1[0], m.layer1[1]
    assert first.starts_stage and not second.starts_stage
    x = torch.randn(2, 64 if family == "imagenet" else 16, 8, 8)
    with torch.no_grad():
        pre = first.branch.preactivate(x)
        torch.testing.assert_close(first(x), pre + first.branch(pre), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(second(x), x + second.branch(second.branch.preactivate(x)),
                                   rtol=1e-5, atol=1e-5)
    a_net = build_model(net("preact-ResNet-20"))
    assert [u.starts_stage for u in a_net.units()].count(True) == 3  # one a stage
