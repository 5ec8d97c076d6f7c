# protocolgen: `make protocol` and `make test` are all a newcomer needs (python3 + make).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STUDY  ?= protocol/iri-apa-sclc
SLUG   := $(notdir $(abspath $(STUDY)))
OUT    := build/$(SLUG)
# What a rendered protocol depends on: touching any of these re-renders; nothing else does.
PROTOCOL_DEPS := $(wildcard $(STUDY)/*.yaml) $(wildcard templates/*/* templates/*/*/*) \
                 $(wildcard src/protocolgen/*.py src/protocolgen/*.yaml src/protocolgen/*/*)

.PHONY: setup test protocol consent validate lint bench docs golden clean

setup: $(STAMP)

# Re-installs only when pyproject.toml changes (the package itself is installed editable).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest

# Incremental: a second run with nothing changed does no work.
protocol: $(OUT)/.protocol.done

$(OUT)/.protocol.done: $(STAMP) $(PROTOCOL_DEPS)
	$(BIN)/protocolgen validate $(STUDY)
	$(BIN)/protocolgen check $(STUDY)
	$(BIN)/protocolgen render protocol $(STUDY) -o $(OUT)
	$(BIN)/protocolgen render consent $(STUDY) -o $(OUT)
	touch $@

consent: $(STAMP)
	$(BIN)/protocolgen render consent $(STUDY) -o $(OUT)

validate: setup
	$(BIN)/protocolgen validate $(STUDY)

lint: setup
	$(BIN)/ruff check src tests bench

bench: setup
	$(BIN)/python bench/bench.py

golden: setup
	PROTOCOLGEN_GOLDEN=update $(BIN)/python -m pytest -q tests/test_render_protocol.py -k golden

docs: setup
	$(BIN)/protocolgen schema -o docs/study-format.md

clean:
	find build -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .hypothesis
