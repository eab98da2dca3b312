"""The composed configuration: the paper's recipe by default, every bad value refused clearly."""

import subprocess
import sys

import pytest

from resnet_lab.compose import compose
from resnet_lab.config import NOT_RESULTS, check_model_config, validate
from resnet_lab.config.command_line import command_line_error
from resnet_lab.data.registry import dataset_of
from resnet_lab.errors import ConfigError
from resnet_lab.models import build_model
from resnet_lab.records import RunDir
from resnet_lab.train import resolved

from .conftest import FAST, ROOT, run_py

# The follow-ups' model keys at the values that leave a net as the 2015 paper has it
PAPERS_UNITS = dict(block="original", width=1, dropout=0.0, cardinality=1, base_width=64,
                    bottleneck=False, stride_in="1x1", shortcut_pad="end", zero_init_residual=False,
                    gate="identity", norm="bn", init="he", survival_last=0.5)
CIFAR = "resnet_lab.models.families.cifar_resnet"


def test_default_config_is_the_papers_cifar_recipe():
    c = resolved(compose())
    validate(c)
    assert c["model"] == dict(_target_=CIFAR, depth=20, residual=True, shortcut="A", num_classes=10,
                              in_channels=3, init_mode="fan_out", **PAPERS_UNITS)
    d, o, t = c["data"], c["optim"], c["trainer"]
    assert (dataset_of(d).name, d["val_size"], d["batch_size"]) == ("cifar10", 5000, 128)
    assert d["augment"] == dict(enabled=True, pad=4, flip=True) and d["normalize"] == "per_pixel_mean"
    assert (o["lr"], o["momentum"], o["weight_decay"]) == (0.1, 0.9, 1e-4)
    assert (o["milestones"], o["gamma"], t["max_steps"]) == ([32000, 48000], 0.1, 64000)
    assert (o["warmup"]["lr"], o["warmup"]["error_below"], o["warmup"]["enabled"]) == (0.01, 80.0, "auto")
    assert c["run_name"] == "cifar10-ResNet-20-s0"


def test_fashion_mnist_feeds_a_one_channel_stem():
    c = resolved(compose(["data=fashion_mnist"]))
    validate(c)
    assert c["model"]["in_channels"] == 1 and c["data"]["val_size"] == 5000


def test_fashion_mnist_may_feed_a_three_channel_stem():
    c = resolved(compose(["data=fashion_mnist", "data.channels=3"]))
    validate(c)
    assert c["model"]["in_channels"] == 3
    assert build_model(c["model"]).stem.conv.in_channels == 3


def test_the_papers_open_choices_are_model_options():
    c = resolved(compose(["net=ResNet-56", "model.shortcut_pad=both", "model.zero_init_residual=true"]))
    validate(c)
    assert (c["model"]["shortcut_pad"], c["model"]["zero_init_residual"]) == ("both", True)
    assert c["run_name"] == "cifar10-ResNet-56-s0"


def test_imagenet_recipe():
    c = resolved(compose(["data=imagenet", "model=imagenet", "optim=sgd_imagenet"]))
    validate(c)
    assert (c["data"]["batch_size"], c["optim"]["schedule"], c["model"]["num_classes"]) == (256, "plateau", 1000)
    assert c["model"]["stride_in"] == "1x1" and c["run_name"] == "imagenet-ResNet-18-s0"


@pytest.mark.parametrize("net,model", [
    ("plain-56", dict(depth=56, residual=False, shortcut="A")),
    ("ResNet-110", dict(depth=110, residual=True, shortcut="A")),
    ("model=imagenet ResNet-34-C", dict(depth=34, residual=True, shortcut="C")),
    ("model=imagenet ResNet-34", dict(depth=34, residual=True, shortcut="B")),
])
def test_net_shorthand_sets_the_model(net, model):
    *group, net = net.split()
    m = resolved(compose([*group, f"net={net}"]))["model"]
    assert {k: m[k] for k in model} == model


