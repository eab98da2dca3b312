"""Errors that end a run with one clear sentence instead of a traceback."""

from __future__ import annotations

import difflib
import signal
from collections.abc import Iterable

from .credentials import masked


class ResnetLabError(Exception):
    """Base: run.py prints the message alone and exits non-zero."""


class ConfigError(ResnetLabError, ValueError):
    """A config value is invalid; the message names the option and its valid values."""


class DataNotFoundError(ResnetLabError, FileNotFoundError):
    """A data set is missing and cannot be fetched; the message says where to put it."""


class DataCorruptError(ResnetLabError):
    """A data set is present but unreadable (truncated archive, broken image)."""


def invalid(option: str, value, valid: str | Iterable) -> ConfigError:
    """``ConfigError`` for ``option=value`` listing what is valid (a credential's value masked)."""
    value = masked(value, option)
    if not isinstance(valid, str):
        valid = ", ".join(str(v) for v in valid)
    return ConfigError(f"{option}={value!r} is invalid; valid values: {valid}.")


def unknown_keys(group: str, keys: Iterable[str], known: Iterable[str]) -> ConfigError | None:
    """``ConfigError`` naming unknown keys of ``group`` with the nearest valid name, or None."""
    known = sorted(known)
    bad = [k for k in keys if k not in known]
    if not bad:
        return None
    parts = []
    for k in bad:
        near = difflib.get_close_matches(k, known, n=1)
        hint = f" (did you mean {group}.{near[0]}?)" if near else ""
        parts.append(f"{group}.{k}{hint}")
    valid = f"valid {group} options: {', '.join(known)}" if known else f"this {group} takes no options"
    return ConfigError(f"unknown option {', '.join(parts)}; {valid}.")


class DivergenceError(ResnetLabError):
    """The loss became NaN or infinite by iteration ``step`` (the run's record keeps it)."""

    def __init__(self, message: str, step: int | None = None) -> None:
        super().__init__(message)
        self.step = step


class RunDirError(ResnetLabError):
    """The run directory holds something that must not be overwritten."""


class Interrupted(KeyboardInterrupt):
    """A signal (Ctrl-C's SIGINT, SIGTERM, SLURM's pre-emption) ended training at iteration
    ``step``; ``saved``: the checkpoint of that iteration was written (callbacks/stop.py), so
    the same command resumes from there. The command exits with ``exit_code``, the shell's
    128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""

    def __init__(self, step: int, signum: int = signal.SIGINT, saved: bool = False) -> None:
        where = "saved as its checkpoint" if saved else "resumes from its last checkpoint"
        super().__init__(f"interrupted at iteration {step} ({signal.Signals(signum).name}; {where})")
        self.step, self.signum, self.saved = step, int(signum), saved

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
