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

.PHONY: help install fashion-mnist test test-slow lint architectures

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

test-slow: install  ## the slow checks too (real training, DDP, kill-and-resume)
	$(PY) -m pytest -m "slow or not slow"

lint: install  ## ruff
	$(PY) -m ruff check resnet_lab tests run.py

architectures: install  ## print and save the architecture table (params, FLOPs, paper's numbers)
	$(PY) -m resnet_lab.models --out outputs/architectures/architectures
