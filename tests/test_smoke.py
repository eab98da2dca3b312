"""The newcomer's path: the smoke studies run through run.py and end in the paper's figures."""

import pytest

from resnet_lab.figures import main as figures_main

from .conftest import run_py

SHORT = ["trainer.max_steps=10", "trainer.eval_every=5", "trainer.ckpt_every=10",
         "optim.milestones=[5]", "trainer.progress=none"]


@pytest.mark.slow  # eight runs through run.py (over a minute); `make test-slow` and `make smoke` run it
def test_smoke_studies_end_in_figures(tmp_path):
    for study in ("smoke", "smoke_imagenet"):
        proc = run_py(["-m", f"experiment={study}", *SHORT], tmp_path)
        assert "4 of 4 jobs done, 0 failed" in proc.stdout
    sweeps = tmp_path / "outputs" / "sweeps"
    out = tmp_path / "figures"
    assert figures_main(["all", "--sweep", str(sweeps / "smoke"), "--sweep", str(sweeps / "smoke_imagenet"),
                         "--out", str(out)]) == 0
    for name in ("figure1", "figure4", "figure6", "figure7"):
        assert (out / f"{name}.png").stat().st_size > 10_000 and (out / f"{name}.md").is_file()
    for name in ("table6", "shortcuts"):
        assert (out / f"{name}.csv").is_file()
    table6 = (out / "table6.csv").read_text()
    assert "ResNet-8" in table6 and "ResNet-14" in table6
