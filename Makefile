# resnet_lab — set-up, tests and the paper's reproductions.
# `make install && make test` on a fresh machine; `make help` lists everything.

PYTHON_SYS ?= python3
VENV       ?= .venv
PY         := $(VENV)/bin/python
# torch/torchvision are ranges in pyproject.toml; this pair is named here so pip takes the
# builds cached on the CI machines instead of downloading the newest. Override for your CUDA:
#   make install TORCH_SPEC="torch torchvision"
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
EXTRAS     ?= dev,slurm,joblib
STAMP      := $(VENV)/.installed
FMNIST     := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: help install fashion-mnist test test-slow lint bench architectures smoke cpu_degradation \
        figures figure1 figure4 figure6 figure7 table6 shortcuts

help:
	@grep -E '^[a-z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 20

install: $(STAMP) fashion-mnist  ## create .venv and install resnet_lab (editable, dev extras)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON_SYS) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(EXTRAS)]" $(TORCH_SPEC)
	@touch $@

fashion-mnist:  ## install Debian's dataset-fashion-mnist when missing (needs root + apt-get)
	@if [ -f $(FMNIST) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing dataset-fashion-mnist with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
	    || echo "note: apt-get could not install dataset-fashion-mnist; tests that need it will skip"; \
	else echo "note: dataset-fashion-mnist is not installed (needs root and apt-get); tests that need it will skip"; fi

test: install  ## run the default test suite (installs first when needed)
	$(PY) -m pytest

# A one-node SLURM cluster on this machine (Debian packages, no systemd): scripts/local_slurm.sh
.PHONY: slurm-up slurm-down test-slurm
slurm-up:  ## start a local one-node SLURM (installs it as root when missing); SLURM_CONF it prints
	scripts/local_slurm.sh up

slurm-down:  ## stop the local SLURM's daemons (exactly those slurm-up started)
	scripts/local_slurm.sh down

test-slurm: install  ## the `slurm` tests: studies, pre-emption and requeue through the local SLURM
	$(PY) -m pytest -m slurm -n 0 tests/test_slurm.py  # one cluster, one job queue: not in parallel

test-slow: install  ## the slow checks too (real training, DDP, kill-and-resume)
	$(PY) -m pytest -m "slow or not slow"

lint: install  ## ruff
	$(PY) -m ruff check resnet_lab tests run.py

BENCH_ARGS ?=
bench: install  ## training throughput: Lightning path vs a hand-written loop (outputs/bench/)
	$(PY) -m resnet_lab.bench --out outputs/bench/bench $(BENCH_ARGS)

architectures: install  ## print and save the architecture table (params, FLOPs, paper's numbers)
	$(PY) -m resnet_lab.models --out outputs/architectures/architectures

# ---------------------------------------------------------------- the paper's studies
# `make figure6` runs the study (a Hydra multirun; finished jobs are not retrained) and draws
# it, even when some jobs failed (they are named in the figure's caption); the target then
# exits non-zero. ARGS passes extra overrides (sweeps too): make figure6 ARGS="trainer=gpu"
ARGS    ?=
FIGURES ?= outputs/figures
SWEEPS  ?= outputs/sweeps

# $(call study,EXPERIMENT,FIGURE...,EXTRA OVERRIDES): trains into $(SWEEPS)/EXPERIMENT, draws from
# there into $(FIGURES)/EXPERIMENT, and prints the study's wall time.
define study
	@status=0; start=$$(date +%s); echo "== study $(1): training into $(SWEEPS)/$(1)"; \
	$(PY) run.py -m experiment=$(1) hydra.sweep.dir=$(SWEEPS)/$(1) $(3) $(ARGS) || status=$$?; \
	for fig in $(2); do \
	  $(PY) -m resnet_lab.figures $$fig --sweep $(SWEEPS)/$(1) --out $(FIGURES)/$(1) || status=1; \
	done; \
	echo "== study $(1): $$(( ($$(date +%s) - start) / 60 ))m$$(( ($$(date +%s) - start) % 60 ))s wall time, figures in $(FIGURES)/$(1)"; \
	exit $$status
endef

FIG ?= all
figures: install  ## redraw figures from records: make figures FIG=figure6 SWEEP=outputs/sweeps/figure6
	$(PY) -m resnet_lab.figures $(FIG) --sweep $(or $(SWEEP),$(SWEEPS)) --out $(FIGURES)

# The study's W&B report and workspace (updated in place when run again, by the ids kept in
# outputs/dashboards/<study>.wandb.json); without a W&B login, what would be sent goes to
# outputs/dashboards/<study>.report.json and .workspace.json. DASHBOARD_ARGS: --dry-run, --offline
STUDY  ?=
ENTITY ?=
DASHBOARD_ARGS ?=
.PHONY: dashboard
dashboard: install  ## W&B report + workspace of a study: make dashboard STUDY=figure6 ENTITY=you
	$(PY) -m resnet_lab.dashboard $(STUDY) $(if $(ENTITY),--entity $(ENTITY)) \
	  --figures $(FIGURES) $(if $(NETS),--nets $(NETS)) $(DASHBOARD_ARGS)

figure1: install  ## Figure 1: CIFAR-10 plain-20/56, training and test error
	$(call study,figure1,figure1)

figure6: install  ## Figure 6: CIFAR-10 plain-20..56, ResNet-20..110, ResNet-110/1202
	$(call study,figure6,figure6)

figure7: install  ## Figure 7: std of layer responses, plain-20/56, ResNet-20/56/110
	$(call study,figure7,figure7)

table6: install  ## Table 6: CIFAR-10 test error of ResNet-20..1202 over 5 seeds
	$(call study,table6,table6)

figure4: install  ## Figure 4: ImageNet plain-18/34 and ResNet-18/34 (needs ImageNet in data/imagenet)
	$(call study,figure4,figure4)

shortcuts: install  ## Table 3: ImageNet ResNet-34 with shortcuts A, B, C
	$(call study,shortcuts,shortcuts)

smoke: install  ## every study's code path on synthetic data in a few minutes, ending in PNGs
	$(call study,smoke,figure1 figure6 figure7 table6)
	$(call study,smoke_imagenet,figure4 shortcuts)

# Other nets: make cpu_degradation NETS=plain-20,ResNet-20; all of Figure 6's: make cpu_figure6
NETS ?=
cpu_degradation: install  ## Figures 1, 6, 7 on Fashion-MNIST on a CPU (4 nets: 9 min on 2 cores with bf16)
	$(call study,cpu_degradation,figure1 figure6 figure7,$(if $(NETS),net=$(NETS)))

.PHONY: cpu_figure6 cpu_figure6_seeds cpu_open_choices cpu_startup
cpu_figure6: install  ## Figure 6 (left, middle) and 7 on Fashion-MNIST on a CPU (8 nets: 18 min on 2 cores)
	$(call study,cpu_figure6,figure6 figure7)

cpu_figure6_seeds: install  ## both halves of Figure 6 on a CPU, 3 seeds per net with error bars (about 2 h)
	$(call study,cpu_figure6_seeds,figure1 figure6 table6)

cpu_open_choices: install  ## ResNet-20/56 under each choice the paper leaves open (init, padding, stem)
	$(call study,cpu_open_choices,switches)

cpu_startup: install  ## ResNet-20/56's first 20 iterations: loss, gradient norm; bf16/fp32, warm-up, zero-init
	$(call study,cpu_startup,startup)

# Beyond the paper: pre-activation units, wide and ResNeXt nets (He et al. 2016, Zagoruyko &
# Komodakis 2016, Xie et al. 2017), drawn in Figure 6's style with a table of their papers' numbers.
.PHONY: preact wide cpu_preact
preact: install  ## CIFAR-10 original vs pre-activation units at 110, 164, 1001, 1202 layers
	$(call study,preact,preact beyond)

wide: install  ## CIFAR-10 WRN-16-8, WRN-28-10, ResNeXt-29 8x64d
	$(call study,wide,wide beyond)

cpu_preact: install  ## pre-activation and degradation on Fashion-MNIST on a CPU (about half an hour)
	$(call study,cpu_preact,preact,$(if $(NETS),net=$(NETS)))

# The degradation literature after the paper: stochastic depth (Huang et al. 2016), nets without
# normalisation with He init, Fixup (Zhang et al. 2019), ReZero / SkipInit (Bachlechner et al.
# 2020, De & Smith 2020), drawn in Figure 6's style with a table beside their papers' numbers.
.PHONY: stochastic_depth no_norm cpu_stochastic_depth cpu_no_norm cpu_depth_stress
stochastic_depth: install  ## CIFAR-10 ResNet-110/1202, constant vs stochastic depth (the 2015 recipe)
	$(call study,stochastic_depth,remedies remedies_table)

no_norm: install  ## CIFAR-10 ResNet-56/110 with BN, without BN (He init), Fixup, SkipInit
	$(call study,no_norm,remedies remedies_table)

cpu_stochastic_depth: install  ## stochastic depth on Fashion-MNIST on a CPU, ResNet-56/110
	$(call study,cpu_stochastic_depth,remedies remedies_table)

cpu_no_norm: install  ## ResNet-56 on Fashion-MNIST with BN, without, Fixup, SkipInit, ReZero
	$(call study,cpu_no_norm,remedies remedies_table)

cpu_depth_stress: install  ## the deepest net each remedy trains (110, 1202 layers, 200 iterations)
	$(call study,cpu_depth_stress,stress)