def test_model_api_fills_in_the_families_defaults():
    assert check_model_config(dict(depth=14)) == dict(
        _target_=CIFAR, depth=14, residual=True, shortcut="A", num_classes=10, in_channels=3,
        init_mode="fan_out", **PAPERS_UNITS)
    kw = check_model_config(dict(family="imagenet", residual=False, shortcut="A"))
    assert (kw["depth"], kw["stride_in"], kw["num_classes"]) == (18, "1x1", 1000)
    assert "width" not in kw and "bottleneck" not in kw  # a family takes only the options it uses
    assert build_model(dict(family="cifar", depth=8, num_classes=3)).head.fc.out_features == 3


@pytest.mark.parametrize("override,message", [
    ("model.depth=21", r"model\.depth=21 .*6n\+2"),
    ("model=imagenet model.depth=20", r"model\.depth=20 .*18, 34, 50, 101, 152"),
    ("model.shortcut=D", r"model\.shortcut='D' .*A, B, C"),
    ("model.residual=maybe", r"model\.residual='maybe' .*true, false"),
    ("net=plain56", r"net='plain56' is invalid; valid values: plain-<depth> or ResNet-<depth>"),
    ("optim.lr=-0.1", r"optim\.lr=-0\.1 .*\(0, 10\]"),
    ("optim.lr=0", r"optim\.lr=0\.0 "),
    ("optim.momentum=1.5", r"optim\.momentum=1\.5"),
    ("optim.weight_decay=-1", r"optim\.weight_decay=-1"),
    ("optim.milestones=[48000,32000]", r"optim\.milestones=.*increasing"),
    ("optim.gamma=2", r"optim\.gamma=2"),
    ("optim.warmup.until=loss", r"optim\.warmup\.until='loss' .*error, steps"),
    ("optim.warmup.enabled=sometimes", r"optim\.warmup\.enabled='sometimes' .*auto, true, false"),
    ("optim.schedule=cosine", r"optim\.schedule='cosine' .*multistep, plateau"),
    ("trainer.max_steps=0", r"trainer\.max_steps=0 .*>= 1"),
    ("trainer.max_steps=1.5", r"trainer\.max_steps=1\.5"),
    ("trainer.eval_every=-5", r"trainer\.eval_every=-5"),
    ("trainer.precision=8", r"trainer\.precision='8'"),
    ("trainer.accelerator=tpu", r"trainer\.accelerator='tpu' .*cpu, gpu"),
    ("trainer.devices=0", r"trainer\.devices=0 .*auto or an integer >= 1"),
    ("trainer.progress=fancy", r"trainer\.progress='fancy'"),
    ("data.batch_size=0", r"data\.batch_size=0"),
    ("data.val_size=50000", r"data\.val_size=50000 .*49999"),
    ("data.normalize=zca", r"data\.normalize='zca' .*per_pixel_mean, per_channel"),
    ("data.augment.pad=-1", r"data\.augment\.pad=-1"),
    ("data.device=tpu", r"data\.device='tpu' .*auto, cpu"),
    ("data=synthetic data.train_size=100", r"data\.train_size=100 .*at least data\.batch_size \(128\)"),
    ("data=imagenet model=imagenet data.scale_range=[200,100]", r"data\.scale_range=\[200, 100\]"),
    ("logger.mode=cloud", r"logger\.mode='cloud' .*auto, online, offline, disabled"),
    ("responses.reduce=layer", r"responses\.reduce='layer' .*all, channel"),
    ("seed=-1", r"seed=-1"),
    ("data=cifar100", r"data='cifar100' is invalid; valid values: cifar10, fashion_mnist, imagenet, synthetic"),
    ("model.residual=false model.shortcut=C", r"plain nets have no shortcuts"),
    ("net=plain-56 model.zero_init_residual=true",
     r"^model\.zero_init_residual=True is invalid; valid values: false with model\.residual=false "
     r"\(.*\); true needs model\.residual=true\.$"),
    ("net=preact-ResNet-56 model.zero_init_residual=true",
     r"model\.zero_init_residual=True .*false with model\.block=preact"),
    ("model.shortcut_pad=middle", r"model\.shortcut_pad='middle' is invalid; valid values: end, both\.$"),
    ("data=fashion_mnist data.channels=2",
     r"^data\.channels=2 is invalid; valid values: 1, 3 with data=fashion_mnist\.$"),
    ("model.num_classes=100", r"model\.num_classes=100 .*data\.num_classes"),
    # the ImageNet nets take 32x32 images (smoke_imagenet), the CIFAR nets not 224x224 ImageNet
    ("data=imagenet", r"model='cifar' .*data=imagenet needs model=imagenet"),
    ("trainer.strategy=ddp trainer.devices=3", r"data\.batch_size=128 .*multiple of the 3 processes"),
])
def test_bad_values_name_the_option_and_valid_values(override, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose(override.split()))


