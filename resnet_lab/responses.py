"""Figure 7: the standard deviation of every 3x3 layer's response.

A response is the output of a 3x3 layer after BN, before the ReLU or the addition (the paper's
Sec. 4.2); the network is in eval mode and the statistics are taken over a whole evaluation set
(by default the test set). The paper does not say over which axes the std is taken; the
default, ``reduce: all``, is the std of all of a layer's outputs (images x channels x
positions); ``reduce: channel`` averages the per-channel stds instead.

The moments are accumulated exactly in float64, batch by batch (Chan et al.'s pairwise update),
so the result does not depend on the batch size and equals a direct computation.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from .models import response_layers

REDUCES = ("all", "channel")


class RunningMoments:
    """Count, mean and sum of squared deviations, per channel, in float64 (the channels are the
    first batch's)."""

    def __init__(self) -> None:
        self.n = 0
        self.mean = self.m2 = None

    def update(self, x: torch.Tensor) -> None:
        """Add a (N, C, H, W) batch."""
        if self.mean is None:
            self.mean = torch.zeros(x.shape[1], dtype=torch.float64)
            self.m2 = torch.zeros(x.shape[1], dtype=torch.float64)
        nb = x.numel() // x.shape[1]
        # one reduction over the batch and positions, in float64 (no transposed copy: half the time)
        var_b, mean_b = torch.var_mean(x.detach().to(torch.float64), dim=(0, 2, 3), correction=0)
        mean_b, m2_b = mean_b.cpu(), (var_b * nb).cpu()
        n = self.n + nb
        delta = mean_b - self.mean
        self.mean += delta * nb / n
        self.m2 += m2_b + delta**2 * self.n * nb / n
        self.n = n

    def std(self, reduce: str = "all") -> float:
        """Population std (ddof=0)."""
        if reduce == "channel":
            return float(torch.sqrt(self.m2 / self.n).mean())
        # combine the channels: total mean and M2 over all of the layer's outputs
        total_mean = self.mean.mean()
        m2 = self.m2.sum() + (self.n * (self.mean - total_mean) ** 2).sum()
        return float(torch.sqrt(m2 / (self.n * len(self.mean))))


@contextmanager
def recording(model: nn.Module) -> Iterator[dict[str, RunningMoments]]:
    """The moments of every 3x3 layer's response (by layer name, in forward order) over the
    forward passes made inside the block."""
    layers = response_layers(model)
    moments = {name: RunningMoments() for name, _ in layers}
    hooks = [layer.register_forward_hook(lambda m, i, out, name=name: moments[name].update(out))
             for name, layer in layers]
    try:
        yield moments
    finally:
        for h in hooks:
            h.remove()


def response_rows(moments: dict[str, RunningMoments], reduce: str = "all") -> list[dict]:
    """``[{"layer": 1, "name": "bn1", "std": ...}, ...]`` in forward order."""
    if reduce not in REDUCES:
        raise ValueError(f"reduce={reduce!r}; valid: {', '.join(REDUCES)}")
    return [{"layer": i + 1, "name": name, "std": m.std(reduce)} for i, (name, m) in enumerate(moments.items())]


@torch.no_grad()
def layer_response_stds(model: nn.Module, batches: Iterable, device: torch.device | str = "cpu",
                        reduce: str = "all") -> list[dict]:
    """The rows of ``response_rows`` over all ``batches`` of (images, labels), in eval mode."""
    if reduce not in REDUCES:
        raise ValueError(f"reduce={reduce!r}; valid: {', '.join(REDUCES)}")
    was_training = model.training
    model.eval()
    try:
        with recording(model) as moments:
            for x, _ in batches:
                model(x.to(device))
    finally:
        model.train(was_training)
    return response_rows(moments, reduce)


def save_responses(rows: list[dict], run_dir: str | Path, step: int | None = None) -> Path:
    """Write ``responses.json`` and ``responses.csv`` (or ``responses_step<k>.*`` for a
    checkpoint's responses) in the run directory; return the JSON path."""
    run_dir = Path(run_dir)
    stem = "responses" if step is None else f"responses_step{step}"
    json_path = run_dir / f"{stem}.json"
    json_path.write_text(json.dumps(rows, indent=1) + "\n")
    with open(run_dir / f"{stem}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["layer", "name", "std"])
        w.writeheader()
        w.writerows(rows)
    return json_path


def load_responses(run_dir: str | Path) -> list[dict] | None:
    path = Path(run_dir) / "responses.json"
    return json.loads(path.read_text()) if path.is_file() else None


def record_responses(module, datamodule, loggers, run_dir: Path, reduce: str, step: int | None = None,
                     rows: list[dict] | None = None) -> list[dict]:
    """Compute the responses of a trained module over the data module's full test set (unless
    ``rows`` holds them already), save them in the run directory and send them to W&B (a table
    and a line plot)."""
    if rows is None:
        device = next(module.model.parameters()).device
        rows = layer_response_stds(module.model, datamodule.response_batches(), device, reduce)
    save_responses(rows, run_dir, step)
    from .loggers import log_responses

    log_responses(loggers, rows, step if step is not None else module.global_step, final=step is None)
    return rows
