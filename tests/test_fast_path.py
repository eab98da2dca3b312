"""The GPU fast-path switches (channels_last, bf16 autocast, torch.compile, fused/foreach SGD)
train, and train the same curves as the default path within noise. Run on the CPU here."""

import re
import warnings

import pytest
import torch

from resnet_lab.bench import main as bench_main
from resnet_lab.compose import compose
from resnet_lab.module import sgd_kernels
from resnet_lab.records import read_metrics
from resnet_lab.train import device_name, resolved, train

# fp32 NCHW named outright: trainer=cpu would pick bf16 and channels_last on a CPU that has them
BASE = ["data=synthetic", "trainer=cpu", "trainer.precision=32-true", "trainer.channels_last=false", "logger=none", "trainer.progress=none", "model.depth=8",
        "data.train_size=1000", "data.val_size=200", "data.test_size=400", "data.batch_size=64",
        "trainer.max_steps=90", "trainer.eval_every=30", "trainer.log_every=10",
        "optim.milestones=[45,70]", "responses.enabled=false"]
# Noise: two seeds of this run differ by ~3-5 points in train and test error; a switch that
# changes only the arithmetic (memory layout, bf16, fused kernels) must stay within that.
NOISE = 4.0


def run(tmp_path, name, extra=()):
    summary = train(compose(BASE + list(extra)), tmp_path / name)
    return summary, read_metrics(tmp_path / name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return run(tmp_path_factory.mktemp("ref"), "ref")


def assert_same_curves(a, b, train_tol, test_tol):
    (sa, ma), (sb, mb) = a, b
    assert sb["status"] == "done" and sb["test_error"] < 50  # it trains (chance: 90%)
    for key in ("train/error", "test/error"):
        steps = [s for s, _ in ma[key]]
        assert steps == [s for s, _ in mb[key]]
    # learning curves agree point by point within noise
    diffs = [abs(x - y) for (_, x), (_, y) in zip(ma["train/error"], mb["train/error"], strict=True)]
    assert max(diffs) < train_tol, diffs
    assert abs(sa["test_error"] - sb["test_error"]) < test_tol


def test_channels_last_gives_the_same_curves(tmp_path, reference):
    assert_same_curves(reference, run(tmp_path, "cl", ["trainer.channels_last=true"]), NOISE, NOISE)


def test_bf16_autocast_gives_the_same_curves(tmp_path, reference):
    assert_same_curves(reference, run(tmp_path, "bf16", ["trainer.precision=bf16-mixed"]), NOISE, NOISE)


# whole runs, kept for `make test-slow`; the default suite checks the steps themselves (below)
@pytest.mark.slow
def test_foreach_sgd_gives_the_same_curves(tmp_path, reference):
    assert_same_curves(reference, run(tmp_path, "foreach", ["optim.implementation=foreach"]), 1, 1)


@pytest.mark.slow
def test_fused_sgd_gives_the_same_curves(tmp_path, reference):
    assert_same_curves(reference, run(tmp_path, "fused", ["optim.implementation=fused"]), 1, 1)


@pytest.mark.parametrize("implementation", ["foreach", "fused"])
def test_sgd_kernels_take_the_same_steps_as_the_default(implementation):
    """The optimizer the module builds for optim.implementation uses those kernels, and its
    updates (momentum, weight decay, the no-decay groups) equal the default's over a few steps."""
    from resnet_lab.module import ResNetModule

    def steps(extra):
        torch.manual_seed(0)
        c = resolved(compose(BASE + list(extra)))
        module = ResNetModule(c["model"], c["optim"])
        optimizer = module.configure_optimizers()["optimizer"]
        x, y = torch.randn(8, 3, 32, 32), torch.arange(8) % 10
        for _ in range(3):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(module(x), y).backward()
            optimizer.step()
        return optimizer, [p.detach().clone() for p in module.parameters()]

    default, expected = steps([])
    chosen, got = steps([f"optim.implementation={implementation}"])
    assert chosen.defaults[implementation] is True and not default.defaults[implementation]
    for a, b in zip(expected, got, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_auto_sgd_kernels_are_fused_only_on_a_gpu():
    assert sgd_kernels("auto", torch.device("cuda")) == {"fused": True}
    assert sgd_kernels("auto", torch.device("cpu")) == {}
    assert sgd_kernels("foreach", torch.device("cuda")) == {"foreach": True}


def _compile_with(monkeypatch, backend):
    """nn.Module.compile calls torch.compile: route it to ``backend`` (a real dynamo backend)."""
    real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn, **kwargs: real(fn, backend=backend))


def test_compile_falls_back_to_eager_when_the_compiler_fails(tmp_path, reference, monkeypatch):
    def broken_backend(graph, example_inputs):
        raise RuntimeError("no compiler here")

    _compile_with(monkeypatch, broken_backend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(tmp_path, "fallback", ["trainer.compile=true"])
    said = [w for w in caught if "torch.compile failed" in str(w.message)]
    assert len(said) == 1 and "no compiler here" in str(said[0].message)  # said once
    assert_same_curves(reference, result, 1e-6, 1e-6)  # eager after the fallback: the same run


def test_compile_does_not_hide_errors_that_are_not_the_compilers(tmp_path, monkeypatch):
    _compile_with(monkeypatch, "eager")
    from resnet_lab.module import ResNetModule

    c = resolved(compose(BASE + ["trainer.compile=true"]))
    module = ResNetModule(c["model"], c["optim"], compile=True)
    with pytest.raises(RuntimeError, match="channels"), warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning either
        module(torch.zeros(2, 5, 32, 32))  # 5 channels into a 3-channel stem


def test_bench_compile_true_measures_the_compiled_net(tmp_path, capsys, monkeypatch):
    _compile_with(monkeypatch, "eager")  # dynamo traces for real; no minutes of inductor codegen
    bench_main(["--nets", "ResNet-8", "--settings", "compile", "--steps", "2", "--warmup", "1",
                "--repeats", "1", "--batch", "32", "--train-size", "256", "--out", str(tmp_path / "bench")])
    assert (tmp_path / "bench.csv").read_text().splitlines()[1].startswith("ResNet-8,compile,")


@pytest.mark.slow
def test_torch_compile_gives_the_same_curves(tmp_path, reference):
    assert_same_curves(reference, run(tmp_path, "compiled", ["trainer.compile=true"]), NOISE, NOISE)


def test_benchmark_prints_and_saves_its_table(tmp_path, capsys):
    bench_main(["--nets", "ResNet-8,plain-8", "--settings", "fp32", "--steps", "2", "--warmup", "1",
                "--repeats", "1", "--batch", "32", "--train-size", "256", "--out", str(tmp_path / "bench")])
    out = capsys.readouterr().out
    assert "lightning_img_s" in out and "hand_img_s" in out and "ratio" in out
    rows = (tmp_path / "bench.csv").read_text().splitlines()
    assert rows[0].startswith("net,setting,params,batch,lightning_img_s")
    assert len(rows) == 3 and rows[1].startswith("ResNet-8,fp32,")
    md = (tmp_path / "bench.md").read_text()
    assert f"device {device_name(torch.device('cpu'))};" in md  # the machine measured, by name
    assert "torch " + torch.__version__ in md


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU's default settings")
def test_bench_on_a_cpu_measures_every_setting_in_one_run(tmp_path, capsys, monkeypatch):
    _compile_with(monkeypatch, "eager")  # the compile row traces for real, without inductor's minutes
    bench_main(["--nets", "ResNet-8", "--device", "cpu", "--steps", "2", "--warmup", "1", "--repeats", "1",
                "--batch", "32", "--train-size", "256", "--out", str(tmp_path / "bench")])
    rows = [line.split(",") for line in (tmp_path / "bench.csv").read_text().splitlines()]
    header = rows[0]
    settings = [r[header.index("setting")] for r in rows[1:]]
    assert settings == ["fp32", "bf16", "channels_last", "bf16+channels_last", "bf16+channels_last+compile"]
    assert all(float(r[header.index("lightning_img_s")]) > 0 and float(r[header.index("startup_s")]) >= 0
               for r in rows[1:])
    assert "`auto` (trainer=cpu) picks precision" in (tmp_path / "bench.md").read_text()


def test_bench_measures_concurrent_runs_in_aggregate(tmp_path, capsys):
    bench_main(["--nets", "ResNet-8", "--settings", "fp32", "--steps", "2", "--warmup", "1", "--repeats", "1", "--batch", "32",
                "--train-size", "256", "--concurrent", "2", "--out", str(tmp_path / "bench")])
    md = (tmp_path / "bench.md").read_text()
    line = next(x for x in md.splitlines() if "concurrent" in x)
    match = re.search(r"2 concurrent ResNet-8 runs \(fp32\) on one device: ([0-9.]+) img/s in aggregate "
                      r"\(([0-9.]+) img/s each\)", line)
    assert match, line
    assert float(match.group(1)) > 0 and float(match.group(2)) > 0


@pytest.mark.parametrize("argv, message", [
    (["--nets", "ResNet-20,foo"], r"net='foo' is invalid; valid values: plain-<depth> or ResNet-<depth>"),
    (["--nets", "ResNet-21"], r"model.depth=21 is invalid; valid values: 6n\+2"),
    (["--settings", "fp32,bf17"], r"--settings: 'bf17' is invalid; valid values: fp32, auto, or any of bf16, "
                                  r"channels_last, compile joined by '\+'"),
    pytest.param(["--device", "gpu"], r"--device gpu: no CUDA GPU is visible here; valid values: auto, cpu",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible")),
])
def test_bench_rejects_bad_input_before_measuring(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        bench_main(argv + ["--steps", "1", "--repeats", "1", "--out", str(tmp_path / "bench")])
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert re.search(message, err), err
    assert "timed iterations" not in out  # nothing was measured, not even the valid ResNet-20
    assert not (tmp_path / "bench.csv").exists()
