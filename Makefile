# Homing: every set-up step lives here, so a fresh machine with Python 3.11+ and Node 20+ needs only
#   make local   # run the product on this machine (embedded moto, no AWS account, no Docker)
#   make test    # lint, type-check and run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
JS_CLIENT := clients/js-e2e
JS_STAMP := $(JS_CLIENT)/node_modules/.installed-stamp
ENV ?= dev
CDK := npx --yes aws-cdk@2.1148.1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_OUTDIR := cdk.out

.PHONY: help dev lint format test unit local synth deploy destroy bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt layers/deps/requirements.txt layers/core/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Homing needs Python 3.11+")'
	@command -v node >/dev/null || { echo "Homing needs Node.js 20+ (the CDK runs on it)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# The JavaScript client of the e2e tests (AWS SDK v3), exactly as the committed lockfile says.
$(JS_STAMP): $(JS_CLIENT)/package.json $(JS_CLIENT)/package-lock.json
	cd $(JS_CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

dev: $(STAMP) $(JS_STAMP) ## create/update the virtualenv (and the JS e2e client's node_modules)

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: $(STAMP) ## apply ruff's formatting and fixes
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

test: lint $(JS_STAMP) ## lint, then unit, integration, infrastructure and e2e tests (e2e drives the local stack)
	$(PY) -m pytest -n 2 --dist loadgroup

unit: $(STAMP) ## the fast tests only (no stacks, no local stack)
	$(PY) -m pytest tests/unit tests/integration -n 2

synth: $(STAMP) ## synthesize the CDK stacks into cdk.out (offline, no Docker)
	$(PY) app.py

local: $(STAMP) ## run Homing locally: synth, embedded moto, deploy, serve the API on HOMING_PORT (8740); ARGS="--moto-port 4566"
	$(PY) -m homing.local $(ARGS)

deploy: $(STAMP) ## deploy into the AWS account of your current credentials (ENV=dev|prod; CDK_ARGS="-c key=value")
	$(CDK) deploy --all --app "$(PY) app.py" -c env=$(ENV) --require-approval broadening $(CDK_ARGS)

destroy: $(STAMP) ## delete the stateless stacks (tables, stream, bucket and key are retained)
	$(CDK) destroy --all --app "$(PY) app.py" -c env=$(ENV)

bench: $(STAMP) ## print the benchmark figures (cold start, API latency, event throughput, trust probe, segment evaluation, import rate, audience resolution, template render + hand-off, direct sends in-process vs the sender-Lambda hop)
	$(PY) bench/cold_start.py
	$(PY) bench/api_latency.py
	$(PY) bench/events_throughput.py
	$(PY) bench/trust_probe.py
	$(PY) bench/segment_eval.py
	$(PY) bench/import_rate.py
	$(PY) bench/audience.py
	$(PY) bench/render_send.py
	$(PY) bench/direct_send.py

clean: ## remove build outputs (not the virtualenv)
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache
