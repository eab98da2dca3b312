"""Progress display: a bar on a terminal, plain lines in logs (SLURM, CI, files)."""

from __future__ import annotations

import sys
import time

from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_only


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def _status(latest: dict) -> str:
    parts = []
    if "lr" in latest:
        parts.append(f"lr {latest['lr']:.3g}")
    for key, name in (("train/error", "train"), ("val/error", "val"), ("test/error", "test")):
        if key in latest:
            parts.append(f"{name} {latest[key]:.2f}%")
    if "train/loss" in latest:
        parts.append(f"loss {latest['train/loss']:.3f}")
    return "  ".join(parts)


class IterationProgress(Callback):
    """Iteration count against ``max_steps`` with lr and the latest errors.

    ``mode``: ``bar`` (tqdm), ``lines`` (a line every ``every`` iterations and after each
    evaluation), ``none``; ``auto`` picks ``bar`` on a terminal, ``lines`` otherwise.
    """

    def __init__(self, label: str, mode: str = "auto", every: int = 100, eval_every: int = 0) -> None:
        self.label, self.eval_every = label, eval_every
        self.mode = ("bar" if sys.stderr.isatty() else "lines") if mode == "auto" else mode
        self.every = every
        self.bar = None
        self.start = None

    @rank_zero_only
    def on_train_start(self, trainer, pl_module) -> None:
        self.start, self.first_step = time.time(), trainer.global_step
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self.bar = tqdm(total=trainer.max_steps, initial=trainer.global_step, desc=self.label,
                            unit="it", dynamic_ncols=True, file=sys.stderr)

    def _events(self, pl_module) -> None:
        while pl_module.events:
            self._write(f"[{self.label}] {pl_module.events.pop(0)}")

    def _write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, flush=True)

    def _line(self, trainer, pl_module) -> None:
        step, total = trainer.global_step, trainer.max_steps
        elapsed = time.time() - self.start
        done = max(1, step - self.first_step)
        eta = elapsed / done * (total - step)
        self._write(f"[{self.label}] it {step}/{total} ({100 * step / total:.0f}%)  "
                    f"{_status(pl_module.latest)}  {format_duration(elapsed)} elapsed, {format_duration(eta)} left")

    @rank_zero_only
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._events(pl_module)
        step = trainer.global_step
        evaluated = self.eval_every and step % self.eval_every == 0
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            if step % pl_module.log_every == 0 or evaluated:
                self.bar.set_postfix_str(_status(pl_module.latest), refresh=False)
        elif self.mode == "lines" and (step % self.every == 0 or evaluated):
            self._line(trainer, pl_module)


    @rank_zero_only
    def on_train_end(self, trainer, pl_module) -> None:
        self._events(pl_module)
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_exception(self, trainer, pl_module, exception) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class PeriodicEvaluation(Callback):
    """Evaluate val/test every ``every`` iterations, inside the training loop.

    Lightning moves checkpoint callbacks after all others, so an evaluation always comes
    before the checkpoint of the same iteration: a run resumed from that checkpoint neither
    skips nor repeats it (Lightning's own validation loop would skip it).
    """

    def __init__(self, every: int) -> None:
        self.every = every

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step % self.every == 0:
            pl_module.evaluate(trainer.datamodule.eval_loaders())
