# Two commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := .demo

.PHONY: run test lint install clean bench demo-pack

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Torch first and pinned to the release that lies on this machine's disk; the project itself
# only asks for torch>=2.4, so any later compatible release works elsewhere.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q "torch==2.14.1" "torchvision==0.29.1" || $(BIN)/pip install -q "torch>=2.4" "torchvision>=0.19"
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m animesion_desktop.demo --dir $(DEMO_DIR)

lint: $(STAMP)
	$(BIN)/ruff check animesion_desktop models training tests benchmarks
	$(BIN)/lint-imports

test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_scan.py
	$(BIN)/python benchmarks/bench_search.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) build *.egg-info
