"""The studies (conf/experiment/) and W&B sweeps (sweeps/) expand to the paper's grids."""

import re
from functools import cache
from itertools import product
from math import prod
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from resnet_lab.compose import compose, sweep_jobs
from resnet_lab.config import validate
from resnet_lab.config.command_line import _jobs
from resnet_lab.config.sweeps import render, studies
from resnet_lab.data.registry import dataset_of
from resnet_lab.models import model_name
from resnet_lab.models.choices import family_of
from resnet_lab.models.naming import parse_net
from resnet_lab.train import resolved

ROOT = Path(__file__).resolve().parents[1]
CIFAR_PLAIN = ["plain-20", "plain-32", "plain-44", "plain-56"]
GRIDS = {  # the paper's grid of each study: the nets (and seeds) its jobs train
    "figure1": (["plain-20", "plain-56"], [0]),
    "figure6": (CIFAR_PLAIN + ["ResNet-20", "ResNet-32", "ResNet-44", "ResNet-56", "ResNet-110",
                               "ResNet-1202"], [0]),
    "figure7": (["plain-20", "plain-56", "ResNet-20", "ResNet-56", "ResNet-110"], [0]),
    "table6": (["ResNet-20", "ResNet-32", "ResNet-44", "ResNet-56", "ResNet-110", "ResNet-1202"],
               [0, 1, 2, 3, 4]),
    "figure4": (["plain-18", "plain-34", "ResNet-18-A", "ResNet-34-A"], [0]),
    "shortcuts": (["ResNet-34-A", "ResNet-34-B", "ResNet-34-C"], [0]),
    "cpu_degradation": (["plain-20", "plain-56", "ResNet-20", "ResNet-56"], [0]),
    "cpu_figure6": (CIFAR_PLAIN + ["ResNet-20", "ResNet-32", "ResNet-44", "ResNet-56"], [0]),
    "cpu_figure6_seeds": (CIFAR_PLAIN + ["ResNet-20", "ResNet-32", "ResNet-44", "ResNet-56"], [0, 1, 2]),
    "cpu_open_choices": (["ResNet-20", "ResNet-56"], [0]),  # each under every SWEPT value
    "cpu_startup": (["ResNet-20", "ResNet-56"], [0]),  # each under every SWEPT combination
    "smoke": (["plain-8", "plain-14", "ResNet-8", "ResNet-14"], [0]),
    "smoke_imagenet": (["plain-18", "ResNet-18-A", "ResNet-18-B", "ResNet-18-C"], [0]),
    # beyond the paper: pre-activation, wide and ResNeXt nets
    "preact": ([n for d in (110, 164, 1001, 1202) for n in (f"ResNet-{d}", f"preact-ResNet-{d}")], [0]),
    "wide": (["WRN-16-8", "WRN-28-10", "ResNeXt-29-8x64d"], [0]),
    "cpu_preact": (["plain-56", "ResNet-56", "preact-ResNet-56", "ResNet-110", "preact-ResNet-110"], [0]),
    # the remedies: stochastic depth, no normalisation, Fixup, ReZero / SkipInit
    "stochastic_depth": (["ResNet-110", "ResNet-110-SD", "ResNet-1202", "ResNet-1202-SD"], [0]),
    "no_norm": ([f"{pre}ResNet-{d}{post}" for d in (56, 110) for pre, post in
                 (("", ""), ("", "-noBN"), ("Fixup-", ""), ("SkipInit-", ""))], [0]),
    "cpu_stochastic_depth": (["ResNet-56", "ResNet-56-SD", "ResNet-110", "ResNet-110-SD"], [0]),
    "cpu_no_norm": (["ResNet-56", "ResNet-56-noBN", "Fixup-ResNet-56", "SkipInit-ResNet-56",
                     "ReZero-ResNet-56"], [0]),
    "cpu_depth_stress": ([f"{pre}ResNet-{d}{post}" for d in (110, 1202) for pre, post in
                          (("", ""), ("", "-SD"), ("", "-noBN"), ("Fixup-", ""), ("SkipInit-", ""))], [0]),
}
DATA = {"figure4": "imagenet", "shortcuts": "imagenet", "cpu_degradation": "fashion_mnist",
        "smoke": "synthetic", "smoke_imagenet": "synthetic", "cpu_preact": "fashion_mnist",
        "cpu_figure6": "fashion_mnist", "cpu_figure6_seeds": "fashion_mnist",
        "cpu_open_choices": "fashion_mnist",
        "cpu_startup": "fashion_mnist",
        "cpu_stochastic_depth": "fashion_mnist", "cpu_no_norm": "fashion_mnist",
        "cpu_depth_stress": "synthetic"}
