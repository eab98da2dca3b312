"""The settings that do not change what a run computes, in one list. A run may resume in its
directory with other values of these (``records.RunDir.check_config``), and they stay out of a
multirun job's directory name (Hydra's ``override_dirname.exclude_keys``, see store.py), so the
same job finds its directory again whatever they are."""

from __future__ import annotations

from .schema import keys

NOT_RESULTS = (
    "experiment",  # a study's name; what it sets is in the other keys
    "study", "tags", "run_name", "ckpt_path", "logger", "paths",
    "trainer.accelerator", "trainer.devices", "trainer.progress", "trainer.compile",
    "trainer.compile_mode", "trainer.channels_last",
    "data.root", "data.download", "data.system_dirs", "data.device", "data.num_workers",
    "data.pin_memory", "data.eval_batch_size",
    "callbacks.progress", "callbacks.rich_progress", "callbacks.lr_monitor",  # display, monitoring
    "callbacks.responses",  # mirrors the `responses` keys (Figure 7 analysis, after training)
    "responses",  # analysis of the trained net: no influence on training
    "trainer.ckpt_every",  # resume is exact whatever the checkpoint interval (tests/test_reliability.py)
    "trainer.log_grad_norm",  # reads the gradients, changes nothing (tests/test_grad_norm.py)
)


def is_result(key: str) -> bool:
    """Whether a dotted key can change what a run computes (a key under a listed one cannot)."""
    return not any(key == p or key.startswith(p + ".") for p in NOT_RESULTS)


def dirname_excludes() -> list[str]:
    """NOT_RESULTS as Hydra matches an override's key: exactly, so every key under a listed
    group is named too (``logger.mode``, ``paths.output_root``)."""
    return sorted({*NOT_RESULTS, *(k for k in keys() if not is_result(k))})
