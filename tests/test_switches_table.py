"""The ``switches`` table of resnet_lab.figures on a hand-made ablation sweep: which config keys
each run switched, the early peak of its training loss, the files, the caption, W&B."""

from __future__ import annotations

import csv

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import yaml  # noqa: E402

from resnet_lab import figures  # noqa: E402
from resnet_lab.figures import load_sweep, load_wandb, main  # noqa: E402
from resnet_lab.figures.recipes import deduplicate, identity  # noqa: E402

from .test_figures import H100, FakeApi, base_config, write_run  # noqa: E402

LOG_EVERY = 10
STEPS = 600


def loss_curve(early: list[float], last: int = STEPS, every: int = LOG_EVERY) -> list[tuple[int, float]]:
    """train/loss every ``every`` iterations: ``early`` first, then a high point after the first
    50 iterations (not an early peak), then a slow decline."""
    values = [*early, 9.0] + [2.0 - i / 1000 for i in range(STEPS // every)]
    steps = range(every, last + 1, every)
    return list(zip(steps, values, strict=False))


def write_switch_run(root, name, early, *, depth=56, model=None, config=None, status="done",
                     **kw):
    """A Fashion-MNIST run of ResNet-``depth`` with the whole model config a run records,
    ``model`` keys switched, ``config`` overrides of the rest, and a train/loss curve."""
    config = {"trainer.log_every": LOG_EVERY, **(config or {})}
    d = write_run(root, depth=depth, residual=True, data="fashion_mnist", name=name,
                  params=850_000 + depth, status=status, steps=STEPS, config=config, **kw)
    cfg = yaml.safe_load((d / "config.yaml").read_text())
    cfg["model"] = {**base_config("fashion_mnist")["model"], "depth": depth, **(model or {})}
    cfg["model"]["in_channels"] = cfg["data"]["channels"]  # ${data.channels}
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    last = STEPS if status == "done" else STEPS // 2
    with open(d / "metrics.csv", "a") as f:
        every = cfg["trainer"]["log_every"]
        f.writelines(f"{s},train/loss,{v}\n" for s, v in loss_curve(early, last, every))
    return d


# run directory -> (early train/loss points at 10..50, the switches cell, peak, its iteration)
ABLATION = {
    "defaults": ([2.3, 3.9, 2.8, 2.0, 1.8], "paper defaults", 3.9, 20),
    "fan_in": ([2.4, 2.2, 2.1, 2.0, 1.9], "model.init_mode=fan_in", 2.4, 10),
    "channels3": ([2.3, 2.9, 4.5, 4.5, 1.9], "data.channels=3", 4.5, 30),
    "zero_init": ([2.3, 2.2, 2.1, 2.0, 2.6], "model.zero_init_residual=true", 2.6, 50),
    "pad_both": ([2.3, 3.0, 2.1, 2.0, 1.9], "model.shortcut_pad=both", 3.0, 20),
}


@pytest.fixture
def ablation(tmp_path):
    """ResNet-56 with the paper's defaults and four switches, one at a time (zero_init still
    running), and ResNet-20 with the defaults."""
    root = tmp_path / "cpu_init"
    write_switch_run(root, "defaults", ABLATION["defaults"][0])
    write_switch_run(root, "fan_in", ABLATION["fan_in"][0], model={"init_mode": "fan_in"})
    write_switch_run(root, "channels3", ABLATION["channels3"][0], config={"data.channels": 3})
    write_switch_run(root, "zero_init", ABLATION["zero_init"][0], status="running",
                     model={"zero_init_residual": True})
    write_switch_run(root, "pad_both", ABLATION["pad_both"][0], model={"shortcut_pad": "both"})
    write_switch_run(root, "resnet20", [2.2, 2.1, 2.0, 1.9, 1.8], depth=20)
    return root


def test_switches_column_peak_loss_and_order(ablation):
    runs = load_sweep(ablation)
    rows, columns = figures.switch_rows(runs)
    assert columns == ["net", "switches", "seed", "status", "params", "test_error", "train_error",
                       "early_peak_loss", "early_peak_at", "steps"]
    # sorted by net (ResNet-20 first), then switches (the defaults first)
    assert [(r["net"], r["switches"]) for r in rows] == [
        ("ResNet-20", "paper defaults"),
        ("ResNet-56", "paper defaults"),
        ("ResNet-56", "data.channels=3"),  # model.in_channels follows it: named once
        ("ResNet-56", "model.init_mode=fan_in"),
        ("ResNet-56", "model.shortcut_pad=both"),
        ("ResNet-56", "model.zero_init_residual=true"),
    ]
    by_switch = {r["switches"]: r for r in rows if r["net"] == "ResNet-56"}
    for _, cell, peak, at in ABLATION.values():
        assert (by_switch[cell]["early_peak_loss"], by_switch[cell]["early_peak_at"]) == (peak, at)
    assert rows[0]["early_peak_loss"] == 2.2 and rows[0]["early_peak_at"] == 10
    done = by_switch["paper defaults"]
    assert (done["test_error"], done["train_error"], done["steps"], done["params"]) == (
        9.0, 5.0, STEPS, 850_056)
    running = by_switch["model.zero_init_residual=true"]
    assert running["status"] == "running" and running["steps"] == STEPS // 2
    last_test = next(r for r in runs if r.source.endswith("zero_init")).metrics["test/error"][-1][1]
    assert running["test_error"] == round(last_test, 2)  # its last logged value


def test_runs_differing_only_in_model_switches_are_not_duplicates(ablation):
    runs = load_sweep(ablation)
    kept, notes = deduplicate(runs)
    assert len(kept) == len(runs) == 6 and notes == []
    assert len({identity(r) for r in runs}) == 6
    # the same run copied into a second source still is one
    copy = ablation.parent / "copy"
    write_switch_run(copy, "pad_both", ABLATION["pad_both"][0], model={"shortcut_pad": "both"})
    kept, notes = deduplicate([*runs, *load_sweep(copy)])
    assert len(kept) == 6 and len(notes) == 1 and "ResNet-56 seed 0" in notes[0][1]


def test_cli_writes_prints_and_captions_the_switches_table(ablation, tmp_path, capsys):
    out = tmp_path / "figs" / "cpu_init"
    assert main(["switches", "--sweep", str(ablation), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["switches.csv", "switches.md"]
    with open(out / "switches.csv") as f:
        table = list(csv.DictReader(f))
    assert [(r["net"], r["switches"], r["early_peak_loss"], r["early_peak_at"]) for r in table][:3] == [
        ("ResNet-20", "paper defaults", "2.2", "10"), ("ResNet-56", "paper defaults", "3.9", "20"),
        ("ResNet-56", "data.channels=3", "4.5", "30")]
    printed = capsys.readouterr().out
    assert "Switches: the runs of an ablation sweep side by side, on Fashion-MNIST" in printed
    assert "model.init_mode=fan_in" in printed and "| early_peak_loss |" in printed
    assert f"saved {out / 'switches.csv'} and {out / 'switches.md'}" in printed
    md = (out / "switches.md").read_text()
    assert md.startswith("# Switches: the runs of an ablation sweep side by side, on Fashion-MNIST")
    assert "Data set: Fashion-MNIST." in md and H100 in md
    assert ("Switches: the result-changing config keys whose values differ among these runs, "
            "other than the net's own (the net column) and the seed: data.channels, "
            "model.init_mode, model.shortcut_pad, model.zero_init_residual.") in md
    assert "model.in_channels follows data.channels" in md
    assert "Each switch was measured one at a time against the paper's defaults" in md
    assert f"Iterations (steps): {STEPS} for ResNet-20 seed 0 (paper defaults), " in md
    assert f"{STEPS // 2} for ResNet-56 seed 0 (model.zero_init_residual=true)" in md
    assert f"trainer.log_every iterations, here {LOG_EVERY} (every run)" in md
    assert "largest train/loss point at iterations 1 to 50" in md
    # unfinished runs, as the other tables mark them, with the run directory
    assert f"ResNet-56 seed 0 ({ablation / 'zero_init'}): running" in md
    assert "different recipes" not in md  # an ablation compares them


def test_caption_says_when_switches_were_not_one_at_a_time(tmp_path):
    root = tmp_path / "s"
    write_switch_run(root, "defaults", [2.0])
    write_switch_run(root, "both", [2.0], model={"init_mode": "fan_in"}, config={"data.channels": 3})
    write_switch_run(root, "fan_in", [2.0], model={"init_mode": "fan_in"})
    out = tmp_path / "o"
    assert main(["switches", "--sweep", str(root), "--out", str(out)]) == 0
    md = (out / "switches.md").read_text()
    assert "one at a time against the paper's defaults:" not in md  # fan_in in 2 of 3 runs
    assert sorted(r["switches"] for r in figures.switch_rows(load_sweep(root))[0]) == [
        "data.channels=3, model.init_mode=fan_in", "model.init_mode=fan_in", "paper defaults"]
    assert ("Not one switch at a time against the defaults: ResNet-56 seed 0 (data.channels=3, "
            "model.init_mode=fan_in) differs in 2 switches at once.") in md


def test_a_tie_takes_the_schemas_default_else_every_run_names_its_value(tmp_path):
    root = tmp_path / "two"
    write_switch_run(root, "defaults", [2.0])
    write_switch_run(root, "fan_in", [2.0], model={"init_mode": "fan_in"})
    runs = load_sweep(root)
    assert sorted(r["switches"] for r in figures.switch_rows(runs)[0]) == [
        "model.init_mode=fan_in", "paper defaults"]  # the schema's default: fan_out
    root = tmp_path / "channels"
    write_switch_run(root, "gray", [2.0])
    write_switch_run(root, "rgb", [2.0], config={"data.channels": 3})
    runs = load_sweep(root)
    sw = figures.find_switches(runs)
    assert sorted(sw.of(r) for r in runs) == ["data.channels=1", "data.channels=3"]
    assert sw.reference == {} and sw.named_as == {"model.in_channels": "data.channels"}


def test_any_result_key_can_be_a_switch_and_neutral_keys_are_not(tmp_path):
    root = tmp_path / "s"
    write_switch_run(root, "a", [2.0])
    write_switch_run(root, "b", [2.0])
    write_switch_run(root, "c", [2.0], config={"optim.nesterov": True, "trainer.compile": True,
                                               "data.num_workers": 7})
    assert sorted(r["switches"] for r in figures.switch_rows(load_sweep(root))[0]) == [
        "optim.nesterov=true", "paper defaults", "paper defaults"]


def test_no_train_loss_in_the_first_iterations_leaves_the_peak_blank(tmp_path):
    root = tmp_path / "s"
    write_switch_run(root, "late", [], config={"trainer.log_every": 100})
    (row,), _ = figures.switch_rows(load_sweep(root))
    assert row["early_peak_loss"] is None and row["early_peak_at"] is None


def test_switches_from_wandb_read_the_loss_curve(ablation, tmp_path, monkeypatch):
    import wandb

    local = load_sweep(ablation)
    monkeypatch.setattr(wandb, "Api", lambda: FakeApi(local))
    out = tmp_path / "figs"
    assert main(["switches", "--wandb", "me/resnet", "--group", "cpu_init", "--out", str(out)]) == 0
    with open(out / "switches.csv") as f:
        from_wandb = [(r["net"], r["switches"], r["early_peak_loss"], r["early_peak_at"])
                      for r in csv.DictReader(f)]
    assert from_wandb == [(r["net"], r["switches"], str(r["early_peak_loss"]), str(r["early_peak_at"]))
                          for r in figures.switch_rows(local)[0]]
    assert "W&B me/resnet group cpu_init" in (out / "switches.md").read_text()
    # the paper's outputs do not read the loss: no extra history scan for them
    assert "train/loss" not in load_wandb("me/resnet", "g", api=FakeApi(local))[0].metrics


def test_switches_is_named_in_help_but_not_drawn_by_all_nor_on_dashboards(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    assert "switches" in capsys.readouterr().out
    assert "switches" in figures.ON_REQUEST and "switches" not in figures.OUTPUTS
