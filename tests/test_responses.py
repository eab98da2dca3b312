"""Figure 7's statistics: std of every 3x3 layer's response, accumulated exactly."""

import json

import pytest
import torch

from resnet_lab.models import build_model, response_layers
from resnet_lab.responses import RunningMoments, layer_response_stds, load_responses, save_responses


def test_running_moments_equal_a_direct_computation():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(103, 5, 4, 4, generator=g) * torch.tensor([1, 2, 3, 4, 5.0])[None, :, None, None] + 7
    rm = RunningMoments()
    for chunk in torch.split(x, [1, 50, 2, 50]):
        rm.update(chunk)
    x64 = x.double()
    assert rm.std("all") == pytest.approx(x64.std(unbiased=False).item(), rel=1e-12)
    per_channel = x64.transpose(0, 1).reshape(5, -1).std(1, unbiased=False)
    assert rm.std("channel") == pytest.approx(per_channel.mean().item(), rel=1e-12)


def _direct(model, x):
    """Capture every response in one forward pass and take its std directly."""
    outs = {}
    hooks = [bn.register_forward_hook(lambda m, i, o, n=name: outs.__setitem__(n, o.double()))
             for name, bn in response_layers(model)]
    model.eval()
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return [outs[name].std(unbiased=False).item() for name, _ in response_layers(model)]


@pytest.mark.parametrize("residual", [True, False])
def test_layer_stds_equal_direct_computation_on_a_small_net(residual):
    torch.manual_seed(0)
    model = build_model(dict(family="cifar", depth=14, residual=residual))
    # give BN non-trivial statistics and affine parameters, as after training
    for _, bn in response_layers(model):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.data.uniform_(0.2, 1.5)
    x = torch.randn(96, 3, 32, 32)
    batches = [(x[i:i + 17], None) for i in range(0, 96, 17)]
    rows = layer_response_stds(model, batches)
    assert model.training  # the model's mode is restored
    assert [r["layer"] for r in rows] == list(range(1, 14))
    assert rows[0]["name"] == "stem.bn" and rows[1]["name"] == "layer1.0.branch.bn1"
    assert [r["std"] for r in rows] == pytest.approx(_direct(model, x), rel=1e-9)


def test_responses_do_not_depend_on_batch_size():
    torch.manual_seed(1)
    model = build_model(dict(family="imagenet", depth=18, num_classes=10))
    x = torch.randn(24, 3, 32, 32)
    a = layer_response_stds(model, [(x, None)])
    b = layer_response_stds(model, [(x[i:i + 5], None) for i in range(0, 24, 5)])
    assert len(a) == 16
    assert [r["std"] for r in a] == pytest.approx([r["std"] for r in b], rel=1e-9)


def test_responses_are_saved_with_the_run(tmp_path):
    rows = [{"layer": 1, "name": "bn1", "std": 0.5}, {"layer": 2, "name": "layer1.0.bn1", "std": 0.25}]
    save_responses(rows, tmp_path)
    assert load_responses(tmp_path) == rows
    assert (tmp_path / "responses.csv").read_text().splitlines()[1] == "1,bn1,0.5"
    save_responses(rows, tmp_path, step=100)
    assert (tmp_path / "responses_step100.json").is_file()


def test_responses_recorded_during_the_final_test_equal_a_separate_pass(tmp_path):
    from resnet_lab.checkpoints import load_checkpoint
    from resnet_lab.compose import compose
    from resnet_lab.data import build_datamodule
    from resnet_lab.models import build_model
    from resnet_lab.train import resolved, train

    from .conftest import FAST

    cfg = compose(FAST + ["model.depth=8", "logger=none", "trainer.max_steps=3", "trainer.progress=none"])
    train(cfg, tmp_path / "run")
    recorded = json.loads((tmp_path / "run" / "responses.json").read_text())
    c = resolved(cfg)
    model = build_model(c["model"])
    weights = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")["state_dict"]
    model.load_state_dict({k.removeprefix("model."): v for k, v in weights.items() if k.startswith("model.")})
    dm = build_datamodule(c["data"], c["seed"])
    dm.place(torch.device("cpu"))
    direct = layer_response_stds(model, dm.response_batches())
    assert [r["name"] for r in recorded] == [r["name"] for r in direct]
    assert [r["std"] for r in recorded] == pytest.approx([r["std"] for r in direct], rel=1e-9)
