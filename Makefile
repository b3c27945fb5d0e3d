# The two commands a new user types: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# `make test` runs the suite in this many processes, a test file to each at a time
# (pytest-xdist); 1 runs it in one.
TEST_PROCESSES ?= 2
HOST ?= 127.0.0.1
PORT ?= 8000

# Examples per operation for `make fuzz` (the normal test run uses 20).
FUZZ_EXAMPLES ?= 100
# Commands of `make chaos`'s load (the normal test run plays 2,000); CHAOS_SEED repeats a run.
CHAOS_COMMANDS ?= 20000

.PHONY: run test fuzz chaos lint check-rules bench load services-up services-down services-status install install-test clean

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "aimarket needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml sdk/python/pyproject.toml | $(PY)
	@echo "Installing aimarket into $(VENV) ..."
	$(PY) -m pip install --quiet -e . -e sdk/python
	@touch $@

$(VENV)/.installed-test: pyproject.toml sdk/python/pyproject.toml | $(PY)
	@echo "Installing aimarket with its test, cluster and dev extras into $(VENV) ..."
	$(PY) -m pip install --quiet -e '.[cluster,test,dev]' -e 'sdk/python[numpy]'
	@touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test

## Start the marketplace on the embedded profile at http://$(HOST):$(PORT) (data in ./var/).
run: install
	$(VENV)/bin/aimarket run --host $(HOST) --port $(PORT)

## Install and start the real services, run the whole suite, stop what was started.
test: install-test
	@$(PY) -m infra.services up --started-file var/services/started-by-test; status=$$?; \
	if [ $$status -eq 0 ]; then \
		$(PY) -m pytest --cov --cov-report=term --cov-fail-under=80 --durations=30 \
			-n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS); status=$$?; \
	else echo "services did not come up: see the messages above"; fi; \
	$(PY) -m infra.services down --started-file var/services/started-by-test; \
	exit $$status

## The long fuzz run: schemathesis over /openapi.json as each role, FUZZ_EXAMPLES per operation.
fuzz: install-test
	AIMARKET_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -p no:cacheprovider tests/e2e/test_fuzz.py $(PYTEST_ARGS)

## The long crash-and-recovery run: CHAOS_COMMANDS commands while the relay, every worker,
## Kafka and PostgreSQL are crashed and restarted (tests/e2e/test_chaos.py); the seed is printed.
chaos: install-test
	CHAOS_COMMANDS=$(CHAOS_COMMANDS) $(PY) -m pytest -p no:cacheprovider -s tests/e2e/test_chaos.py $(PYTEST_ARGS)

## ruff, mypy strict, and the import rules (import-linter contracts in pyproject.toml).
lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

## The alert rules (as `promtool check rules` checks them: the same rulefmt package) and the
## dashboards' PromQL, by deploy/rulecheck (promtool itself takes too long to build: OPERATIONS.md).
check-rules:
	@command -v go >/dev/null || { echo "go not found: install Go 1.26 or newer (it builds deploy/rulecheck)"; exit 1; }
	cd deploy/rulecheck && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -o $(CURDIR)/var/cache/go-bin/rulecheck .
	var/cache/go-bin/rulecheck deploy/prometheus/*.yml deploy/grafana/*.json

## Every benchmark into one run's file (var/bench/<run>.json), then the table at the top of
## docs/BENCHMARKS.md from it; a script that fails does not stop the others or the table.
## (bench/inference.py runs bench/inference_triton.py; bench/billing.py the purchases.)
BENCH_SCRIPTS = auth pipeline relay_vs_writes discovery web_search inference billing gateway gateway_ratelimit sdk

bench: install-test
	@run=$$(date -u +%Y%m%dT%H%M%SZ); export AIMARKET_BENCH_RUN=$$run; failed=""; \
	for script in $(BENCH_SCRIPTS); do \
		echo "== bench/$$script.py"; $(PY) bench/$$script.py || failed="$$failed $$script"; \
	done; \
	$(PY) bench/table.py --run var/bench/$$run.json; \
	if [ -n "$$failed" ]; then echo "failed:$$failed"; exit 1; fi

## The marketplace under a locust load of its real shape on the cluster profile (bench/load/):
## LOAD_USERS (100) for LOAD_SECONDS (180); figures into docs/BENCHMARKS.md.
load: install-test
	$(PY) -m bench.load

services-up: install-test
	$(PY) -m infra.services up

services-down: install-test
	$(PY) -m infra.services down

services-status: install-test
	$(PY) -m infra.services status

clean:
	rm -rf $(VENV) var/events.sqlite var/denylist.sqlite var/outbox
