"""Progress display: a bar on a terminal, plain lines in logs (SLURM, CI, files).

A Lightning ``ProgressBar``, so Lightning treats it as the run's one progress display: another
one (``callbacks=[default,rich_progress]``) replaces it rather than printing beside it.
"""

from __future__ import annotations

import sys
import time

from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.utilities import rank_zero_only

from ..metric_names import LR, TEST_ERROR, TRAIN_ERROR, TRAIN_LOSS, VAL_ERROR


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def status(metrics: dict) -> str:
    """``lr 0.1  train 12.34%  val 15.00%  test 15.20%  loss 0.345`` from the logged metrics."""
    parts = []
    if LR in metrics:
        parts.append(f"lr {float(metrics[LR]):.3g}")
    for key, name in ((TRAIN_ERROR, "train"), (VAL_ERROR, "val"), (TEST_ERROR, "test")):
        if key in metrics:
            parts.append(f"{name} {float(metrics[key]):.2f}%")
    if TRAIN_LOSS in metrics:
        parts.append(f"loss {float(metrics[TRAIN_LOSS]):.3f}")
    return "  ".join(parts)


class IterationProgress(ProgressBar):
    """Iteration count against ``max_steps`` with lr and the latest errors.

    ``mode``: ``bar`` (tqdm, redrawn as the iterations go), ``lines`` (a line about four times
    per evaluation, on logged iterations, after each evaluation, and at least every
    ``line_every_s`` seconds whatever the evaluation interval), ``none``; ``auto`` picks ``bar``
    on a terminal, ``lines`` otherwise. The errors shown are the latest logged ones: reading them
    costs no host sync between logged iterations.
    """

    def __init__(self, label: str, mode: str = "auto", eval_every: int = 1000, log_every: int = 50,
                 line_every_s: float = 60.0) -> None:
        super().__init__()
        self.label, self.eval_every, self.log_every = label, eval_every, log_every
        self.line_every_s = line_every_s
        self.last_line = 0.0
        self.mode = ("bar" if sys.stderr.isatty() else "lines") if mode == "auto" else mode
        self.every = max(1, eval_every // 4 // log_every) * log_every
        self.bar = None
        self.start = None
        self.first_step = 0

    # ProgressBar's interface
    def disable(self) -> None:
        self.mode = "none"

    def enable(self) -> None:
        pass

    def print(self, *args, **kwargs) -> None:
        self._write(" ".join(map(str, args)))

    @rank_zero_only
    def on_train_start(self, trainer, pl_module) -> None:
        self.start, self.first_step = time.time(), trainer.global_step
        self.last_line = self.start
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self.bar = tqdm(total=trainer.max_steps, initial=trainer.global_step, desc=self.label,
                            unit="it", dynamic_ncols=True, file=sys.__stderr__)  # the terminal, not run.log

    def _events(self, pl_module) -> None:
        while pl_module.events:
            self._write(f"[{self.label}] {pl_module.events.pop(0)}")

    def _write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)  # the terminal and run.log
        elif self.mode != "none":
            print(text, flush=True)

    def _line(self, trainer) -> None:
        step, total = trainer.global_step, trainer.max_steps
        self.last_line = time.time()
        elapsed = self.last_line - self.start
        done = max(1, step - self.first_step)
        eta = elapsed / done * (total - step)
        self._write(f"[{self.label}] it {step}/{total} ({100 * step / total:.0f}%)  "
                    f"{status(trainer.callback_metrics)}  {format_duration(elapsed)} elapsed, "
                    f"{format_duration(eta)} left")

    @rank_zero_only
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._events(pl_module)
        step = trainer.global_step
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            if step % self.log_every == 0:
                self.bar.set_postfix_str(status(trainer.callback_metrics), refresh=False)
        elif self.mode == "lines" and (step % self.every == 0 and step % self.eval_every
                                       or time.time() - self.last_line >= self.line_every_s):
            self._line(trainer)

    @rank_zero_only
    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.state.fn != "fit":
            return
        self._events(pl_module)
        if self.bar is not None:
            self.bar.set_postfix_str(status(trainer.callback_metrics), refresh=True)
        elif self.mode == "lines":
            self._line(trainer)

    @rank_zero_only
    def on_train_end(self, trainer, pl_module) -> None:
        self._events(pl_module)
        self._close()

    def on_exception(self, trainer, pl_module, exception) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
