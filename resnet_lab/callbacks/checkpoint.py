"""The run's own checkpoint, ``checkpoints/last.ckpt``, which exact resume restarts from."""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch.callbacks import Callback


class PeriodicCheckpoint(Callback):
    """``last.ckpt`` every ``every`` iterations (written atomically by ``AtomicCheckpointIO``).

    On an iteration that is also evaluated, it is written after the evaluation: Lightning's
    ModelCheckpoint saves by steps before the validation loop of the same iteration, and a run
    resumed from such a checkpoint would skip that evaluation.
    """

    def __init__(self, every: int, eval_every: int) -> None:
        self.every, self.eval_every = every, eval_every

    @staticmethod
    def path(trainer) -> Path:
        return Path(trainer.default_root_dir) / "checkpoints" / "last.ckpt"

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if step % self.every == 0 and step % self.eval_every:
            trainer.save_checkpoint(self.path(trainer))

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.state.fn == "fit" and trainer.global_step % self.every == 0:
            trainer.save_checkpoint(self.path(trainer))
