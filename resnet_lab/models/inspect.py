"""Measurements of a network: parameters, multiply-adds, and the layers Figure 7 reads."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_flops(model: nn.Module, input_size: tuple[int, ...]) -> int:
    """Multiply-adds of one forward pass for one image of ``input_size`` (C, H, W).

    The paper's "FLOPs" are multiply-adds of the conv and fc layers; torch's counter reports
    2 FLOPs per multiply-add for those, so we halve it. BN, ReLU, pooling and the shortcut
    additions are not counted, as in the paper.
    """
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    try:
        with counter:
            model(torch.zeros(1, *input_size))
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2


def response_layers(model: nn.Module) -> list[tuple[str, nn.BatchNorm2d]]:
    """The BN after every 3x3 conv, in forward order: Figure 7's "responses" are the outputs
    of these (after BN, before the ReLU or the addition).

    Relies on the torchvision naming the blocks share (``convK`` is followed by ``bnK``).
    """
    modules = dict(model.named_modules())
    layers = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3):
            prefix, _, leaf = name.rpartition(".")
            bn_name = (prefix + "." if prefix else "") + leaf.replace("conv", "bn", 1)
            bn = modules.get(bn_name)
            if not isinstance(bn, nn.BatchNorm2d):
                raise TypeError(f"3x3 conv {name!r} has no BatchNorm named {bn_name!r}")
            layers.append((bn_name, bn))
    return layers