# A misspelt key and a wrong-typed value in every group: one sentence naming the option, the bad
# value and what is valid (for a key, the nearest valid name), from compose()+validate() and
# from run.py's own check of its command line.
MISSPELT = [
    ("model.dept=20", "unknown option model.dept (did you mean model.depth?); valid model options: "
                      "base_width, block, bottleneck, cardinality, depth,"),
    ("data.batch_sise=64", "unknown option data.batch_sise (did you mean data.batch_size?)"),
    ("data.augment.flips=false", "unknown option data.augment.flips (did you mean data.augment.flip?)"),
    ("optim.weight_decy=0", "unknown option optim.weight_decy (did you mean optim.weight_decay?)"),
    ("optim.warmup.lrr=0.1", "unknown option optim.warmup.lrr (did you mean optim.warmup.lr?)"),
    ("trainer.max_step=5", "unknown option trainer.max_step (did you mean trainer.max_steps?)"),
    ("logger.projet=x", "unknown option logger.projet (did you mean logger.project?)"),
    ("responses.reduse=all", "unknown option responses.reduse (did you mean responses.reduce?)"),
    ("paths.output=x", "unknown option paths.output (did you mean paths.output_root?)"),
    ("sed=1", "unknown option config.sed (did you mean config.seed?)"),
]
WRONG_TYPE = [
    ("model.depth=deep", "model.depth='deep' is invalid; valid values: 6n+2 for any n >= 1"),
    ("model.residual=maybe", "model.residual='maybe' is invalid; valid values: true, false."),
    ("data.batch_size=many", "data.batch_size='many' is invalid; valid values: an integer >= 1."),
    ("data.eval_subset=some", "data.eval_subset='some' is invalid; valid values: an integer >= 1 or null."),
    ("optim.lr=fast", "optim.lr='fast' is invalid; valid values: a number in (0, 10]."),
    ("optim.milestones=[1.5]", "optim.milestones=1.5 is invalid; valid values: increasing positive"),
    ("trainer.max_steps=abc", "trainer.max_steps='abc' is invalid; valid values: an integer >= 1."),
    ("logger.mode=[a]", "logger.mode=['a'] is invalid; valid values: auto, online, offline, disabled."),
    ("responses.enabled=maybe", "responses.enabled='maybe' is invalid; valid values: true, false."),
    ("paths.output_root=[a]", "paths.output_root=['a'] is invalid; valid values: a string."),
    ("seed=abc", "seed='abc' is invalid; valid values: an integer >= 0."),
    ("tags=x", "tags='x' is invalid; valid values: a list of strings."),
]


@pytest.mark.parametrize("override,message", MISSPELT + WRONG_TYPE, ids=lambda x: x.split("=")[0])
def test_every_group_refuses_a_misspelt_key_and_a_wrong_type(override, message):
    with pytest.raises(ConfigError) as e:
        validate(compose([override]))
    assert str(e.value).startswith(message)
    assert command_line_error(FAST + [override]).startswith(message)
    assert command_line_error(["-m", "model.depth=8,14", override]).startswith(message)


@pytest.mark.parametrize("override,message", MISSPELT[:4])
def test_a_key_added_with_plus_must_exist_too(override, message):
    with pytest.raises(ConfigError) as e:
        validate(compose([f"+{override}"]))
    assert str(e.value).startswith(message)
    assert command_line_error([f"+{override}"]).startswith(message)


@pytest.mark.parametrize("overrides,key,valid", [
    ("data=synthetic +data.scale_range=[256,480]", "data.scale_range", "seed, split_seed, test_size"),
    ("data=imagenet model=imagenet +data.augment.pad=0", "data.augment", "test_scales, val_resize"),
    ("model=imagenet +model.bottleneck=true", "model.bottleneck", "shortcut, shortcut_pad, stride_in"),
])
def test_a_key_of_another_option_names_the_chosen_options_keys(overrides, key, valid):
    with pytest.raises(ConfigError, match=rf"^unknown option {key}( \(did you mean .*\))?; valid .* options: .*{valid}"):
        validate(compose(overrides.split()))


