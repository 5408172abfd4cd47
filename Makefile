# Every target bootstraps its own virtualenv from pyproject.toml, so a fresh
# machine needs only python3 (>= 3.11) and make; node/npm are used when present.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NODE_STAMP := tests/interop/node_modules/.installed

.PHONY: test lint types pytest demo simulator bench reliability docs clean interop-deps

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,dev,docs]'
	touch $(STAMP)

# okx-api (Node) from the pinned lock file; skipped quietly where npm is absent
# (the interop tests then skip with a reason).
$(NODE_STAMP): tests/interop/package.json tests/interop/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd tests/interop && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "npm not found: okx-api interop tests will be skipped"; fi

interop-deps: $(NODE_STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check okx_trio tests benchmarks examples

types: $(STAMP)
	$(VENV)/bin/mypy --strict okx_trio

# pytest exits 5 when it collected nothing; CI must never mistake that for a pass.
pytest: $(STAMP) interop-deps
	$(PY) -m pytest -m "not full" -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

test: lint types pytest

demo: $(STAMP)
	$(PY) -m okx_trio demo

simulator: $(STAMP)
	$(PY) -m okx_trio simulator

# Peers: python-okx and ccxt from the bench extra, okx-api (Node) from the pinned
# lock file in benchmarks/node when npm is present (else its rows say "skipped").
# Extra arguments: make bench BENCH_ARGS=--quick
bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,dev,bench]'
	@if command -v npm >/dev/null 2>&1; then \
		if [ ! -f benchmarks/node/node_modules/.installed ] || \
		   [ benchmarks/node/package-lock.json -nt benchmarks/node/node_modules/.installed ]; then \
			(cd benchmarks/node && npm ci --no-audit --no-fund --loglevel=error && \
			 touch node_modules/.installed) || echo "npm ci failed: okx-api rows will be skipped"; \
		fi; \
	else echo "npm not found: okx-api rows will be skipped"; fi
	$(PY) -m benchmarks $(BENCH_ARGS)

# Full-size reliability runs (docs/reliability.md); -s prints the measured figures.
reliability: $(STAMP)
	$(PY) -m pytest -m full tests/reliability -q -s -o faulthandler_timeout=3600 --durations=0

docs: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[docs]'
	$(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) tests/interop/node_modules site
