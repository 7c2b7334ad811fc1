# shencha — set-up, sample run and tests. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Where the sample run keeps its store and reports (see README "Where the data goes").
export SHENCHA_HOME ?= $(CURDIR)/var
# The sample packages; each keeps its application number, so running the demo again adds versions.
DEMO_PACKAGES := $(sort $(wildcard fixtures/packages/*))

.PHONY: help setup system demo test bench clean

help:
	@echo "make demo   set up and review the bundled sample packages (reports in var/reports)"
	@echo "make test   set up and run the whole test suite"
	@echo "make bench  run the benchmarks and print their figures"

system:
	bash scripts/setup-system.sh

$(BIN)/shencha: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: system $(BIN)/shencha

demo: setup
	$(BIN)/shencha registry sync fixtures/registry/certificates.csv --kind certificates --as-of 2026-11-01
	$(BIN)/shencha registry sync fixtures/registry/companies.csv --kind companies --as-of 2026-11-01
	$(BIN)/shencha review $(DEMO_PACKAGES) $(foreach p,$(DEMO_PACKAGES),--application-id demo-$(notdir $(p))) \
		--format html --format json --out $(SHENCHA_HOME)/reports
	$(BIN)/shencha users seed-demo
	@echo "Reports: $(SHENCHA_HOME)/reports  Store: $(SHENCHA_HOME)/shencha.db"
	@echo "Web app: $(BIN)/shencha ui   (demo accounts: docs/ui.md)"

test: setup
	$(BIN)/lint-imports
	bash scripts/with-postgres.sh $(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m benchmarks.bench_text_pdf
	$(BIN)/python -m benchmarks.bench_review_cache
	$(BIN)/python benchmarks/bench_ocr.py
	$(BIN)/python -m benchmarks.bench_batch   # add --ray ADDRESS (or SHENCHA_RAY_ADDRESS) for the Ray figures

clean:
	rm -rf $(VENV) var .pytest_cache
