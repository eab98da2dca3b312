"""``python -m resnet_lab.bench``: training throughput of the paper's CIFAR nets, measured two
ways on the same machine in one run:

1. resnet_lab's Lightning path: the Trainer, callbacks, metric logging and data module that
   ``run.py`` uses (records written, evaluation and checkpoints scheduled past the timed window);
2. a minimal hand-written PyTorch loop over the same model, optimizer and batches: the floor
   any framework overhead is judged against.

Both use CIFAR-shaped synthetic data held in memory and augmented in batches, as real runs do.
Their order alternates between repeats and each way's fastest repeat is reported: other work on
the machine only ever adds time, so the minimum is the least noisy estimate (on a shared 2-core
CPU, repeats of the same 20 iterations differ by up to 15%). The table (images/s,
ms per iteration, ratio, the projected time of the paper's 64k-iteration schedule) is printed
and saved as CSV and Markdown with the device, the torch version and the settings.
Each net is measured in every setting asked for (``--settings``): on a CPU by default fp32, bf16
autocast, channels_last, both, and both compiled, the rows behind trainer=cpu's choice
(resnet_lab.hardware); ``startup_s`` shows what compilation costs before the first timed iteration.
``--concurrent K`` measures the aggregate images/s of K such runs sharing one device.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback

from . import hardware
from .callbacks import format_duration
from .compose import compose
from .config import validate
from .errors import ConfigError, ResnetLabError
from .models.build import build_model
from .models.inspect import count_params
from .tables import write_table
from .train import (
    build_callbacks,
    build_module,
    build_trainer,
    device_name,
    quiet_lightning,
    resolved,
)

PAPER_ITERATIONS = 64_000
COLUMNS = ("net", "setting", "params", "batch", "lightning_img_s", "lightning_ms_it", "hand_img_s",
           "hand_ms_it", "ratio", "startup_s", "schedule_64k")
# A setting is its switches joined by "+": bf16 (autocast), channels_last, compile; fp32 is none of
# them, auto is what trainer=cpu picks on this machine (resnet_lab.hardware).
SWITCHES = ("bf16", "channels_last", "compile")
CPU_SETTINGS = ("fp32", "bf16", "channels_last", "bf16+channels_last", "bf16+channels_last+compile")
GPU_SETTINGS = ("bf16+channels_last",)  # trainer=gpu
GPU_NETS = ("ResNet-20", "plain-20", "ResNet-56", "plain-56", "ResNet-110", "plain-110")
# a CPU measures five settings: the CPU studies' nets keep `make bench` near 20 minutes there
CPU_NETS = ("ResNet-20", "ResNet-56")


def setting_overrides(setting: str) -> list[str]:
    """The trainer overrides of one ``--settings`` entry; an unknown switch is a ConfigError."""
    if setting == "auto":
        return ["trainer.precision=auto", "trainer.channels_last=auto", "trainer.compile=false"]
    switches = set() if setting == "fp32" else set(setting.split("+"))
    unknown = sorted(switches - set(SWITCHES))
    if unknown:
        raise ConfigError(f"--settings: {setting!r} is invalid; valid values: fp32, auto, or any of "
                          f"{', '.join(SWITCHES)} joined by '+' (e.g. bf16+channels_last)")
    return [f"trainer.precision={'bf16-mixed' if 'bf16' in switches else '32-true'}",
            f"trainer.channels_last={'channels_last' in switches}",
            f"trainer.compile={'compile' in switches}"]


def bench_config(net: str, setting: str, args) -> dict:
    """A resolved run config for the benchmark: the real defaults, synthetic data, no logger,
    evaluation and checkpoints beyond the timed iterations."""
    steps = args.warmup + args.steps
    overrides = [
        f"net={net}", "data=synthetic", f"data.train_size={args.train_size}", "data.val_size=0",
        "data.test_size=100", f"data.batch_size={args.batch}", "logger=none",
        f"trainer.accelerator={args.device}", *setting_overrides(setting),
        f"trainer.max_steps={steps}", f"trainer.eval_every={steps + 1}",
        f"trainer.ckpt_every={steps + 1}", f"trainer.log_every={args.log_every}",
        "trainer.progress=none", "responses.enabled=false", "optim.warmup.enabled=false",
    ]
    cfg = compose(overrides)
    validate(cfg)  # the check run.py makes: an unknown net stops with its valid forms
    return resolved(cfg)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Timer(Callback):
    """Wall time from the first timed iteration to the end of training, and of the warm-up
    iterations before it (compilation included)."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.begin, self.start, self.end = warmup, None, None, None

    def on_train_start(self, trainer, pl_module) -> None:
        self.begin = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.warmup:
            _sync(pl_module.device)
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        _sync(pl_module.device)
        self.end = time.perf_counter()


