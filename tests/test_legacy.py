"""The nets built from parts are the nets the code before them built (tests/fixtures/legacy/,
recorded by that code): for the same seed the same weights under the same names, the same
outputs, the same labels; and a run directory that code left half done resumes to the records of
its uninterrupted run.

One change of function is by design: a pre-activation unit that starts a stage now splits after
its pre-activation, so its identity or option-A shortcut takes the pre-activated input (He et al.
2016's appendix, fb.resnet.torch's preresnet); the older code fed it the raw input. Those nets
(``shares_preactivation``) keep their weights and names, and their outputs differ."""

import hashlib
import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from resnet_lab.models import build_model, count_params, label, parse_net, response_layers
from resnet_lab.models.net import flat_key
from resnet_lab.models.shortcuts import Projection
from resnet_lab.models.units import PreactUnit

from .conftest import run_py

LEGACY = Path(__file__).parent / "fixtures" / "legacy"
NETS = json.loads((LEGACY / "legacy_nets.json").read_text())


def state_hash(sd: dict) -> str:
    """As record_legacy_nets.py hashes a state dict: names, dtypes, shapes and values."""
    h = hashlib.sha256()
    for k in sorted(sd):
        t = sd[k].detach().contiguous().cpu()
        h.update(k.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def running_stats(net) -> dict:
    """As record_legacy_nets.py: the sums of BN's running statistics."""
    stats = [v.double() for k, v in net.state_dict().items()
             if k.endswith(("running_mean", "running_var"))]
    return dict(sum=sum(t.sum().item() for t in stats), abs=sum(t.abs().sum().item() for t in stats))


def outputs(y: torch.Tensor) -> dict:
    y = y.double()
    return dict(head=[round(v, 7) for v in y[:, :10].flatten().tolist()], sum=y.sum().item(),
                abs=y.abs().sum().item())


def same(a: dict, b: dict, rel: float) -> bool:
    """Outputs (head, sum, abs) or statistics (sum, abs) equal within ``rel`` of their scale,
    NaN equal to NaN (the deepest nets' eval outputs overflow at initialisation: BN's running
    statistics are still the identity there). Not bit-equal: the same net sums in another
    order on another CPU's vector width (AVX2, AVX-512, AMX), and the fixtures were recorded
    on one of them."""
    if math.isnan(b["abs"]):
        return math.isnan(a["abs"])
    heads = max((abs(v) for v in b.get("head", ())), default=0.0)
    return (abs(a["abs"] - b["abs"]) <= rel * b["abs"] and abs(a["sum"] - b["sum"]) <= rel * b["abs"]
            and all(abs(x - y) <= rel * heads for x, y in zip(a.get("head", ()), b.get("head", ()),
                                                              strict=True)))


EVAL_REL = 1e-4  # two CPUs' eval outputs differ by at most 4e-6 of their scale
# A train-mode pass normalises by the statistics of a batch of 2 to 4 images, which amplifies
# rounding with depth: two CPUs' outputs differ by up to 4e-3 of their scale at 56 layers and by
# as much as the outputs themselves beyond 100. Deeper nets are checked in eval mode only.
TRAIN_REL, TRAIN_DEPTH = 1e-2, 56


def shares_preactivation(net) -> bool:
    """Whether a unit that starts a stage now feeds its pre-activated input to an identity or
    option-A shortcut (the raw input before)."""
    return any(isinstance(u, PreactUnit) and u.starts_stage and u.shortcut is not None
               and not isinstance(u.shortcut, Projection) for u in net.units())


def heavy(row: dict) -> bool:
    c = row["config"]
    return row["params"] > 12e6 or c["depth"] >= 1001


def _passes(net, cfg) -> tuple[dict, dict]:
    """As record_legacy_nets.py: eval-mode outputs, then train-mode ones (which update BN's
    running statistics, part of the recorded state dict)."""
    size, n = (64, 1) if cfg["family"] == "imagenet" else (32, 2)
    x = torch.randn(n, cfg.get("in_channels", 3), size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        evaluated = outputs(net.eval()(x))
        torch.manual_seed(2)
        return evaluated, outputs(net.train()(torch.cat([x, x.flip(-1)])))


@pytest.mark.parametrize("row", [pytest.param(r, marks=pytest.mark.slow) if heavy(r) else r for r in NETS],
                         ids=lambda r: f"{r['config']['family']}-{r['label']}")
def test_every_net_is_the_one_the_code_before_the_parts_built(row):
    cfg = row["config"]  # in the older keys (family: cifar): read as today's
    torch.manual_seed(0)
    net = build_model(cfg)
    assert count_params(net) == row["params"] and len(response_layers(net)) == row["responses"]
    flat = {flat_key(k): v for k, v in net.state_dict().items()}
    assert len(flat) == row["state_dict_keys"]
    assert state_hash(flat) == row["weights_hash"]  # same seed: the same weights, the old names
    if shares_preactivation(net):  # the function changed by design (module docstring)...
        assert not same(_passes(net, cfg)[0], row["eval"], EVAL_REL)
        torch.manual_seed(0)
        net = build_model(cfg)
        for u in net.units():  # ...and only that: split before the pre-activation, it is the old net
            u.starts_stage = False
    evaluated, trained = _passes(net, cfg)
    assert same(evaluated, row["eval"], EVAL_REL)
    if cfg["depth"] <= TRAIN_DEPTH:  # and the train-mode pass updated BN's statistics as before
        assert same(trained, row["train"], TRAIN_REL)
        assert same(running_stats(net), row["running_stats"], TRAIN_REL)
    assert label(cfg) == row["label"]
    assert label({"family": cfg["family"], **parse_net(row["label"], cfg["family"])}) == row["label"]


@pytest.mark.parametrize("name", ["ResNet-8", "preact-ResNet-11-bottleneck", "ResNet-11-bottleneck",
                                  "ResNeXt-11-2x8d"])
def test_a_state_dict_in_the_old_names_loads_and_computes_the_same(name):
    row = next(r for r in NETS if r["label"] == name and r["config"]["family"] == "cifar")
    torch.manual_seed(0)
    old = {flat_key(k): v.clone() for k, v in build_model(row["config"]).state_dict().items()}
    fresh = build_model(row["config"])  # other weights, then the old state dict, as it was saved
    fresh.load_state_dict(old, strict=True)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert same(outputs(fresh.eval()(x)), row["eval"], EVAL_REL)
    assert set(fresh.torchvision_state_dict()) == set(old)


def test_a_run_the_older_code_left_half_done_resumes_to_its_uninterrupted_records(tmp_path):
    """make_legacy_run.py's run killed after its iteration-20 checkpoint: its config.yaml in the
    older keys, its checkpoint in the older parameter names. The same command now resumes it and
    ends with the records of the older code's uninterrupted run."""
    run_dir = tmp_path / "outputs" / "runs" / "synthetic-ResNet-8-s0"
    shutil.copytree(LEGACY / "killed_run", run_dir)
    args = ["data=synthetic", "trainer=debug", "data.train_size=512", "data.val_size=128",
            "data.test_size=256", "data.batch_size=64", "trainer.progress=lines", "model.depth=8",
            "logger=none", "trainer.max_steps=30", "trainer.eval_every=10", "trainer.ckpt_every=10",
            "trainer.log_every=5", "trainer.deterministic=true"]
    out = run_py(args, tmp_path).stdout
    assert "resuming from its last checkpoint (iteration 20)" in out
    rows, reference_rows = (metrics(d / "metrics.csv") for d in (run_dir, LEGACY / "reference"))
    assert [r[:2] for r in rows] == [r[:2] for r in reference_rows]  # every record, once
    assert all(close(*a, b[2]) for a, b in zip(rows, reference_rows, strict=True))
    done, reference = (json.loads((d / "summary.json").read_text()) for d in (run_dir, LEGACY / "reference"))
    assert (done["status"], done["params"]) == ("done", reference["params"])
    assert close(0, "test/error", done["test_error"], reference["test_error"])


def test_a_record_from_before_the_warmup_ramp_reads_as_the_constant_warmup_it_ran():
    from resnet_lab.config.legacy import upgrade
    old = {"optim": {"lr": 0.1, "warmup": {"enabled": "auto", "lr": 0.01, "until": "error"}}}
    assert upgrade(old)["optim"]["warmup"] == {"enabled": "auto", "lr": 0.01, "until": "error",
                                               "ramp": "constant"}
    today = {"optim": {"warmup": {"ramp": "linear"}}}
    assert upgrade(today)["optim"]["warmup"]["ramp"] == "linear"  # today's record: as it is
    assert "optim" not in upgrade({"seed": 0})


def metrics(path: Path) -> list[tuple[int, str, float]]:
    lines = path.read_text().splitlines()
    assert lines[0] == "step,metric,value"
    return [(int(s), m, float(v)) for s, m, v in (line.split(",") for line in lines[1:])]


def close(step, metric, value, reference) -> bool:
    """Equal on the CPU the records were made on; elsewhere ten iterations of float32 rounding
    in another summation order move a loss in its 4th digit and may flip an image or two of
    the 256 tested (0.4% each)."""
    if metric.endswith("error"):
        return abs(value - reference) <= 1.0
    return math.isclose(value, reference, rel_tol=1e-3, abs_tol=1e-6)
