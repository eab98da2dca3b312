"""The names of what a run logs and records, in one place: the module logs them (module.py), the
records keep them (metrics.csv, summary.json), and the figures, the dashboards, the progress
display and the loggers read them. Errors are in %. A leaf module: no torch.
"""

from __future__ import annotations

# Logged against the iteration (Lightning's `step`, the x-axis of the paper's figures)
TRAIN_ERROR = "train/error"  # the mean of the last trainer.log_every iterations' mini-batches
TRAIN_LOSS = "train/loss"
# trainer.log_grad_norm: the global L2 norm of the loss's gradients (before weight decay) at the
# log point's iteration itself, not a window mean
GRAD_NORM = "train/grad_norm"
LR = "lr"
STEP = "step"  # logged beside every value: the iteration it belongs to
EVAL_SPLITS = ("val", "test")  # the evaluation sets of the validation loop; test: also the final test
EVAL_ERRORS = {"error": 1, "top5_error": 5}  # name -> k of the top-k error


def eval_metric(split: str, name: str = "error") -> str:
    """``val/error``, ``test/top5_error``, ..."""
    return f"{split}/{name}"


VAL_ERROR, TEST_ERROR = eval_metric("val"), eval_metric("test")
VAL_TOP5, TEST_TOP5 = eval_metric("val", "top5_error"), eval_metric("test", "top5_error")

# The errors the figures draw, and the final test's (its last point is the trained net's)
ERRORS = (TRAIN_ERROR, VAL_ERROR, TEST_ERROR, VAL_TOP5, TEST_TOP5)
FINAL_TEST = (TEST_ERROR, TEST_TOP5)
# Everything logged against the iteration
ITERATION_SERIES = (TRAIN_ERROR, TRAIN_LOSS, LR, VAL_ERROR, TEST_ERROR, VAL_TOP5, TEST_TOP5, GRAD_NORM)


def summary_key(metric: str) -> str:
    """The key of a metric's final value in summary.json and a W&B summary (``test_error``)."""
    return metric.replace("/", "_")


# W&B: the iteration as Lightning's WandbLogger writes it (W&B's own `_step` counts log calls),
# and Figure 7's per-layer stds as series against the layer index: a layer's std in forward
# order, and the stds sorted in descending order against their rank (both run 1..n, one x key).
WANDB_STEP = "trainer/global_step"
RESPONSE_X, RESPONSE_STD, RESPONSE_SORTED = "responses/layer", "responses/std", "responses/std_sorted"
