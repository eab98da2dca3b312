"""Numbers from He et al. 2015 (arXiv 1512.03385) that our code and figures are checked against,
and from the follow-ups this suite also trains (pre-activation, wide and ResNeXt nets).

One place for the paper's facts: tests, the architecture table, Table 6 and the figures read
them from here.
"""

from typing import NamedTuple

CIFAR_DEPTHS = (20, 32, 44, 56, 110, 1202)

# Table 6: parameters (millions) and test error (%) of the option-A ResNets on CIFAR-10.
CIFAR_PARAMS_M = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7, 1202: 19.4}
TABLE6_TEST_ERROR = {20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97, 110: 6.43, 1202: 7.93}
TABLE6_RESNET110_MEAN_STD = (6.61, 0.16)  # over 5 runs

IMAGENET_DEPTHS = (18, 34, 50, 101, 152)
# Table 1: multiply-adds (x 10^9) for 224x224 inputs.
IMAGENET_GFLOPS = {18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3}
# torchvision's resnet18..152, which equal ours with option-B shortcuts.
TORCHVISION_PARAMS = {
    18: 11_689_512,
    34: 21_797_672,
    50: 25_557_032,
    101: 44_549_160,
    152: 60_192_808,
}
# Table 2: top-1 error (%, 10-crop testing).
TABLE2_TOP1 = {("plain", 18): 27.94, ("plain", 34): 28.54, ("resnet", 18): 27.88, ("resnet", 34): 25.03}
# Table 3: top-1 / top-5 error (%, 10-crop testing).
TABLE3 = {
    ("34", "A"): (25.03, 7.76),
    ("34", "B"): (24.52, 7.46),
    ("34", "C"): (24.19, 7.40),
    ("50", "B"): (22.85, 6.71),
    ("101", "B"): (21.75, 6.05),
    ("152", "B"): (21.43, 5.71),
}

# The recipes behind the paper's numbers, as this project's config keys. A table sets the
# paper's numbers beside a run's only where the run's config has every one of these values.
# Table 6 (Sec. 4.2): CIFAR-10, the reported nets trained on all 50k training images.
CIFAR10_RECIPE = {
    "data.name": "cifar10", "data.val_size": 0, "data.batch_size": 128,
    "data.normalize": "per_pixel_mean", "data.augment.enabled": True, "data.augment.pad": 4,
    "data.augment.flip": True, "optim.lr": 0.1, "optim.momentum": 0.9, "optim.weight_decay": 1e-4,
    "optim.schedule": "multistep", "optim.milestones": [32000, 48000], "optim.gamma": 0.1,
    "trainer.max_steps": 64000, "optim.warmup.lr": 0.01, "optim.warmup.error_below": 80.0,
}
# Tables 2 and 3 (Sec. 3.4): ImageNet, scale augmentation, per-pixel mean, no colour jitter
# beyond the PCA lighting, lr 0.1 divided on plateaus, up to 60e4 iterations, 10-crop testing.
IMAGENET_RECIPE = {
    "data.name": "imagenet", "data.image_size": 224, "data.scale_range": [256, 480],
    "data.normalize": "per_pixel_mean", "data.color_jitter": 0.0, "data.batch_size": 256,
    "data.test_mode": "ten_crop", "optim.lr": 0.1, "optim.momentum": 0.9,
    "optim.weight_decay": 1e-4, "optim.schedule": "plateau", "trainer.max_steps": 600000,
}

# ---------------------------------------------------------------- beyond the paper
# The follow-ups' numbers, each with its source. Parameters in millions as the papers print them;
# the 2016-17 papers' counts match the conv and fc weights (resnet_lab.models.count_weights:
# ResNet-1001 10.18M, and 10.33M with its BN parameters), the 2015 paper's all parameters
# (ResNet-1202 19.42M; 19.33M without BN). CIFAR-10 test errors in %.
PREACT = "He, Zhang, Ren, Sun 2016, Identity Mappings in Deep Residual Networks (arXiv 1603.05027)"
WRN = "Zagoruyko, Komodakis 2016, Wide Residual Networks (arXiv 1605.07146)"
RESNEXT = "Xie, Girshick, Dollar, Tu, He 2017, Aggregated Residual Transformations (arXiv 1611.05431)"
# CIFAR bottleneck nets (pre-activation paper): depth 9n+2, 16/32/64 planes, 64/128/256 out.
CIFAR_BOTTLENECK_DEPTHS = (164, 1001)


class Reported(NamedTuple):
    """A net's numbers as its paper reports them (None: not reported)."""
    params_m: float | None
    error: float | None
    source: str


