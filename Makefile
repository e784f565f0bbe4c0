# CloudShelf: `make dev` runs the store locally, `make test` runs every test.
# Both set up what they need on a fresh machine (Python venvs; later, Chromium).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PORT ?= 3000
PHASE ?= 1
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Python 3.13 (the Lambda runtime): .python-version selects it through pyenv where present.
PYTHON313 ?= $(shell command -v python3.13 2>/dev/null || pyenv which python3.13 2>/dev/null || ls /root/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | head -1)
FUNCTIONS := books carts users orders migrate migration
CHROMIUM ?= /usr/bin/chromium
# Debian packages the tests use: Chromium for the browser tests, PostgreSQL's server binaries for phase 2.
SYSTEM_STAMP := .cloudshelf/.system-packages

.PHONY: help dev seed test test-fast e2e soak system-packages lint format validate build bench audit deploy-frontend openapi events clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements/app.txt requirements/dev.txt pyproject.toml
	@test -n "$(PYTHON313)" || { echo "Python 3.13 is needed (pyenv install 3.13)"; exit 1; }
	@test -x $(PY) || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	@test -n "$(PYTHON313)" || { echo "Python 3.13 is needed (pyenv install 3.13)"; exit 1; }
	@test -x $(SAM_VENV)/bin/python || $(PYTHON313) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	$(SAM_VENV)/bin/python -m pip install -q -r requirements/sam.txt
	@touch $@

$(SYSTEM_STAMP):
	@mkdir -p $(dir $@)
	@if [ -x "$(CHROMIUM)" ] && { command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }; then \
		touch $@; \
	elif command -v apt-get >/dev/null; then \
		echo "installing chromium and postgresql (Debian packages) ..."; \
		$(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium postgresql \
			&& touch $@; \
	else \
		echo "please install Chromium and PostgreSQL (server binaries), or set CHROMIUM=..."; exit 1; \
	fi

system-packages: $(SYSTEM_STAMP) ## install Chromium and PostgreSQL (Debian packages) if missing

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON313) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install -q -r requirements/checkov.txt
	@touch $@

dev: $(VENV)/.installed $(SYSTEM_STAMP) ## run the whole store on http://127.0.0.1:$(PORT) (PHASE=1|2)
	$(VENV)/bin/cloudshelf dev --port $(PORT) --phase $(PHASE)

seed: $(VENV)/.installed ## load the demo catalog into a running local stack
	$(VENV)/bin/cloudshelf seed

test: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed $(SYSTEM_STAMP) ## every test: unit, integration, contract, e2e, security
	PATH="$(dir $(PYTHON313)):$$PATH" $(PY) -m pytest -p no:cacheprovider \
		--cov=layers/shared/cloudshelf --cov=src --cov=cloudshelf_dev --cov-report=term:skip-covered --cov-fail-under=85

test-fast: $(VENV)/.installed $(SYSTEM_STAMP) ## unit and handler tests only
	$(PY) -m pytest -p no:cacheprovider tests/unit tests/integration -m "not slow"

# The store-history checker (tests/histories, docs/testing.md) for longer than `make test` runs it:
# HISTORIES per stage, SOAK_SECONDS per stage (no new history starts after that); SEED replays one.
HISTORIES ?= 25
SOAK_SECONDS ?= 300
soak: $(VENV)/.installed $(SYSTEM_STAMP) ## the checkers, longer: domain model (1500 histories per flavour), then store histories (HISTORIES=25 SOAK_SECONDS=300 per stage, SEED=n)
	HYPOTHESIS_PROFILE=soak $(PY) -m pytest -p no:cacheprovider -q tests/unit/test_checkout_model.py
	CLOUDSHELF_HISTORIES=$(HISTORIES) CLOUDSHELF_HISTORY_SECONDS=$(SOAK_SECONDS) CLOUDSHELF_HISTORY_SEED=$(SEED) \
		$(PY) -m pytest -p no:cacheprovider -s tests/histories

e2e: $(VENV)/.installed $(SYSTEM_STAMP) ## the storefront in a real browser (Playwright + Debian chromium)
	CLOUDSHELF_CHROMIUM=$(CHROMIUM) $(PY) -m pytest -p no:cacheprovider tests/e2e

lint: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed ## ruff, mypy, bandit, checkov, template checks
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/shared/cloudshelf cloudshelf_dev scripts
	@for fn in $(FUNCTIONS); do $(VENV)/bin/mypy layers/shared/cloudshelf src/$$fn/app.py || exit 1; done
	PATH="$(dir $(PYTHON313)):$$PATH" $(PY) scripts/check_template.py
	$(PY) scripts/security_checks.py --only bandit,checkov

audit: $(VENV)/.installed ## pip-audit of the pinned dependencies (needs PyPI's JSON API: fails, never passes, without it)
	$(PY) scripts/security_checks.py --only pip-audit

format: $(VENV)/.installed ## format and fix what ruff can
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

validate: $(SAM_VENV)/.installed ## sam validate --lint
	$(SAM_VENV)/bin/sam validate --lint

build: $(SAM_VENV)/.installed ## sam build (arm64, python3.13)
	PATH="$(dir $(PYTHON313)):$$PATH" $(SAM_VENV)/bin/sam build --cached --parallel

STACK ?= cloudshelf-dev
deploy-frontend: $(VENV)/.installed ## publish frontend/ to a deployed stack: config.json, files, CloudFront invalidation (STACK=cloudshelf-dev)
	$(PY) scripts/deploy_frontend.py --stack-name $(STACK) $(if $(REGION),--region $(REGION)) $(if $(PROFILE),--profile $(PROFILE)) $(if $(DRY_RUN),--dry-run)

openapi: $(VENV)/.installed ## regenerate openapi.json from the route code
	$(VENV)/bin/cloudshelf openapi

events: $(VENV)/.installed ## regenerate events/*.json from template.yaml
	$(PY) scripts/make_events.py

bench: $(VENV)/.installed $(SAM_VENV)/.installed $(SYSTEM_STAMP) ## benchmarks (not tests): writes BENCHMARKS.md and bench-results/benchmarks.json
	PATH="$(dir $(PYTHON313)):$$PATH" $(PY) scripts/bench.py

clean: ## remove build output and caches (keeps the venvs)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis htmlcov .coverage
