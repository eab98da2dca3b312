"""Run records for the figures, from sweep directories on disk or W&B groups: one ``Run`` type
whatever the source, so every figure and table is drawn the same way from either.

Where a run evaluated a subset during training (``data.eval_subset``), the last point of its
test curve is the final test on the whole test set, another statistic: it is taken out of the
curve into ``Run.final_points`` (``with_final_points``) and drawn as a marker of its own."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..config.legacy import upgrade
from ..data.registry import DATASETS, dataset_of
from ..errors import ResnetLabError
from ..metric_names import ERRORS, FINAL_TEST, WANDB_STEP, summary_key
from ..models.choices import family_of
from ..models.families import complete
from ..models.naming import label
from ..records import RunDir, read_metrics
from ..responses import load_responses

SERIES = ERRORS  # the series a run's records are read for

WANDB_STATUS = {"finished": "done", "failed": "failed", "crashed": "failed",
                "killed": "interrupted", "running": "running", "pending": "running"}


class FiguresError(ResnetLabError):
    """A source that cannot be read, or nothing to draw: one sentence, exit status 1."""


@dataclass
class Run:
    """One run's records, whatever the source; field names as in a local run directory."""

    config: dict
    summary: dict
    metrics: dict[str, list[tuple[int, float]]]
    responses: list[dict] | None = None
    source: str = ""
    # the final test on the whole test set, where the curve's points are on a subset:
    # metric -> (step, value)
    final_points: dict[str, tuple[int, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.config = upgrade(self.config)  # a record of older code, in today's keys

    @property
    def model(self) -> dict:
        """The model config, complete: options newer than the record read as their defaults
        (``families.complete``)."""
        return complete({k: v for k, v in (self.config.get("model") or {}).items() if v is not None})

    @property
    def family(self) -> str:
        return family_of(self.model)

    @property
    def depth(self) -> int:
        return int(self.model["depth"])

    @property
    def residual(self) -> bool:
        return bool(self.model["residual"])

    @property
    def shortcut(self) -> str:
        return self.model["shortcut"]

    @property
    def data(self) -> str:
        try:
            return dataset_of(self.data_config).name
        except KeyError:
            return "unknown data"

    @property
    def data_config(self) -> dict:
        return self.config.get("data") or {}

    @property
    def test_images(self) -> int | None:
        """The size of the whole test set, where known (ImageNet: the validation folder's)."""
        fixed = DATASETS[self.data].test_images if self.data in DATASETS else None
        return fixed or self.data_config.get("test_size")

    @property
    def train_images(self) -> int | None:
        """Training images after the validation split, where known."""
        d = self.data_config
        fixed = DATASETS[self.data].train_images if self.data in DATASETS else None
        if fixed and isinstance(d.get("val_size"), int):
            return fixed - d["val_size"]
        return d.get("train_size")

    @property
    def eval_subset(self) -> int | None:
        """Images of each evaluation set used during training, when fewer than all of them."""
        k, n = self.data_config.get("eval_subset"), self.test_images
        return k if k is not None and (n is None or k < n) else None

    @property
    def seed(self) -> int:
        return int(self.config.get("seed") or 0)

    @property
    def status(self) -> str:
        return self.summary.get("status", "unknown")

    @property
    def device(self) -> str:
        # train.py writes the device when a run starts; with the precision it chose (where
        # recorded: trainer.precision=auto resolves per machine), since both shape the numbers
        device = self.summary.get("device") or "device not recorded"
        precision = self.summary.get("precision")
        return f"{device}, {precision}" if precision else device

    @property
    def net(self) -> str:
        return label(self.model)

    @property
    def key(self) -> tuple:
        """What makes two runs seeds of one net: the data set and the whole model config (so an
        option added later can never merge different nets), led by what orders the figures'
        legends and the tables' rows (plain before residual, by depth)."""
        return (self.data, self.family, self.residual, self.depth, self.shortcut, self.net,
                tuple(sorted((k, str(v)) for k, v in self.model.items())))

    @property
    def steps(self) -> int:
        last = max((pts[-1][0] for pts in self.metrics.values() if pts), default=0)
        return int(self.summary.get("steps") or last)

    def final(self, *metrics: str) -> float | None:
        """The first of ``metrics`` the run has: the summary's final value, else the last logged."""
        for m in metrics:
            value = self.summary.get(summary_key(m))
            if value is None and self.metrics.get(m):
                value = self.metrics[m][-1][1]
            if value is not None:
                return float(value)
        return None

    def late_mean(self, metric: str, fraction: float = 0.1) -> float | None:
        """The mean of ``metric``'s logged points over the run's last ``fraction`` of iterations
        (steps above ``(1 - fraction) * steps``); None where it logged none there."""
        start = (1 - fraction) * self.steps
        late = [v for s, v in self.metrics.get(metric, ()) if s > start]
        return sum(late) / len(late) if late else None


def data_sets(runs: Sequence[Run]) -> str:
    """The runs' data sets as a reader knows them: ``CIFAR-10, Fashion-MNIST``."""
    return ", ".join(sorted({DATASETS[r.data].title if r.data in DATASETS else r.data for r in runs}))


def pick(runs: Sequence[Run]) -> list[Run]:
    """One run per net: the lowest finished seed, else the lowest seed; plain nets first. Figure 7
    draws these; the curve figures average a net's seeds instead (``seeds.averaged``)."""
    chosen: dict[tuple, Run] = {}
    for r in sorted(runs, key=lambda r: (r.status != "done", r.seed, r.source)):
        chosen.setdefault(r.key, r)
    return [chosen[k] for k in sorted(chosen)]


# ---------------------------------------------------------------- a sweep directory


def find_run_dirs(root: Path) -> list[Path]:
    """Directories below ``root`` holding config.yaml and run records. Hydra's ``.hydra/`` and
    W&B's ``wandb/`` folders hold config files too; they are skipped."""
    found = []
    for path, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "wandb")
        if "config.yaml" in files and {"metrics.csv", "summary.json"} & set(files):
            found.append(Path(path))
            dirs[:] = []
    return found


def load_sweep(root: str | Path) -> list[Run]:
    root = Path(root)
    if not root.is_dir():
        raise FiguresError(f"--sweep {root}: no such directory")
    runs = []
    for d in find_run_dirs(root):
        rd = RunDir(d)
        cfg = rd.config()
        if isinstance(cfg, dict) and "model" in cfg:
            runs.append(with_final_points(
                Run(cfg, rd.summary() or {}, read_metrics(d), load_responses(d), str(d))))
    return runs


def with_final_points(r: Run) -> Run:
    """Take a finished run's final full test out of its test curves when the curve's points are
    on a subset (``data.eval_subset``): both sources record it as the curve's last point (the
    later value wins at the last iteration)."""
    if r.eval_subset is None or r.status != "done":
        return r
    for m in FINAL_TEST:
        if r.metrics.get(m):
            *curve, last = r.metrics[m]
            r.metrics[m] = curve
            r.final_points[m] = last
    return r


# ---------------------------------------------------------------- a W&B group


def _nested(cfg: dict) -> dict:
    """A W&B config as our nested dict: unwrap ``{"value": ...}`` entries, nest dotted keys."""
    out: dict = {}
    for k, v in cfg.items():
        if isinstance(v, dict) and "value" in v and set(v) <= {"value", "desc"}:
            v = v["value"]
        *parents, leaf = str(k).split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = v
    return out


def _wandb_series(run, metric: str) -> list[tuple[int, float]]:
    # one scan per metric: scan_history(keys=...) returns only rows that hold every key
    points = {int(row[WANDB_STEP]): float(row[metric])
              for row in run.scan_history(keys=[WANDB_STEP, metric])
              if row.get(WANDB_STEP) is not None and row.get(metric) is not None}
    return sorted(points.items())


def _wandb_device(run) -> str | None:
    try:
        meta = getattr(run, "metadata", None) or {}  # a file download on the real API
    except Exception:
        return None
    if meta.get("gpu"):
        return f"{meta['gpu']} x {meta.get('gpu_count', 1)}"
    return f"CPU ({meta['cpu_count']} cores)" if meta.get("cpu_count") else None


def run_from_wandb(run, where: str, series: Sequence[str] = SERIES) -> Run:
    """A W&B run as the same record a local run directory gives (its curves: ``series``)."""
    s = run.summary
    summary = {summary_key(m): s.get(m) for m in SERIES if s.get(m) is not None}
    summary.update(status=WANDB_STATUS.get(run.state, run.state), steps=s.get(WANDB_STEP),
                   device=s.get("device") or _wandb_device(run), params=s.get("params"),
                   warmup_ended_at=s.get("warmup_ended_at"))
    metrics = {m: pts for m in series if (pts := _wandb_series(run, m))}
    rows = s.get("responses")
    responses = [dict(r) for r in rows] if rows else None
    return with_final_points(Run(_nested(dict(run.config)), summary, metrics, responses,
                                 f"wandb:{where}/{getattr(run, 'id', '?')}"))


def load_wandb(path: str, groups: str | Sequence[str], api=None,
               series: Sequence[str] = SERIES) -> list[Run]:
    """Every run of one or more W&B groups (``api``: a ``wandb.Api()``, or a stand-in in tests),
    with the curves ``series`` (one history scan per run and series)."""
    groups = [groups] if isinstance(groups, str) else list(groups)
    runs = []
    for group in groups:
        try:
            if api is None:
                import wandb

                api = wandb.Api()
            runs += [run_from_wandb(r, f"{path}:{group}", series)
                     for r in api.runs(path, filters={"group": group})]
        except Exception as e:  # network, login, unknown project: one sentence, not a traceback
            raise FiguresError(f"--wandb {path} --group {group}: {type(e).__name__}: {e}") from e
    return [r for r in runs if r.model]  # a group may hold runs that are not resnet_lab's
