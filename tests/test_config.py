"""The composed configuration: the paper's recipe by default, every bad value refused clearly."""

import pytest

from resnet_lab.compose import compose
from resnet_lab.config import validate
from resnet_lab.errors import ConfigError
from resnet_lab.train import resolved


def test_default_config_is_the_papers_cifar_recipe():
    c = resolved(compose())
    validate(c)
    assert c["model"] == dict(family="cifar", depth=20, residual=True, shortcut="A", num_classes=10,
                              in_channels=3, init_mode="fan_out")
    d, o, t = c["data"], c["optim"], c["trainer"]
    assert (d["name"], d["val_size"], d["batch_size"]) == ("cifar10", 5000, 128)
    assert d["augment"] == dict(enabled=True, pad=4, flip=True) and d["normalize"] == "per_pixel_mean"
    assert (o["lr"], o["momentum"], o["weight_decay"]) == (0.1, 0.9, 1e-4)
    assert (o["milestones"], o["gamma"], t["max_steps"]) == ([32000, 48000], 0.1, 64000)
    assert (o["warmup"]["lr"], o["warmup"]["error_below"], o["warmup"]["enabled"]) == (0.01, 80.0, "auto")
    assert c["run_name"] == "cifar10-ResNet-20-s0"


def test_fashion_mnist_feeds_a_one_channel_stem():
    c = resolved(compose(["data=fashion_mnist"]))
    validate(c)
    assert c["model"]["in_channels"] == 1 and c["data"]["val_size"] == 5000


def test_imagenet_recipe():
    c = resolved(compose(["data=imagenet", "model=imagenet", "optim=sgd_imagenet"]))
    validate(c)
    assert (c["data"]["batch_size"], c["optim"]["schedule"], c["model"]["num_classes"]) == (256, "plateau", 1000)
    assert c["run_name"] == "imagenet-ResNet-18-s0"


@pytest.mark.parametrize("override,message", [
    ("model.depth=21", r"model\.depth=21 .*6n\+2"),
    ("model.shortcut=D", r"model\.shortcut='D' .*A, B, C"),
    ("model.residual=maybe", r"model\.residual='maybe' .*true, false"),
    ("optim.lr=-0.1", r"optim\.lr=-0\.1 .*\(0, 10\]"),
    ("optim.lr=0", r"optim\.lr=0 "),
    ("optim.momentum=1.5", r"optim\.momentum=1\.5"),
    ("optim.weight_decay=-1", r"optim\.weight_decay=-1"),
    ("optim.milestones=[48000,32000]", r"optim\.milestones=.*increasing"),
    ("optim.gamma=2", r"optim\.gamma=2"),
    ("optim.warmup.until=loss", r"optim\.warmup\.until='loss' .*error, steps"),
    ("optim.schedule=cosine", r"optim\.schedule='cosine' .*multistep, plateau"),
    ("trainer.max_steps=0", r"trainer\.max_steps=0 .*>= 1"),
    ("trainer.max_steps=1.5", r"trainer\.max_steps=1\.5"),
    ("trainer.eval_every=-5", r"trainer\.eval_every=-5"),
    ("trainer.precision=8", r"trainer\.precision='8'"),
    ("trainer.accelerator=tpu", r"trainer\.accelerator='tpu' .*cpu, gpu"),
    ("trainer.progress=fancy", r"trainer\.progress='fancy'"),
    ("data.batch_size=0", r"data\.batch_size=0"),
    ("data.val_size=50000", r"data\.val_size=50000 .*49999"),
    ("data.normalize=zca", r"data\.normalize='zca' .*per_pixel_mean, per_channel"),
    ("data.augment.pad=-1", r"data\.augment\.pad=-1"),
    ("data.device=tpu", r"data\.device='tpu' .*auto, cpu"),
    ("logger.mode=cloud", r"logger\.mode='cloud' .*auto, online, offline, disabled"),
    ("seed=-1", r"seed=-1"),
    ("+model.dept=20", r"model\.dept \(did you mean model\.depth\?\)"),
    ("+optim.weight_decy=0", r"optim\.weight_decy \(did you mean optim\.weight_decay\?\)"),
    ("+trainer.max_step=10", r"trainer\.max_step \(did you mean trainer\.max_steps\?\)"),
    ("+data.augment.flips=false", r"data\.augment\.flips \(did you mean data\.augment\.flip\?\)"),
    ("model.residual=false model.shortcut=C", r"plain nets have no shortcuts"),
    ("model.num_classes=100", r"model\.num_classes=100 .*data\.num_classes"),
    # the ImageNet nets take 32x32 images (smoke_imagenet), the CIFAR nets not 224x224 ImageNet
    ("data=imagenet", r"model='cifar' .*data=imagenet needs model=imagenet"),
    ("trainer.strategy=ddp trainer.devices=3", r"data\.batch_size=128 .*multiple of the 3 processes"),
])
def test_bad_values_name_the_option_and_valid_values(override, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose(override.split()))