# the studies that sweep more than nets and seeds: each swept key's values, with the keys each
# value changes against the key's first value (the others' alike): each open choice against the
# paper's (conf/open_choice/); the precision, and the start (conf/startup/)
SWEPT = {
    "cpu_open_choices": {"+open_choice": {"paper": set(), "fan_in": {"model.init_mode"},
                                          "pad_both": {"model.shortcut_pad"},
                                          "zero_init_residual": {"model.zero_init_residual"},
                                          "rgb_stem": {"data.channels", "model.in_channels"}}},
    "cpu_startup": {"trainer.precision": {"bf16-mixed": set(), "32-true": {"trainer.precision"}},
                    "+startup": {"paper": set(), "warmup": {"optim.warmup.enabled"},
                                 "zero_init_residual": {"model.zero_init_residual"}}},
}


def expected_model(net: str, family: str) -> tuple:
    p = parse_net(net, family)
    default = "A" if family == "cifar" or not p["residual"] else "B"  # plain nets: no projections
    return family, p["depth"], p["residual"], p.get("shortcut", default)


@cache
def job_configs(study: str) -> tuple[tuple[list[str], dict], ...]:
    """Every job of a study, composed, validated and resolved: once per study (composing costs
    ~0.5 s a job, and several tests read the same study's jobs; they do not change them)."""
    jobs = []
    for job in sweep_jobs([f"experiment={study}"]):
        cfg = compose(job)
        validate(cfg)
        jobs.append((job, resolved(cfg)))
    return tuple(jobs)


@pytest.mark.parametrize("study", sorted(GRIDS))
def test_experiment_expands_to_the_papers_grid(study):
    nets, seeds = GRIDS[study]
    family = "imagenet" if DATA.get(study) == "imagenet" or study == "smoke_imagenet" else "cifar"
    seen = []
    for job, c in job_configs(study):
        m = c["model"]
        seen.append((c["net"], c["seed"]))
        assert (family_of(m), m["depth"], m["residual"], m["shortcut"]) == expected_model(c["net"], family), job
        assert c["study"] == study and study in c["tags"]
        assert dataset_of(c["data"]).name == DATA.get(study, "cifar10")
    combinations = prod(len(values) for values in SWEPT.get(study, {}).values())
    assert sorted(seen) == sorted((n, s) for n in nets for s in seeds for _ in range(combinations))


@pytest.mark.parametrize("study", sorted(SWEPT))
def test_each_swept_value_changes_its_own_keys_only(study):
    from resnet_lab.records import flatten

    swept = SWEPT[study]
    jobs = {}
    for job, c in job_configs(study):
        o = dict(x.split("=", 1) for x in job)
        jobs[(o["net"], *(o[k] for k in swept))] = flatten(c)
    assert len(jobs) == len(GRIDS[study][0]) * prod(len(v) for v in swept.values())
    for (net, *values), c in jobs.items():
        for i, (key, changes) in enumerate(swept.items()):
            first = jobs[(net, *values[:i], next(iter(changes)), *values[i + 1:])]
            assert {k for k in c if c[k] != first[k]} == changes[values[i]], (net, key, values)
        assert c["trainer.log_every"] == 1  # the spike lives in single iterations


def test_the_startup_study_logs_the_gradient_norm_of_its_first_iterations():
    for _, c in job_configs("cpu_startup"):
        t = c["trainer"]
        assert (t["max_steps"], t["log_every"], t["log_grad_norm"]) == (20, 1, True)
        # cpu_degradation's recipe: its batches, its lr from the first iteration (below 110 layers)
        assert (c["data"]["batch_size"], c["optim"]["lr"], c["data"]["val_size"]) == (128, 0.1, 5000)


def test_full_scale_studies_use_the_papers_recipe():
    for study in ("figure1", "figure6", "figure7", "table6"):
        for _, c in job_configs(study):
            assert c["trainer"]["max_steps"] == 64000 and c["optim"]["milestones"] == [32000, 48000]
            assert c["data"]["batch_size"] == 128 and c["optim"]["lr"] == 0.1
    for _, c in job_configs("figure4"):
        assert c["data"]["batch_size"] == 256 and c["optim"]["schedule"] == "plateau"
        assert c["trainer"]["max_steps"] == 600000


def test_cpu_degradation_scales_the_schedule():
    for _, c in job_configs("cpu_degradation"):
        t, o = c["trainer"], c["optim"]
        # the paper's 32k/48k of 64k iterations, scaled to 600
        assert [m / t["max_steps"] for m in o["milestones"]] == [32 / 64, 48 / 64]
        assert c["model"]["in_channels"] == 1 and c["responses"]["enabled"]


