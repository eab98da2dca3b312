"""The networks, built from parts: ``stem -> stages of units -> head``, each unit
``shortcut(x) + gate(branch(x))``, for the CIFAR (6n+2, 9n+2) and ImageNet (18..152) families,
plain or residual, original or pre-activation, wide, grouped.

    choices    the valid values of the options, the families' architecture facts (no torch)
    families   one function per family: its signature is its config, its body the assembly (no torch)
    naming     net names: label, parse_net (no torch)
    net        ResNet and ``assemble``; torchvision's parameter names in and out
    ends, units, branches, shortcuts, gates   the parts
    init       the initialisation strategies
    build      ``build_model(config)``, ``create_model(name)``: checked, then built
    inspect    parameters, multiply-adds, Figure 7's layers

Names are imported on first use, so the torch-free modules stay torch-free.
"""

from importlib import import_module

_EXPORTS = {
    "build_model": "build", "create_model": "build", "model_name": "build",
    "cifar_resnet": "families", "imagenet_resnet": "families",
    "label": "naming", "parse_net": "naming",
    "ResNet": "net", "count_flops": "inspect", "count_params": "inspect",
    "count_weights": "inspect", "response_layers": "inspect",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
