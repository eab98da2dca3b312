"""``python -m resnet_lab.models``: the architecture table (parameters, multiply-adds) of every
network in the paper, with the paper's numbers beside ours, printed and saved as CSV/Markdown."""

from __future__ import annotations

import argparse

from .. import paper
from ..tables import write_table
from .build import build_model, model_name
from .inspect import count_flops, count_params

COLUMNS = (
    "family", "model", "depth", "residual", "shortcut", "params", "params_M", "paper_params_M",
    "GMACs", "paper_GFLOPs",
)


def architecture_rows(cifar_depths=paper.CIFAR_DEPTHS, imagenet_depths=paper.IMAGENET_DEPTHS):
    """One row per (family, depth, plain / residual A, B, C)."""
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
            model = build_model(cfg)
            params = count_params(model)
            paper_params = None
            if family == "cifar" and shortcut == "A":
                paper_params = paper.CIFAR_PARAMS_M.get(depth)
            elif family == "imagenet" and residual and shortcut == "B":
                paper_params = round(paper.TORCHVISION_PARAMS[depth] / 1e6, 2)
            rows.append(dict(
                family=family, model=model_name(cfg), depth=depth, residual=residual,
                shortcut=shortcut if residual else "-", params=params,
                params_M=round(params / 1e6, 2), paper_params_M=paper_params,
                GMACs=round(count_flops(model, size) / 1e9, 4),
                paper_GFLOPs=paper.IMAGENET_GFLOPS.get(depth) if family == "imagenet" else None,
            ))
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
               "the paper's bottleneck (stride on the first 1x1). paper_params_M: Table 6 for "
               "CIFAR (option A); torchvision's resnet18..152 for ImageNet option B."),
    )


if __name__ == "__main__":
    main()
