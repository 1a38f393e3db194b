# The two commands on a fresh machine: `make demo` and `make test`. Each creates .venv if missing and
# installs hopnhat with its pinned dependencies (needs Python >= 3.11, make and a C compiler).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed-stamp
SIZES ?= 10000,100000,1000000

.PHONY: all venv browser demo test test-fast bench bench-env bench-er bench-er-scale schema clean help

all: help

help:
	@echo "make demo        run the whole pipeline on a Vietnamese sample (embedded broker + PostgreSQL)"
	@echo "make test        run the test suite (unit + integration on real services)"
	@echo "make browser     install Debian's chromium for the console tests (root; make test does it)"
	@echo "make test-fast   unit tests only"
	@echo "make bench       webhook-to-PostgreSQL benchmark (bench/e2e.py)"
	@echo "make bench-env   .venv-bench: hopnhat + the peers the ER benchmarks compare with (Splink, DuckDB)"
	@echo "make bench-er    entity resolution vs Splink: FEBRL3/4 (bench/er_febrl.py), Vietnamese hard cases (bench/er_vn.py)"
	@echo "make bench-er-scale  bulk resolution at SIZES=$(SIZES) records vs Splink (bench/er_scale.py)"
	@echo "make schema      regenerate schema/jsonschema/*.json from the models"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "hopnhat needs Python >= 3.11: run make PYTHON=/path/to/python3.11")'
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(VENV)/bin/hopnhat demo

# The console's end-to-end tests drive Debian's Chromium through Playwright's bundled driver (never a
# downloaded browser build). Installed here so a clean clone needs nothing done by hand.
CHROMIUM := /usr/bin/chromium

browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "The console tests need Debian's Chromium at $(CHROMIUM). As root run:"; \
	    echo "  apt-get update && apt-get install -y --no-install-recommends chromium fonts-dejavu-core"; \
	    exit 1; \
	  fi; \
	  echo "installing Debian's chromium for the console tests ..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium fonts-dejavu-core >/dev/null; \
	  test -x $(CHROMIUM) || { echo "apt-get did not install $(CHROMIUM)"; exit 1; }; \
	}

test: venv browser
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-fast: venv
	$(VENV)/bin/python -m pytest tests/unit $(PYTEST_ARGS)

bench: venv
	$(VENV)/bin/python bench/e2e.py

# The benchmark peers live in their own venv so they never become hopnhat dependencies.
$(BENCH_STAMP): pyproject.toml
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	@touch $(BENCH_STAMP)

bench-env: $(BENCH_STAMP)

bench-er: bench-env
	$(BENCH_VENV)/bin/python bench/er_febrl.py
	$(BENCH_VENV)/bin/python bench/er_vn.py

bench-er-scale: bench-env
	$(BENCH_VENV)/bin/python bench/er_scale.py --sizes $(SIZES)

schema: venv
	$(VENV)/bin/python -m schema.export

clean:
	rm -rf $(VENV) $(BENCH_VENV) build *.egg-info .pytest_cache .hypothesis
