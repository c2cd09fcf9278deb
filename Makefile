# Set-up and the two entry points of the README: `make demo` and `make test`.
# Everything installs into .venv; torch comes first from its pinned CPU build.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUNS   := runs/digits

.PHONY: setup demo test bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[quant,lava,dev,nir,nir-peer]"
	# Test/benchmark-only NIR peer; --no-deps keeps the pinned torch (see pyproject, nir-peer).
	$(BIN)/pip install --quiet --no-deps norse==1.1.0
	# lava-nc 0.10.0 declares Python <3.11; neurodeploy carries the one 3.11 fix it needs.
	$(BIN)/pip install --quiet --ignore-requires-python lava-nc==0.10.0 "numpy<2" "scipy<1.16" "scikit-learn<1.8"
	touch $(STAMP)

setup: $(STAMP)

# Train a residual network on sklearn digits (as 1x8x8 images), convert, build for Lava, verify
# bit-exactness on Lava, print accuracies.
demo: $(STAMP)
	$(BIN)/neurodeploy train --model resnet --dataset digits --levels 4 --seed 0 --out $(RUNS)/ckpt
	$(BIN)/neurodeploy convert $(RUNS)/ckpt --out $(RUNS)/graph
	$(BIN)/neurodeploy inspect $(RUNS)/graph
	$(BIN)/neurodeploy build $(RUNS)/graph --target lava --out $(RUNS)/lava_bundle
	$(BIN)/neurodeploy verify $(RUNS)/graph --target lava --samples 50 --steps 8
	$(BIN)/neurodeploy eval $(RUNS)/graph --checkpoint $(RUNS)/ckpt --steps 1,2,4,8,16

test: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/cpusim_throughput.py
	$(BIN)/python benchmarks/lava_vs_cpusim.py

clean:
	rm -rf $(VENV) runs build *.egg-info