def time_lightning(c: dict, args, workdir: Path) -> tuple[float, float]:
    """Seconds for ``args.steps`` iterations through resnet_lab's Lightning path, and for the
    ``args.warmup`` iterations before them."""
    import lightning as L

    from .data.build import build_datamodule
    from .records import MetricsRecord

    L.seed_everything(c["seed"], verbose=False)
    dm = build_datamodule(c["data"], c["seed"])
    timer = Timer(args.warmup)
    run_dir = Path(tempfile.mkdtemp(dir=workdir))
    numerics = hardware.choose(c["trainer"])
    trainer = build_trainer(c, run_dir, [MetricsRecord(run_dir)], [*build_callbacks(c), timer], numerics)
    module = build_module(c, numerics, dm)
    trainer.fit(module, datamodule=dm)
    return timer.end - timer.start, timer.start - timer.begin


def time_hand_loop(c: dict, args, device: torch.device) -> float:
    """Seconds for ``args.steps`` iterations of a plain loop over the same model and batches."""
    from .data.build import build_datamodule

    torch.manual_seed(c["seed"])
    dm = build_datamodule(c["data"], c["seed"])
    dm.place(device)
    numerics = hardware.choose(c["trainer"])
    module = build_module(c, numerics, dm).to(device)
    model = module.model  # compiled in place when trainer.compile is on
    # the Lightning path's own optimizer and per-iteration lr scheduler: same groups and kernels
    configured = module.configure_optimizers()
    opt, scheduler = configured["optimizer"], configured["lr_scheduler"]["scheduler"]
    stream = iter(dm.train_dataloader())
    bf16 = numerics.precision.startswith("bf16")
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
    model.train()
    for i in range(args.warmup + args.steps):
        if i == args.warmup:
            _sync(device)
            start = time.perf_counter()
        x, y = next(stream)
        with autocast:
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        scheduler.step()
    _sync(device)
    return time.perf_counter() - start


def bench_device(args) -> torch.device:
    if args.device == "gpu" and not torch.cuda.is_available():
        raise ConfigError("--device gpu: no CUDA GPU is visible here; valid values: auto, cpu")
    gpu = args.device == "gpu" or (args.device == "auto" and torch.cuda.is_available())
    return torch.device("cuda" if gpu else "cpu")


def measure(net: str, setting: str, c: dict, args, workdir: Path) -> dict:
    device = bench_device(args)
    lightning, startup, hand = [], [], []
    for r in range(args.repeats):
        # alternate the order so that warm caches or clocks favour neither
        order = ("lightning", "hand") if r % 2 == 0 else ("hand", "lightning")
        for way in order:
            if way == "lightning":
                timed, first = time_lightning(c, args, workdir)
                lightning.append(timed)
                startup.append(first)
            else:
                hand.append(time_hand_loop(c, args, device))
    images = args.steps * args.batch
    tl, th = min(lightning), min(hand)
    ms_it = 1000 * tl / args.steps
    return dict(
        net=net, setting=setting, params=count_params(build_model(c["model"])),
        batch=args.batch,
        lightning_img_s=round(images / tl, 1), lightning_ms_it=round(ms_it, 2),
        hand_img_s=round(images / th, 1), hand_ms_it=round(1000 * th / args.steps, 2),
        ratio=round(th / tl, 3),
        # the first repeat's: compilation from a cold process (inductor's on-disk cache may be warm)
        startup_s=round(startup[0], 2),
        schedule_64k=format_duration(PAPER_ITERATIONS * ms_it / 1000),
        device=device_name(device),
    )


def concurrent(net: str, setting: str, args, k: int) -> dict:
    """Aggregate images/s of ``k`` Lightning runs of ``net`` started together on one device."""
    cmd = [sys.executable, "-m", "resnet_lab.bench", "--worker", "--nets", net, "--device", args.device,
           "--settings", setting, "--batch", str(args.batch), "--steps", str(args.steps),
           "--warmup", str(args.warmup), "--train-size", str(args.train_size),
           "--log-every", str(args.log_every)]
    env = dict(os.environ)
    if bench_device(args).type == "cpu":
        # k jobs on one CPU share its cores; each taking all of them would oversubscribe the machine
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // k))
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) for _ in range(k)]
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    start, end = min(r["start"] for r in results), max(r["end"] for r in results)
    total = k * args.steps * args.batch
    return dict(net=net, setting=setting, jobs=k, aggregate_img_s=round(total / (end - start), 1),
                per_job_img_s=round(statistics.mean(r["img_s"] for r in results), 1))


