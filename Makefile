# protocolgen: `make protocol` and `make test` are all a newcomer needs (python3 + make).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STUDY  ?= protocol/iri-apa-sclc

.PHONY: setup test protocol validate lint bench docs clean

setup: $(STAMP)

# Re-installs only when pyproject.toml changes (the package itself is installed editable).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest

protocol: validate

validate: setup
	$(BIN)/protocolgen validate $(STUDY)

lint: setup
	$(BIN)/ruff check src tests bench

bench: setup
	$(BIN)/python bench/bench.py

docs: setup
	$(BIN)/protocolgen schema -o docs/study-format.md

clean:
	find build -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .hypothesis
