"""Stopping on a signal without losing the iteration reached: Ctrl-C (SIGINT), ``kill``
(SIGTERM) and SLURM's pre-emption warning save ``last.ckpt`` at the current iteration, then the
run ends as ``Interrupted`` and the command exits with 128 + the signal's number (130, 143).

The handler only notes the signal; the checkpoint is written between iterations, where the
state is whole, by ``StopOnSignal``. ``checkpoint_and_stop`` is the one "save now and end" step:
whatever else wants a run to stop cleanly (a SLURM requeue) calls it from a hook of its own.
A second signal while the first is being honoured is not waited for: the signal's previous
handler takes it (Ctrl-C twice stops at once, as before, at the last periodic checkpoint).
"""

from __future__ import annotations

import signal
import threading

from lightning.pytorch.callbacks import Callback

from .checkpoint import PeriodicCheckpoint

# SIGUSR1: what SLURM sends before the end of a job's time (`--signal=USR1@90`, submitit's
# default); one list, so that the requeue and the tests name the same signals
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)


class StopRequested(BaseException):
    """Raised inside ``trainer.fit`` once the checkpoint is saved. A BaseException, not a
    KeyboardInterrupt: Lightning turns the latter into ``SystemExit(1)`` and ignores SIGINT
    for good."""

    def __init__(self, step: int, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name} at iteration {step}")
        self.step, self.signum = step, signum


def checkpoint_and_stop(trainer, signum: int) -> None:
    """Save ``last.ckpt`` at the trainer's iteration (atomically, as the periodic ones) and end
    the fit with ``StopRequested``. Call it between iterations (a callback's batch or
    validation end), on every rank of a DDP run (the save is collective)."""
    trainer.save_checkpoint(PeriodicCheckpoint.path(trainer))
    raise StopRequested(trainer.global_step, signum)


class StopOnSignal(Callback):
    """Honours ``STOP_SIGNALS`` during training with ``checkpoint_and_stop``.

    The handlers are installed when training starts, after Lightning's own (it registers a
    SIGTERM handler of its own just before; that one would end the fit without a checkpoint),
    and the previous ones are back when training ends. An iteration that is evaluated stops
    after its evaluation, as ``PeriodicCheckpoint`` saves there: a checkpoint taken before it
    would make the resumed run skip that evaluation.
    """

    def __init__(self, eval_every: int) -> None:
        self.eval_every = eval_every
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:  # a second signal: the old behaviour, at once
            previous = self._previous.get(signum, signal.SIG_DFL)
            self._restore()
            if callable(previous):
                previous(signum, frame)
            else:
                signal.raise_signal(signum)
            return
        self.signum = signum

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def on_train_start(self, trainer, pl_module) -> None:
        self.signum = None
        if threading.current_thread() is not threading.main_thread():
            return  # Python delivers signals to the main thread only
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)

    def on_train_end(self, trainer, pl_module) -> None:
        self._restore()

    def on_exception(self, trainer, pl_module, exception) -> None:
        self._restore()

    def _requested(self, trainer) -> int | None:
        if trainer.world_size > 1:  # any rank's signal stops all: the save is collective
            stop = trainer.strategy.reduce_boolean_decision(self.signum is not None, all=False)
            return (self.signum or signal.SIGTERM) if stop else None
        return self.signum

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step % self.eval_every == 0:
            return  # evaluated now: stops at on_validation_end
        signum = self._requested(trainer)
        if signum is not None:
            checkpoint_and_stop(trainer, signum)

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.state.fn == "fit":
            signum = self._requested(trainer)
            if signum is not None:
                checkpoint_and_stop(trainer, signum)