def _worker(c: dict, args) -> None:
    """One of ``--concurrent`` K processes: time the Lightning path once, print JSON."""
    with tempfile.TemporaryDirectory() as d:
        t0 = time.time()
        seconds, _ = time_lightning(c, args, Path(d))
        end = time.time()
    # the timed window is the last `seconds` of the process's work
    print(json.dumps({"start": end - seconds, "end": end, "img_s": args.steps * args.batch / seconds,
                      "t0": t0}))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nets", type=lambda s: s.split(","), default=None,
                   help=f"comma-separated nets (default: {','.join(GPU_NETS)} on a GPU, "
                        f"{','.join(CPU_NETS)} on a CPU)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"])
    p.add_argument("--settings", type=lambda s: s.split(","), default=None,
                   help="comma-separated settings, each fp32, auto (trainer=cpu's choice) or switches "
                        f"joined by '+' from {', '.join(SWITCHES)} (default: {','.join(CPU_SETTINGS)} "
                        f"on a CPU, {','.join(GPU_SETTINGS)} on a GPU)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=None, help="timed iterations (default: 40 on CPU, 300 on GPU)")
    p.add_argument("--warmup", type=int, default=None, help="untimed iterations first (default: 2 CPU, 50 GPU)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--log-every", type=int, default=None,
                   help="the runs' trainer.log_every (default: 50 as run.py, or the timed iterations if "
                        "fewer, so that the timed window always pays for logging at least once)")
    p.add_argument("--train-size", type=int, default=10_000)
    p.add_argument("--concurrent", type=int, default=0, help="also measure K runs sharing the device")
    p.add_argument("--out", default="outputs/bench/bench", help="path stem of the .csv/.md (default %(default)s)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    gpu = bench_device(args).type == "cuda"
    args.settings = args.settings or list(GPU_SETTINGS if gpu else CPU_SETTINGS)
    args.nets = args.nets or list(GPU_NETS if gpu else CPU_NETS)
    # 40 on a CPU: with 10, two identical paths scattered by up to ~8% here, more than the 3%
    # the Lightning path may cost (docs/benchmarks.md)
    args.steps = args.steps or (300 if gpu else 40)
    args.warmup = args.warmup if args.warmup is not None else (50 if gpu else 2)
    args.log_every = args.log_every or min(50, args.steps)
    return args


def main(argv=None) -> None:
    try:  # every net and setting checked before the first is measured
        args = parse_args(argv)
        runs = [(net, setting, bench_config(net, setting, args)) for net in args.nets for setting in args.settings]
    except ResnetLabError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        sys.exit(2)
    quiet_lightning()
    if args.worker:
        return _worker(runs[0][2], args)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for i, (net, setting, c) in enumerate(runs):
            print(f"[{i + 1}/{len(runs)}] {net}, {setting}: {args.repeats} x {args.steps} timed iterations "
                  f"each way ...", flush=True)
            rows.append(measure(net, setting, c, args, Path(workdir)))
            r = rows[-1]
            print(f"  lightning {r['lightning_img_s']} img/s, hand loop {r['hand_img_s']} img/s, "
                  f"ratio {r['ratio']}, startup {r['startup_s']} s", flush=True)
    device = rows[0]["device"]
    auto = hardware.choose({"accelerator": args.device, "precision": "auto", "channels_last": "auto"})
    settings = (f"device {device}; torch {torch.__version__}; python {platform.python_version()}; "
                f"batch {args.batch}; {args.steps} timed iterations after {args.warmup} warm-up, fastest "
                f"of {args.repeats}; log_every {args.log_every}")
    notes = (f"{settings}.\n\nsetting: fp32 = 32-bit NCHW; bf16 = bf16 autocast; channels_last = "
             f"channels-last tensors; compile = torch.compile (inductor). Here `auto` "
             f"(trainer=cpu) picks precision {auto.precision}, "
             f"{'channels_last' if auto.channels_last else 'NCHW'} ({auto.why}). "
             f"ratio = hand-loop time / Lightning time (1.0 = no overhead), each "
             f"way's fastest repeat. startup_s = the Lightning path's {args.warmup} untimed first "
             f"iterations in its first repeat, compilation included. "
             f"schedule_64k = 64,000 iterations (the paper's CIFAR schedule) at the Lightning path's "
             f"speed, training only.")
    if args.concurrent:
        conc = [concurrent(args.nets[0], args.settings[0], args, args.concurrent)]
        notes += "\n\n" + "\n".join(
            f"{r['jobs']} concurrent {r['net']} runs ({r['setting']}) on one device: "
            f"{r['aggregate_img_s']} img/s in aggregate ({r['per_job_img_s']} img/s each)." for r in conc)
    write_table(rows, COLUMNS, args.out, title=f"Training throughput, {device}", notes=notes)
    print(settings)


if __name__ == "__main__":
    main()
