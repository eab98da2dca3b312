"""``python -m resnet_lab.models``: the architecture table (parameters, multiply-adds) of every
network in the paper and of the follow-ups' nets (pre-activation, wide, ResNeXt), with the
papers' numbers beside ours, printed and saved as CSV/Markdown."""

from __future__ import annotations

import argparse

import torch

from .. import paper
from ..tables import write_table
from .build import checked
from .choices import family_of
from .inspect import count_flops, count_params, count_weights
from .naming import label, parse_net

COLUMNS = (
    "family", "model", "depth", "residual", "shortcut", "block", "params", "params_M",
    "weights_M", "paper_params_M", "GMACs", "paper_GFLOPs",
)
# The follow-ups' nets by name (resnet_lab.models.naming.parse_net), with their plain twins.
BEYOND_CIFAR = (
    "preact-ResNet-110", "preact-ResNet-1202", "ResNet-164", "preact-ResNet-164", "plain-164",
    "ResNet-1001", "preact-ResNet-1001", "WRN-16-8", "plain-WRN-16-8", "WRN-28-10",
    "plain-WRN-28-10", "ResNeXt-29-8x64d", "plain-ResNeXt-29-8x64d", "ResNeXt-29-16x64d",
)


def _row(cfg: dict, size: tuple[int, int, int], paper_params, paper_flops) -> dict:
    from hydra.utils import instantiate

    cfg = checked(cfg)
    with torch.device("meta"):  # shapes only: counted without allocating or computing
        model = instantiate(cfg)
    params = count_params(model)
    return dict(
        family=family_of(cfg), model=label(cfg), depth=cfg["depth"], residual=cfg["residual"],
        shortcut=cfg["shortcut"] if cfg["residual"] else "-", block=cfg["block"],
        params=params, params_M=round(params / 1e6, 2),
        weights_M=round(count_weights(model) / 1e6, 2), paper_params_M=paper_params,
        GMACs=round(count_flops(model, size) / 1e9, 4), paper_GFLOPs=paper_flops,
    )


def architecture_rows(cifar_depths=paper.CIFAR_DEPTHS, imagenet_depths=paper.IMAGENET_DEPTHS,
                      beyond=BEYOND_CIFAR, beyond_imagenet=True):
    """One row per (family, depth, plain / residual A, B, C); then the follow-ups' nets: the
    CIFAR ones named in ``beyond``, and with ``beyond_imagenet`` torchvision's ResNeXt and wide
    ResNet and a pre-activation ResNet-152."""
    variants = [(False, "A"), (True, "A"), (True, "B"), (True, "C")]
    grid = [("cifar", d, (3, 32, 32), "1x1") for d in cifar_depths]
    # Table 1's FLOPs are for the paper's bottleneck (stride on the first 1x1).
    grid += [("imagenet", d, (3, 224, 224), "1x1") for d in imagenet_depths]
    rows = []
    for family, depth, size, stride_in in grid:
        for residual, shortcut in variants:
            cfg = dict(family=family, depth=depth, residual=residual, shortcut=shortcut)
            if family == "imagenet":
                cfg["stride_in"] = stride_in
            paper_params = None
            if family == "cifar" and shortcut == "A":
                paper_params = paper.CIFAR_PARAMS_M.get(depth)
            elif family == "imagenet" and residual and shortcut == "B":
                paper_params = round(paper.TORCHVISION_PARAMS[depth] / 1e6, 2)
            rows.append(_row(cfg, size, paper_params, paper.IMAGENET_GFLOPS.get(depth)
                             if family == "imagenet" else None))
    for net in beyond:
        cfg = dict(family="cifar", **parse_net(net, "cifar"))
        reported = paper.BEYOND.get(net)
        rows.append(_row(cfg, (3, 32, 32), reported.params_m if reported else None, None))
    if not beyond_imagenet:
        return rows
    # torchvision's ResNeXt and wide ResNet stride the 3x3 (as the ResNeXt paper's FLOPs)
    for _, (arch, tv_params, flops) in paper.TORCHVISION_BEYOND.items():
        cfg = dict(family="imagenet", residual=True, shortcut="B", stride_in="3x3", **arch)
        rows.append(_row(cfg, (3, 224, 224), round(tv_params / 1e6, 2), flops))
    cfg = dict(family="imagenet", depth=152, residual=True, shortcut="B", block="preact")
    rows.append(_row(cfg, (3, 224, 224), None, None))
    return rows


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default="outputs/architectures/architectures",
                   help="path stem for the .csv and .md files (default: %(default)s)")
    args = p.parse_args(argv)
    write_table(
        architecture_rows(), COLUMNS, args.out, title="resnet_lab architectures",
        notes=("GMACs: multiply-adds (x 10^9) of one forward pass, 32x32 (CIFAR) or 224x224 "
               "(ImageNet) input, conv and fc layers, as Table 1 counts FLOPs. ImageNet rows use "
               "the paper's bottleneck (stride on the first 1x1), except the ResNeXt rows "
               "(stride on the 3x3, as torchvision and the ResNeXt paper's 4.2 GFLOPs). "
               "paper_params_M: Table 6 for CIFAR (option A); torchvision's resnet18..152 for "
               "ImageNet option B, and its resnext50_32x4d, resnext101_32x8d and wide_resnet50_2 "
               "(ResNeXt-50-1x128d); for the follow-ups' CIFAR nets their papers' (resnet_lab/"
               "paper.py BEYOND, with sources), which match weights_M, the conv and fc weights "
               "(params counts BN's too; the 2015 paper's counts match params). Plain twins: "
               "the same layers without shortcuts (a pre-activation net's plain twin is the "
               "plain net itself). depth: model.depth (a WRN-d-k's d counts its three 1x1 "
               "projections: model.depth + 2)."),
    )


if __name__ == "__main__":
    main()
