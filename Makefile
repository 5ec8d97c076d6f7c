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
                 $(wildcard src/protocolgen/*.py src/protocolgen/*.yaml src/protocolgen/*/*) \
                 $(wildcard $(OUT)/allocation/*_manifest.json)

.PHONY: setup test protocol consent allocation diff ethics calendar validate lint bench docs golden clean

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

# The sealed allocation list, REDCap tables and randomization report, into $(OUT)/allocation:
#   make allocation STUDY=protocol/resilient SEED=0x… [SIZE=N]
# Without SEED a 256-bit seed is drawn and written only to a sealed file beside the list.
allocation: setup
	$(BIN)/protocolgen allocate $(STUDY) $(if $(SEED),--seed $(SEED)) $(if $(SIZE),--size $(SIZE)) -o $(OUT)/allocation

# Amendment diff: FROM is a study folder, a git revision, or "previous" (the latest history/ version).
FROM ?= previous
diff: setup
	$(BIN)/protocolgen diff $(FROM) $(STUDY) -o $(OUT)/diff

ethics: setup
	$(BIN)/protocolgen package $(STUDY) --from $(FROM) -o $(OUT)/ethics

# A patient's visit calendar (ICS, CSV, HTML, PDF) into $(OUT)/calendars:
#   make calendar SUBJECT=1001 DATE=2026-03-02 [STUDY=…] [SITE=S01] [ARM=…] [ACTUAL=dates.csv]
calendar: setup
	$(if $(and $(SUBJECT),$(DATE)),,$(error usage: make calendar SUBJECT=1001 DATE=2026-03-02 [STUDY=…] [SITE=…] [ARM=…] [ACTUAL=…]))
	$(BIN)/protocolgen calendar $(SUBJECT) --anchor-date $(DATE) $(STUDY) $(if $(SITE),--site $(SITE)) $(if $(ARM),--arm $(ARM)) $(if $(ACTUAL),--actual $(ACTUAL)) -o $(OUT)/calendars

validate: setup
	$(BIN)/protocolgen validate $(STUDY)

lint: setup
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy src/protocolgen

bench: setup
	$(BIN)/python bench/bench.py

golden: setup
	PROTOCOLGEN_GOLDEN=update $(BIN)/python -m pytest -q tests/test_render_protocol.py tests/test_calendar_golden.py -k golden

docs: setup
	$(BIN)/protocolgen schema -o docs/study-format.md

# Keeps build/<study>/allocation/: a sealed allocation list is never deleted by a clean.
clean:
	find build -mindepth 1 -maxdepth 1 -type f ! -name .gitkeep -delete
	find build -mindepth 2 -maxdepth 2 ! -name allocation -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .hypothesis
