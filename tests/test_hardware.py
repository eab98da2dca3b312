"""trainer=cpu picks bf16 autocast and channels_last by itself where the CPU has bf16 matrix
instructions (fp32 and NCHW elsewhere), says so at start and keeps the choice in summary.json;
trainer.precision=32-true forces fp32."""

import pytest

from resnet_lab import hardware
from resnet_lab.compose import compose
from resnet_lab.records import read_metrics
from resnet_lab.train import train

BASE = ["data=synthetic", "trainer=cpu", "logger=none", "trainer.progress=none", "model.depth=8",
        "data.train_size=640", "data.val_size=0", "data.test_size=200", "data.batch_size=64",
        "trainer.max_steps=40", "trainer.eval_every=20", "trainer.log_every=5",
        "optim.milestones=[30]", "responses.enabled=false"]
CPU = {"accelerator": "cpu", "precision": "auto", "channels_last": "auto"}


@pytest.fixture
def bf16_cpu(monkeypatch):
    monkeypatch.setattr(hardware, "cpu_bf16", lambda: "AVX512-BF16")


@pytest.fixture
def plain_cpu(monkeypatch):
    monkeypatch.setattr(hardware, "cpu_bf16", lambda: None)


def test_a_cpu_with_bf16_instructions_gets_bf16_and_channels_last(bf16_cpu):
    n = hardware.choose(CPU)
    assert (n.precision, n.channels_last) == ("bf16-mixed", True)
    assert n.why == "CPU with AVX512-BF16"


def test_a_cpu_without_them_stays_fp32_nchw(plain_cpu):
    n = hardware.choose(CPU)
    assert (n.precision, n.channels_last) == ("32-true", False)
    assert "without bf16" in n.why


def test_values_the_config_names_are_kept(bf16_cpu):
    n = hardware.choose({**CPU, "precision": "32-true"})
    assert (n.precision, n.channels_last) == ("32-true", True)  # only the precision is forced
    assert "precision set in the config" in n.why
    n = hardware.choose({**CPU, "precision": "32-true", "channels_last": False})
    assert (n.precision, n.channels_last, n.why) == ("32-true", False, "set in the config")


def test_this_cpu_is_probed_by_torch():
    # whatever this machine has, the probe answers with a name or None and never raises
    assert hardware.cpu_bf16() in (None, "AMX", "AVX512-BF16")


def test_the_choice_is_printed_and_recorded(tmp_path, capsys, bf16_cpu):
    summary = train(compose(BASE), tmp_path / "run")
    assert summary["status"] == "done"
    assert (summary["precision"], summary["channels_last"]) == ("bf16-mixed", True)
    assert summary["numerics_why"] == "CPU with AVX512-BF16"
    assert "precision bf16-mixed, channels_last (CPU with AVX512-BF16)" in capsys.readouterr().out


def test_forcing_fp32_is_one_switch(tmp_path, bf16_cpu):
    summary = train(compose(BASE + ["trainer.precision=32-true"]), tmp_path / "run")
    assert summary["precision"] == "32-true"


def test_fp32_elsewhere_is_recorded(tmp_path, plain_cpu):
    summary = train(compose(BASE), tmp_path / "run")
    assert (summary["precision"], summary["channels_last"]) == ("32-true", False)


def test_the_fast_path_trains(tmp_path):
    # bf16 autocast and channels_last named outright, so that any CPU runs this path
    summary = train(compose(BASE + ["trainer.precision=bf16-mixed", "trainer.channels_last=true",
                                    "trainer.max_steps=60", "optim.milestones=[50]"]), tmp_path / "run")
    loss = [v for _, v in read_metrics(tmp_path / "run")["train/loss"]]
    assert loss[-1] < 0.7 * loss[0], loss
    assert summary["test_error"] < 50  # chance is 90%
