"""Figure 7's layer responses (see ``resnet_lab.responses``), recorded as a Lightning callback."""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch.callbacks import Callback

from ..responses import record_responses, recording, response_rows


class LayerResponses(Callback):
    """The std of every 3x3 layer's response over the whole test set, when the final test ends
    (``responses.json/.csv``) and, with ``at_checkpoints``, every ``every`` iterations too
    (``responses_step<k>.json/.csv``). Computed in the primary process only."""

    def __init__(self, enabled: bool = True, reduce: str = "all", at_checkpoints: bool = False,
                 every: int = 1) -> None:
        self.enabled, self.reduce = enabled, reduce
        self.every = every if at_checkpoints else None

    def _record(self, trainer, pl_module, step: int | None) -> None:
        record_responses(pl_module, trainer.datamodule, pl_module.loggers, Path(trainer.default_root_dir),
                         self.reduce, step)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if self.enabled and self.every and step % self.every == 0 and trainer.is_global_zero:
            self._record(trainer, pl_module, step)

    def on_test_start(self, trainer, pl_module) -> None:
        # the final test is the responses' own pass when one process runs the whole in-memory
        # test set at full precision: record during it instead of a second pass (half the time)
        self._recording = None
        if self.enabled and trainer.world_size == 1 and str(trainer.precision).startswith("32") \
                and getattr(trainer.datamodule, "responses_are_the_test", False):
            self._recording = recording(pl_module.model)
            self._moments = self._recording.__enter__()

    def on_test_end(self, trainer, pl_module) -> None:
        if not (self.enabled and trainer.is_global_zero):
            return
        rows = None
        if self._recording is not None:
            self._recording.__exit__(None, None, None)
            rows, self._recording = response_rows(self._moments, self.reduce), None
        record_responses(pl_module, trainer.datamodule, pl_module.loggers, Path(trainer.default_root_dir),
                         self.reduce, None, rows)

    def on_exception(self, trainer, pl_module, exception) -> None:
        if getattr(self, "_recording", None) is not None:
            self._recording.__exit__(None, None, None)
            self._recording = None
