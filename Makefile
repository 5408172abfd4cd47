# Every target bootstraps its own virtualenv from pyproject.toml, so a fresh
# machine needs only python3 (>= 3.11) and make; node/npm are used when present.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check
NODE_STAMP := tests/interop/node_modules/.installed

# One stamp per set of extras, each remade when pyproject.toml or this Makefile
# changes: `make demo` installs only the runtime dependencies, `make test` the
# test, dev, docs and plot extras, and neither reinstalls while its stamp is fresh.
EXTRAS_run   :=
EXTRAS_test  := [test,dev,docs,plot]
EXTRAS_docs  := [docs]
EXTRAS_bench := [bench]
STAMP_RUN    := $(VENV)/.installed-run
STAMP_TEST   := $(VENV)/.installed-test
STAMP_DOCS   := $(VENV)/.installed-docs
STAMP_BENCH  := $(VENV)/.installed-bench
# Wheels of the runtime dependencies and of the build backend, so the wheel
# test (tests/packaging) builds and installs okx-trio without the network.
WHEELHOUSE   := $(VENV)/wheelhouse
WHEEL_STAMP  := $(WHEELHOUSE)/.complete

.PHONY: test lint types pytest demo simulator bench reliability docs clean interop-deps

$(VENV)/.installed-%: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e '.$(EXTRAS_$*)'
	touch $@

$(WHEEL_STAMP): pyproject.toml Makefile $(STAMP_TEST)
	rm -rf $(WHEELHOUSE)
	$(PY) -m pip wheel --quiet --disable-pip-version-check --wheel-dir $(WHEELHOUSE) . hatchling
	rm -f $(WHEELHOUSE)/okx_trio-*.whl
	touch $@

# okx-api (Node) from the pinned lock file; skipped quietly where npm is absent
# (the interop tests then skip with a reason).
$(NODE_STAMP): tests/interop/package.json tests/interop/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd tests/interop && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "npm not found: okx-api interop tests will be skipped"; fi

interop-deps: $(NODE_STAMP)

lint: $(STAMP_TEST)
	$(VENV)/bin/ruff check okx_trio tests benchmarks examples

types: $(STAMP_TEST)
	$(VENV)/bin/mypy --strict okx_trio benchmarks

# pytest exits 5 when it collected nothing; CI must never mistake that for a pass.
# tests/packaging builds the wheel and installs it, without extras, in a
# throwaway virtualenv (no trustme, no cryptography), from $(WHEELHOUSE).
pytest: $(STAMP_TEST) $(WHEEL_STAMP) interop-deps
	$(PY) -m pytest -m "not full" -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

test: lint types pytest

# The demo runs on the in-process simulator: the runtime dependencies are enough.
demo: $(STAMP_RUN)
	$(PY) -m okx_trio demo

simulator: $(STAMP_RUN)
	$(PY) -m okx_trio simulator

# Peers: python-okx and ccxt from the bench extra, okx-api (Node) from the pinned
# lock file in benchmarks/node when npm is present (else its rows say "skipped").
# Extra arguments: make bench BENCH_ARGS=--quick
bench: $(STAMP_BENCH)
	@if command -v npm >/dev/null 2>&1; then \
		if [ ! -f benchmarks/node/node_modules/.installed ] || \
		   [ benchmarks/node/package-lock.json -nt benchmarks/node/node_modules/.installed ]; then \
			(cd benchmarks/node && npm ci --no-audit --no-fund --loglevel=error && \
			 touch node_modules/.installed) || echo "npm ci failed: okx-api rows will be skipped"; \
		fi; \
	else echo "npm not found: okx-api rows will be skipped"; fi
	$(PY) -m benchmarks $(BENCH_ARGS)

# Full-size reliability runs (docs/reliability.md); -s prints the measured figures.
reliability: $(STAMP_TEST)
	$(PY) -m pytest -m full tests/reliability -q -s -o faulthandler_timeout=3600 --durations=0

docs: $(STAMP_DOCS)
	$(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) tests/interop/node_modules site
