"""What runs fast on this machine: the rule behind ``trainer.precision: auto`` and
``trainer.channels_last: auto``, decided once per run, printed in its header and kept in its
``summary.json``.

- GPU: bf16 autocast where the GPU has bf16 (Ampere and later), fp32 elsewhere; channels_last on.
- CPU: bf16 autocast and channels_last where the CPU has bf16 matrix instructions (AVX512-BF16
  or AMX), whose oneDNN kernels want channels-last tensors; fp32 and NCHW elsewhere, where bf16
  is emulated and slower than fp32. On the 2-core development CPU (AVX512-BF16) the pair trains
  ResNet-20 about twice as fast as fp32 NCHW (docs/benchmarks.md), with the same errors
  (docs/figures/cpu_degradation/README.md).

``trainer.precision=32-true`` forces fp32 whatever the machine; ``trainer.channels_last=false``
forces NCHW.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch


def uses_gpu(t: Mapping[str, Any]) -> bool:
    """Whether a run with trainer settings ``t`` trains on CUDA GPUs."""
    return t["accelerator"] in ("gpu", "cuda") or (t["accelerator"] == "auto" and torch.cuda.is_available())


def cpu_bf16() -> str | None:
    """The name of this CPU's bf16 matrix instructions, or None when it has none.

    torch's own CPU feature probes (``torch.cpu._is_*_supported``, the checks its kernels
    dispatch on); absent on other builds, where the answer is None.
    """
    for name, probe in (("AMX", "_is_amx_tile_supported"), ("AVX512-BF16", "_is_avx512_bf16_supported")):
        check = getattr(torch.cpu, probe, None)
        if check is not None and check():
            return name
    return None


@dataclass(frozen=True)
class Numerics:
    """The precision and memory layout a run uses, and why (for the header and the records)."""

    precision: str
    channels_last: bool
    why: str

    def record(self) -> dict[str, Any]:
        return {"precision": self.precision, "channels_last": self.channels_last, "numerics_why": self.why}


def choose(t: Mapping[str, Any]) -> Numerics:
    """Resolve ``auto`` in ``trainer.precision`` and ``trainer.channels_last`` for this machine;
    a value the config names is kept as it is."""
    gpu = uses_gpu(t)
    if gpu:
        fast = torch.cuda.is_bf16_supported()
        why = "GPU with bf16" if fast else "GPU without bf16"
    else:
        found = cpu_bf16()
        fast = found is not None
        why = f"CPU with {found}" if fast else "CPU without bf16 instructions"
    auto_precision, auto_layout = t["precision"] == "auto", t["channels_last"] == "auto"
    precision = ("bf16-mixed" if fast else "32-true") if auto_precision else str(t["precision"])
    channels_last = (gpu or fast) if auto_layout else bool(t["channels_last"])
    if not (auto_precision or auto_layout):
        why = "set in the config"
    elif not (auto_precision and auto_layout):
        why += "; " + ("channels_last" if auto_precision else "precision") + " set in the config"
    return Numerics(precision, channels_last, why)
