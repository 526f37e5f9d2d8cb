# PolyHunter: `make demo` and `make test` are all a newcomer needs; each target installs what it uses.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(HOME)/.local/bin:$(PATH)
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
RUN := $(UV) run --frozen
NODE_BIN := $(CURDIR)/node_modules/.bin
# Test processes (pytest-xdist): the suite waits on subprocesses, the simulator and anvil far more than it
# computes, so 4 workers on 2 cores keep both busy; tests of one file share a worker (--dist loadfile).
TEST_WORKERS ?= 4
PG_START := pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start
REDIS_START := redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log

.PHONY: help uv sync node chromium services lint typecheck test test-unit test-integration demo serve bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

uv: ## install uv from PyPI if it is missing
	@command -v uv >/dev/null 2>&1 || [ -x "$(HOME)/.local/bin/uv" ] || { \
	  echo "installing uv from PyPI"; python3 -m pip install --user --quiet uv || python3 -m pip install --quiet uv; }

sync: uv ## create .venv from the lock file
	@$(UV) sync --frozen --quiet

node: ## npm packages for chain tests (solc, anvil)
	@if [ ! -x "$(NODE_BIN)/solcjs" ] || [ ! -e "$(NODE_BIN)/anvil" ]; then \
	  command -v npm >/dev/null || { echo "npm is needed for solc/anvil: apt-get install -y nodejs npm"; exit 1; }; \
	  npm install --no-audit --no-fund --loglevel=error; fi

chromium: ## Debian's Chromium for the browser tests (apt-get as root, or with sudo)
	@if ! [ -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing chromium"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then echo "installing chromium"; sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing and cannot be installed here (not root, no sudo): the browser tests will skip"; fi; fi

services: ## start PostgreSQL and Redis if installed but stopped
	@if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  if [ -d /etc/postgresql ]; then echo "starting PostgreSQL"; $(PG_START) || exit 1; \
	  else echo "PostgreSQL is not installed (need 127.0.0.1:5432, database test)"; exit 1; fi; fi
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
	@if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then \
	  if command -v redis-server >/dev/null; then echo "starting Redis"; mkdir -p /var/lib/redis /var/log/redis; $(REDIS_START) || exit 1; \
	  else echo "Redis is not installed (need 127.0.0.1:6379)"; exit 1; fi; fi
	@for i in $$(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done

lint: sync ## ruff and the layer contracts (import-linter, see docs/architecture.md)
	$(RUN) ruff check src tests benchmarks
	$(RUN) ruff format --check src tests benchmarks
	$(RUN) lint-imports --no-cache

typecheck: sync ## mypy --strict
	$(RUN) mypy

test-unit: sync ## unit tests (no I/O)
	$(RUN) pytest tests/unit -q -n $(TEST_WORKERS)

test-integration: sync services node chromium ## integration and e2e tests (PostgreSQL, Redis, simulator, anvil)
	$(RUN) pytest tests/integration tests/e2e -q -n $(TEST_WORKERS) --dist loadfile

test: sync services node chromium lint typecheck ## lint, types and every test tier
	$(RUN) pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=25

DEMO_ARGS ?= --duration 60
demo: sync ## the main job: simulator + paper, own-wallet and (after make node: anvil) PROXY followers (DEMO_ARGS=...)
	$(RUN) polyhunter demo $(DEMO_ARGS)

serve: sync ## the API, the dashboard and the engine from the database (SERVE_ARGS=... to add options)
	$(RUN) polyhunter serve $(SERVE_ARGS)

bench: sync ## performance figures
	$(RUN) polyhunter bench

clean: ## remove local state
	rm -rf var test-artifacts .pytest_cache .mypy_cache .ruff_cache
