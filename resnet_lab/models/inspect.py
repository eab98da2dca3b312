"""Measurements of a network: parameters, multiply-adds, and the layers Figure 7 reads."""

from __future__ import annotations

import math

import torch
from torch import nn

from .norms import RESPONSE_LAYERS


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_weights(model: nn.Module) -> int:
    """Parameters of the conv and fc layers, BN's left out: what the 2016-17 papers' counts
    match (ResNet-1001: 10.2M of weights, 10.3M with its BNs)."""
    return sum(p.numel() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))
               for p in m.parameters())


@torch.no_grad()
def count_flops(model: nn.Module, input_size: tuple[int, ...]) -> int:
    """Multiply-adds of one forward pass for one image of ``input_size`` (C, H, W).

    The paper's "FLOPs" are multiply-adds of the conv and fc layers: counted here by a hook on
    each of them from its output's size, what torch's FlopCounterMode counts for those layers
    (halved: it reports 2 FLOPs per multiply-add; tests/test_models.py checks the two agree).
    BN, ReLU, pooling, the gates' scalars and the shortcut additions are not counted, as in the
    paper. Hooks rather than the counter: under the counter a 1202-layer net on the meta device
    spends minutes decomposing its BN layers; the hooks cost one forward pass of shapes. A model
    on the meta device is counted without computing anything (the architecture table builds its
    nets there).
    """
    macs = 0

    def count(layer: nn.Module, inputs, out: torch.Tensor) -> None:
        nonlocal macs
        if isinstance(layer, nn.Linear):
            macs += out.numel() * layer.in_features
        else:  # each output value sums (in_channels / groups) x kernel products
            macs += out.numel() * layer.in_channels // layer.groups * math.prod(layer.kernel_size)

    hooks = [m.register_forward_hook(count) for m in model.modules()
             if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    model.eval()
    try:
        model(torch.zeros(1, *input_size, device=next(model.parameters()).device))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return macs


def response_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The BN after every 3x3 conv, in forward order: Figure 7's "responses" are the outputs
    of these (after BN, before the ReLU or the addition). Without normalisation, the layer in
    the BN's place (``norms.RESPONSE_LAYERS``: a NoNorm, Fixup's bias after the conv).

    Relies on the nets registering their modules in the order they run (blocks.py), so a conv's
    BN is the next one registered: ``bnK`` after ``convK`` in the original units. In a
    pre-activation unit it is the BN before the unit's next conv; the last 3x3 conv of a basic
    pre-activation unit feeds the addition directly, and its response is read at the next BN
    (the next unit's first, or the one before the pooling), which normalizes the sum.
    """
    layers, conv = [], None
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3):
            if conv is not None:
                break
            conv = name
        elif isinstance(m, RESPONSE_LAYERS) and conv is not None:
            layers.append((name, m))
            conv = None
    if conv is not None:
        raise TypeError(f"3x3 conv {conv!r} has no BatchNorm (or a layer in its place) after it")
    return layers
