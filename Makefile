# The commands the README names. Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test check coverage typecheck lint mutate bench demo demo-erp sandbox release clean

PLUGINS := -e ./tap-zoho -e ./target-clickhouse -e ./target-tsh-postgres -e ./zoho-sync-service
MELTANO_VENV := .venv-meltano
MELTANO := $(MELTANO_VENV)/bin/meltano
# Parallel test processes (pytest-xdist); tests/support/scheduling.py says which tests share one.
# One more than the two cores CI has: many tests wait on subprocesses, servers and timers, and a
# third process fills those waits (make test: 4:39 with 3, 6:49 with 2, on 2 cores).
WORKERS ?= 3
PYTEST := $(PY) -m pytest -n $(WORKERS)

$(STAMP): pyproject.toml meltano.yml tap-zoho/pyproject.toml target-clickhouse/pyproject.toml target-tsh-postgres/pyproject.toml zoho-sync-service/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(PLUGINS) -e '.[dev]'
	test -x $(MELTANO) || $(PYTHON) -m venv $(MELTANO_VENV)
	$(MELTANO_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MELTANO_VENV)/bin/python -m pip install --quiet 'meltano==4.4.1'
	PATH="$(CURDIR)/$(MELTANO_VENV)/bin:$$PATH" $(MELTANO) install
	touch $(STAMP)

install: $(STAMP)

# Every tier (unit, integration, e2e), after ruff and mypy: what CI runs.
test: $(STAMP)
	bash scripts/ensure_postgres.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PYTEST)

# The inner loop: ruff, mypy, and the unit and integration tiers (no subprocess, no Meltano).
check: $(STAMP)
	bash scripts/ensure_postgres.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PYTEST) -m "unit or integration"

# Every tier with coverage of the four packages (the tracer slows in-process tests down).
coverage: $(STAMP)
	bash scripts/ensure_postgres.sh
	$(PYTEST) --cov --cov-report=
	$(PY) scripts/coverage_summary.py

# mypy --strict over the four packages; configured in pyproject.toml ([tool.mypy]).
typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Mutation testing of the pure modules with their unit tests (scripts/mutate.py); not in CI.
mutate: $(STAMP)
	$(PY) -m pip install --quiet 'mutmut==3.8.1'
	$(PY) scripts/mutate.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PY) bench/tap_crm.py
	$(PY) bench/target_clickhouse.py
	$(PY) bench/target_tsh_postgres.py

demo: $(STAMP)
	$(PY) scripts/demo.py

demo-erp: $(STAMP)
	bash scripts/ensure_postgres.sh
	$(PY) -m scripts.demo_erp

# Six artefacts (sdist + wheel per plugin) into dist/, checked with twine; nothing is uploaded.
release: $(STAMP)
	$(PY) scripts/release.py --outdir dist

sandbox: $(STAMP)
	$(PY) -m tests.zoho_sandbox

clean:
	rm -rf $(VENV) $(MELTANO_VENV) .meltano .pytest_cache .ruff_cache .mypy_cache .mutate .coverage output dist
