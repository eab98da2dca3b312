"""The paper's networks, checked against the paper and against torchvision."""

import csv
import math

import pytest
import torch
import torchvision
from torch import nn

from resnet_lab import paper
from resnet_lab.errors import ConfigError
from resnet_lab.models import (
    Bottleneck,
    ZeroPadShortcut,
    build_model,
    count_flops,
    count_params,
    response_layers,
)
from resnet_lab.models.__main__ import main as table_main


def cifar(depth, residual=True, shortcut="A", **kw):
    return build_model(dict(family="cifar", depth=depth, residual=residual, shortcut=shortcut, **kw))


def imagenet(depth, residual=True, shortcut="B", stride_in="1x1", **kw):
    return build_model(dict(family="imagenet", depth=depth, residual=residual, shortcut=shortcut,
                            stride_in=stride_in, **kw))


def projection_params(model):
    """Parameters of the 1x1 projection shortcuts (conv + BN) of a model."""
    return sum(count_params(m.downsample) for m in model.modules()
               if hasattr(m, "downsample") and isinstance(m.downsample, nn.Sequential))


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
])
def test_bad_model_values_name_option_and_valid_values(family, option, value, match):
    cfg = dict(family=family, depth=20 if family == "cifar" else 18)
    cfg[option] = value
    with pytest.raises(ConfigError, match=rf"model\.{option}=.*{match}"):
        build_model(cfg)


def test_option_a_zero_pads_and_subsamples():
    sc = ZeroPadShortcut(16, 32, 2)
    x = torch.randn(2, 16, 8, 8)
    y = sc(x)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, :16], x[:, :, ::2, ::2])
    assert torch.count_nonzero(y[:, 16:]) == 0
    assert count_params(sc) == 0


def silence_residual_branches(model):
    """Zero the last BN of every block so each block's conv path outputs exactly 0."""
    for m in model.modules():
        last_bn = getattr(m, "bn3", None) if isinstance(m, Bottleneck) else getattr(m, "bn2", None)
        if hasattr(m, "downsample") and last_bn is not None:
            nn.init.zeros_(last_bn.weight)
            nn.init.zeros_(last_bn.bias)


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
    conv = m.layer3[0].conv2  # 64 -> 64, 3x3: fan_out = 64 * 9
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (64 * 9)), rel=0.05)
    assert torch.all(m.layer3[0].bn2.weight == 1) and torch.all(m.layer3[0].bn2.bias == 0)


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
    # our weights into torchvision and torchvision's into ours, strictly
    tv.load_state_dict(ours.state_dict(), strict=True)
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

def test_architecture_table_printed_and_saved(tmp_path, capsys):
    table_main(["--out", str(tmp_path / "arch")])
    printed = capsys.readouterr().out
    assert "ResNet-110-B" in printed and "plain-34" in printed and "ResNet-34-C" in printed
    rows = list(csv.DictReader(open(tmp_path / "arch.csv")))
    assert len(rows) == (6 + 5) * 4
    assert set(rows[0]) >= {"family", "depth", "residual", "shortcut", "params", "GMACs",
                            "paper_params_M", "paper_GFLOPs"}
    r56 = next(r for r in rows if r["model"] == "ResNet-56")
    assert r56["params_M"] == r56["paper_params_M"] == "0.85"
    r34 = next(r for r in rows if r["model"] == "ResNet-34")
    assert float(r34["GMACs"]) == pytest.approx(float(r34["paper_GFLOPs"]), rel=0.02)
    assert (tmp_path / "arch.md").read_text().count("\n|") >= 44
