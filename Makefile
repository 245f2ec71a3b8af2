# Set-up and entry points. `make repro` and `make test` create .venv when it is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1

.PHONY: help env repro test lint format lock clean bench-prose

help:
	@echo "make repro   create .venv if missing, then run the whole pipeline (dvc repro)"
	@echo "make test    create .venv if missing, then lint and run the test suite"
	@echo "make lint    ruff check + format check, and lint the specs"
	@echo "make lock    regenerate requirements/cpu.txt from the current .venv"
	@echo "make bench-prose  download the pinned sdists once, build the real-prose bench corpus"

env: $(STAMP)

$(STAMP): pyproject.toml requirements/cpu.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -c requirements/cpu.txt -e '.[dev]'
	touch $(STAMP)

repro: $(STAMP)
	msm params
	dvc repro

lint: $(STAMP)
	ruff check .
	ruff format --check .
	msm spec lint

# Two workers, each taking whole test files (the DVC contract tests of one file share a built
# repository and run in order): 13.5 min on 2 cores instead of 20.
test: lint
	pytest -n 2 --dist loadfile --no-loadscope-reorder

format: $(STAMP)
	ruff format .
	ruff check --fix .

lock: $(STAMP)
	{ sed -n '1,3p' requirements/cpu.txt; $(BIN)/python -m pip freeze --exclude-editable \
	  | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > requirements/cpu.txt.new
	mv requirements/cpu.txt.new requirements/cpu.txt

# The real-prose corpus of bench/ (`--corpus real`): downloads the sdists pinned in
# bench/prose-sources.txt once into .msm/bench/sdists (pip, hashes checked), then builds
# offline into .msm/bench/real_prose; the benches reuse it.
bench-prose: $(STAMP)
	$(BIN)/python bench/real_prose.py --out .msm/bench/real_prose

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