@pytest.mark.parametrize("study", ["preact", "wide", "cpu_preact", "stochastic_depth", "no_norm",
                                   "cpu_stochastic_depth", "cpu_no_norm", "cpu_depth_stress"])
def test_beyond_studies_train_the_nets_they_name(study):
    """Each job's model is the net its name says (block, units, width, groups), and its run and
    legend carry that name."""
    for _, c in job_configs(study):
        assert model_name(c["model"]) == c["net"] and c["run_name"].endswith(f"-{c['net']}-s0")
    if study == "cpu_preact":
        t, o = c["trainer"], c["optim"]
        assert [m / t["max_steps"] for m in o["milestones"]] == [32 / 64, 48 / 64]
        assert o["lr"] / c["data"]["batch_size"] == 0.1 / 128  # the paper's lr, scaled linearly


def test_cpu_degradation_takes_more_depths_as_a_switch():
    jobs = sweep_jobs(["experiment=cpu_degradation", "net=plain-20,plain-32,plain-44,plain-56"])
    assert [j[0] for j in jobs] == [f"net={n}" for n in CIFAR_PLAIN]


@pytest.mark.parametrize("study", sorted(GRIDS))
def test_a_study_is_a_multirun_into_its_sweep_directory(study):
    """`python run.py experiment=<study>` alone is a multirun; a single job of it (a W&B agent's,
    hydra.mode=RUN) lands in the study's directory too."""
    h = compose([f"experiment={study}"], return_hydra_config=True).hydra
    assert h.mode.name == "MULTIRUN"
    for node in (h.run, h.sweep):
        assert OmegaConf.to_container(node)["dir"].startswith("${paths.output_root}/sweeps/${study}")


def test_the_sweep_files_are_generated_from_the_experiments():
    """sweeps/*.yaml equal what `python -m resnet_lab.config.sweeps` writes: one per study, with
    its whole grid (every swept key and value)."""
    assert sorted(p.stem for p in (ROOT / "sweeps").glob("*.yaml")) == studies() == sorted(GRIDS)
    for study in studies():
        assert (ROOT / "sweeps" / f"{study}.yaml").read_text() == render(study), (
            f"sweeps/{study}.yaml is out of date: run python -m resnet_lab.config.sweeps")


@pytest.mark.parametrize("path", sorted((ROOT / "sweeps").glob("*.yaml")), ids=lambda p: p.stem)
def test_wandb_sweep_matches_its_experiment(path):
    sweep = yaml.safe_load(path.read_text())
    study = path.stem
    assert f"experiment={study}" in sweep["command"] and "${args_no_hyphens}" in sweep["command"]
    params = sweep["parameters"]
    nets, seeds = GRIDS[study]
    swept = SWEPT.get(study, {})
    assert set(params) <= {"net", "seed", *swept}
    assert params["net"]["values"] == nets
    assert params.get("seed", {"values": [0]})["values"] == seeds
    assert {k: params[k]["values"] for k in swept} == {k: list(v) for k, v in swept.items()}
    fixed = [c for c in sweep["command"] if "=" in c]
    # each agent job composes and validates exactly as the W&B agent will call it: every net
    # and every seed, each once with the other at its first value (as run.py's up-front check
    # picks jobs; a seed cannot make a net's config invalid), under every combination of the
    # other swept keys
    pairs = _jobs([[f"net={net}" for net in nets], [f"seed={seed}" for seed in seeds]])
    for (net, seed), *values in product(pairs, *swept.values()):
        extra = [f"{k}={v}" for k, v in zip(swept, values, strict=True)]
        cfg = compose([*[f for f in fixed if not f.startswith("hydra.")], net, seed, *extra])
        validate(cfg)
        assert resolved(cfg)["logger"]["_target_"] == "resnet_lab.loggers.StudyWandbLogger"


def test_the_readme_lists_every_study_and_its_make_target():
    """A study a user cannot find is a study they do not run: each experiment file is named in
    the README's `experiment` row, and each Makefile study target has its row in the studies
    table (the remedies' five were once missing from both)."""
    readme = (ROOT / "README.md").read_text()
    experiment_row = next(line for line in readme.splitlines() if line.startswith("| `experiment` |"))
    assert [s for s in studies() if f"`{s}`" not in experiment_row] == []
    targets = re.findall(r"^(\w+): install.*\n\t\$\(call study,", (ROOT / "Makefile").read_text(), re.M)
    assert {"figure6", "cpu_depth_stress"} <= set(targets)  # the pattern still finds them
    assert [t for t in targets if f"| `make {t}` |" not in readme] == []