# By legend name (resnet_lab.models.label). The pre-activation paper compares the original and the
# pre-activation unit at 110, 164 and 1001 layers in its Table 3 ("Classification error (%) on
# the CIFAR-10/100 test set using the original Residual Units and our pre-activation Residual
# Units"; its Table 4 has only the pre-activation ones); its 6.61 for the original ResNet-110 is
# the 2015 paper's mean of 5 runs, whose best is 6.43. ResNet-1202's is the 2015 paper's (Table
# 6); no paper reports its pre-activation twin. WRN-28-10's pair is from one version of its paper
# (v4, Table 6: "mean/std preprocessing, CIFAR numbers are based on median of 5 runs"): 4.00
# without and 3.89 with dropout. Its earlier README's pair with ZCA whitening, 4.17 and 4.39, is
# another preprocessing; Xie et al. (Table 7) compare with the 4.17.
BEYOND: dict[str, Reported] = {
    "ResNet-110": Reported(1.7, 6.61, f"{PREACT}, Table 3 (original unit)"),
    "preact-ResNet-110": Reported(1.7, 6.37, f"{PREACT}, Table 3"),
    "ResNet-164": Reported(1.7, 5.93, f"{PREACT}, Table 3 (original unit)"),
    "preact-ResNet-164": Reported(1.7, 5.46, f"{PREACT}, Table 3"),
    "ResNet-1001": Reported(10.2, 7.61, f"{PREACT}, Table 3 (original unit)"),
    "preact-ResNet-1001": Reported(10.2, 4.92, f"{PREACT}, Table 3"),
    "ResNet-1202": Reported(19.4, 7.93, "He et al. 2015, Table 6"),
    "preact-ResNet-1202": Reported(None, None, "not reported"),
    "WRN-16-8": Reported(11.0, None, WRN),
    "WRN-28-10": Reported(36.5, 4.00, f"{WRN}, v4 Table 6 (mean/std preprocessing, median of 5 runs)"),
    "WRN-28-10-dropout0.3": Reported(36.5, 3.89, f"{WRN}, v4 Table 6 (mean/std preprocessing, "
                                     f"median of 5 runs; dropout 0.3 between the convs)"),
    "ResNeXt-29-8x64d": Reported(34.4, 3.65, f"{RESNEXT}, Table 7"),
    "ResNeXt-29-16x64d": Reported(68.1, 3.58, f"{RESNEXT}, Table 7"),
}
# ImageNet nets of the follow-ups as torchvision builds them (resnext50_32x4d, resnext101_32x8d,
# wide_resnet50_2), which equal ours with stride_in=3x3; ResNeXt-50's 4.2 GFLOPs: Xie et al. Table 1.
TORCHVISION_BEYOND = {
    "ResNeXt-50-32x4d": (dict(depth=50, cardinality=32, base_width=4), 25_028_904, 4.2),
    "ResNeXt-101-32x8d": (dict(depth=101, cardinality=32, base_width=8), 88_791_336, None),
    "ResNeXt-50-1x128d": (dict(depth=50, base_width=128), 68_883_240, None),  # wide_resnet50_2
}

# ---------------------------------------------------------------- the remedies
# The degradation literature after He et al. 2015 (resnet_lab.models: gates, norms, init), CIFAR-10
# test errors in % as read from the papers' text; None where the paper reports no such number or
# where its text could not be read here (said in the source). Their recipes are their own.
STOCHASTIC_DEPTH = ("Huang, Sun, Liu, Sedra, Weinberger 2016, Deep Networks with Stochastic Depth "
                    "(arXiv 1603.09382, ECCV version)")
FIXUP = "Zhang, Dauphin, Ma 2019, Fixup Initialization (arXiv 1901.09321)"
REZERO = "Bachlechner, Majumder, Mao, Cottrell, McAuley 2020, ReZero is All You Need (arXiv 2003.04887)"
SKIPINIT = ("De, Smith 2020, Batch Normalization Biases Residual Blocks Towards the Identity "
            "Function in Deep Networks (arXiv 2002.10444)")
SD_RECIPE = ("its own: 500 epochs (110 layers; 1202: 300 with 10 of warm-up), Nesterov, the "
             "epoch of lowest validation error on a 45k/5k split")
REMEDIES: dict[str, Reported] = {
    # Table 1 ("Test error (%) of ResNets trained with stochastic depth ..."), CIFAR10+ column
    "ResNet-110": Reported(1.7, 6.41, f"{STOCHASTIC_DEPTH}, Table 1 (constant depth); {SD_RECIPE}"),
    "ResNet-110-SD": Reported(1.7, 5.25, f"{STOCHASTIC_DEPTH}, Table 1; {SD_RECIPE}"),
    # Sec. 4 (and Figs. 4, 5): trained on CIFAR-10 only, so not in Table 1
    "ResNet-1202": Reported(19.4, 6.67, f"{STOCHASTIC_DEPTH}, Sec. 4 (constant depth); {SD_RECIPE}"),
    "ResNet-1202-SD": Reported(19.4, 4.91, f"{STOCHASTIC_DEPTH}, Sec. 4; {SD_RECIPE}"),
    "Fixup-ResNet-110": Reported(1.7, None, f"{FIXUP}: its CIFAR-10 table could not be read here, "
                                 f"so no number is quoted"),
    "ReZero-ResNet-56": Reported(0.85, None, f"{REZERO}: reports convergence speed on CIFAR-10 "
                                 f"(v1 abstract: 32% faster for ResNet-56), no test error read here"),
    "SkipInit-ResNet-56": Reported(0.85, None, f"{SKIPINIT}: reports Wide-ResNets; its tables could "
                                   f"not be read here"),
}
# Stochastic depth's training time (Table 2, CIFAR10+, 110 layers): constant depth 20h 42m,
# stochastic depth 15h 7m; "approximately 25% of training time could be saved" (p_L = 0.5).
SD_TRAINING_HOURS = {"ResNet-110": 20 + 42 / 60, "ResNet-110-SD": 15 + 7 / 60}