def test_an_option_without_options_says_so():
    with pytest.raises(ConfigError, match=r"^unknown option logger\.project; this logger takes no options\.$"):
        validate(compose(["logger=csv", "+logger.project=x"]))


def test_a_swept_value_is_checked_before_any_job_runs():
    assert command_line_error(["-m", "model.depth=20,56,abc"]).startswith("model.depth='abc' is invalid")
    assert command_line_error(["-m", "model.depth=20,56", "model.residual=true,false"]) is None


def test_users_add_their_own_callbacks():
    cfg = compose(["+callbacks.mine._target_=my_package.MyCallback", "+callbacks.mine.some_arg=3"])
    validate(cfg)
    assert resolved(cfg)["callbacks"]["mine"] == {"_target_": "my_package.MyCallback", "some_arg": 3}
    with pytest.raises(ConfigError, match=r"^callbacks\.mine=\{'some_arg': 3\} is invalid; .*_target_"):
        validate(compose(["+callbacks.mine.some_arg=3"]))


def test_run_py_refuses_a_wrong_type_with_one_sentence_and_writes_nothing(tmp_path):
    proc = run_py(FAST + ["trainer.max_steps=abc"], tmp_path, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: trainer.max_steps='abc' is invalid; valid values: an integer >= 1."]
    assert not (tmp_path / "outputs").exists()


def test_resolvers_and_schemas_are_registered_explicitly_not_on_import():
    code = ("from omegaconf import OmegaConf; from hydra.core.config_store import ConfigStore\n"
            "import resnet_lab.config as c, resnet_lab.records, resnet_lab.compose\n"
            "print(OmegaConf.has_resolver('net_label'), 'schema' in ConfigStore.instance().repo)\n"
            "c.register(); c.register()\n"
            "print(OmegaConf.has_resolver('net_label'), OmegaConf.has_resolver('from_net'),"
            " 'schema' in ConfigStore.instance().repo)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False", "True", "True", "True"]


# --------------------------------------------------------------- result-neutral keys, in one list

def _job_dirname(overrides: list[str]) -> str:
    return compose(overrides, return_hydra_config=True).hydra.job.override_dirname


@pytest.mark.parametrize("override", [
    "trainer.compile=true", "trainer.channels_last=true", "trainer.devices=2", "trainer.progress=none",
    "logger=csv", "logger.mode=offline", "data.root=/elsewhere", "data.eval_batch_size=100",
    "paths.output_root=/out", "study=mine", "tags=[a]", "callbacks.progress=null",
    "trainer.log_grad_norm=true",
])
def test_a_result_neutral_key_resumes_and_stays_out_of_job_names(override, tmp_path):
    key = override.split("=")[0]
    assert any(key == p or key.startswith(p + ".") for p in NOT_RESULTS)
    base = ["model.depth=8"]
    rd = RunDir(tmp_path)
    rd.write_config(resolved(compose(base)))
    rd.check_config(resolved(compose(base + [override])))  # accepted: no RunDirError
    assert _job_dirname(base + [override]) == _job_dirname(base) == "model.depth=8"


def test_a_result_key_is_refused_and_names_the_job(tmp_path):
    rd = RunDir(tmp_path)
    rd.write_config(resolved(compose(["model.depth=8"])))
    with pytest.raises(Exception, match=r"another config \(model\.depth: 8 there, 14 here"):
        rd.check_config(resolved(compose(["model.depth=14"])))
    assert _job_dirname(["model.depth=14", "optim.lr=0.05"]) == "model.depth=14,optim.lr=0.05"


def test_a_record_older_than_a_model_field_reads_as_its_default(tmp_path):
    # a run directory written before model.zero_init_residual existed built its default
    rd = RunDir(tmp_path)
    old = resolved(compose(["model.depth=8"]))
    del old["model"]["zero_init_residual"], old["model"]["shortcut_pad"]
    rd.write_config(old)
    rd.check_config(resolved(compose(["model.depth=8"])))  # resumes: no RunDirError
    with pytest.raises(Exception, match=r"model\.zero_init_residual: False there, True here"):
        rd.check_config(resolved(compose(["model.depth=8", "model.zero_init_residual=true"])))
