# SchoolBridge — the command contract: `make demo`, `make test`, `make bench`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

node_modules/axe-core/axe.min.js: package.json
	@if command -v npm >/dev/null 2>&1; then npm install --no-audit --no-fund --silent; \
	else echo "npm not found: accessibility browser tests will skip"; fi

demo: $(STAMP)
	$(VENV)/bin/schoolbridge demo

test: $(STAMP) node_modules/axe-core/axe.min.js
	$(PY) -m pytest -n 2 --dist loadgroup -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy schoolbridge
	$(PY) manage.py makemigrations --check --dry-run

bench: $(STAMP)
	$(PY) bench/seed.py
	$(PY) bench/pages.py --scale small
	$(PY) bench/gate_ingest.py --scale small
	$(PY) bench/fanout.py --scale small
	$(PY) bench/imports.py --scale small
	$(PY) bench/import_oneroster.py --scale small

clean:
	rm -rf var/test*.sqlite3* var/broker
