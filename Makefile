# The two commands of the quick start (`make run`, `make test`) each set up what they need:
# a virtualenv in .venv, the Python packages, and the Debian packages (when missing and we may).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# WeasyPrint needs HarfBuzz's subsetter and fonts for Arabic, Persian and Ethiopic; the tests need
# poppler (pdfinfo, pdffonts, pdftotext), Debian's Chromium (axe-core accessibility audits) and
# faketime (the suite is run again with the machine's clock a year ahead).
DEBIAN_PACKAGES ?= chromium faketime fonts-noto-core libharfbuzz-subset0 poppler-utils

.PHONY: run test lint bench setup system-packages messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: system-packages $(STAMP)

system-packages:
	@./scripts/system-packages.sh $(DEBIAN_PACKAGES)

run: setup
	$(BIN)/klarvarsel db upgrade
	$(BIN)/klarvarsel demo-data
	$(BIN)/klarvarsel serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check service tests bench
	$(BIN)/ruff format --check service tests bench
	$(BIN)/mypy

test: setup lint
	$(BIN)/pytest -n 2 tests

bench: setup
	$(BIN)/python -m bench
	$(BIN)/python -m bench.sms_transport
	$(BIN)/python -m bench.pdf
	$(BIN)/python -m bench.planning
	$(BIN)/python -m bench.dispatch
	$(BIN)/python -m bench.http_limits
	$(BIN)/python -m bench.cap

# Re-extract message text from the templates and merge it into every catalog (marks changes fuzzy).
messages: $(STAMP)
	$(BIN)/klarvarsel catalogs update
	$(BIN)/klarvarsel catalogs check

clean:
	rm -rf $(VENV) var/*.sqlite3 .mypy_cache .ruff_cache .pytest_cache
