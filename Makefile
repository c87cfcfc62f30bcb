# Two commands set everything up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)
export DAGSTER_HOME ?= $(abspath .dagster_home)
export DAGSTER_DISABLE_TELEMETRY := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := False
export STREAMLIT_BROWSER_GATHER_USAGE_STATS := false

.PHONY: install demo test ui webhooks bench import-export summary validate clean

# The virtual environment, rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: orchestration/dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp orchestration/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

install: $(STAMP) $(DAGSTER_HOME)/dagster.yaml

## demo: install, run the whole pipeline on the embedded DuckDB default with demo data, print what it built
demo: install
	$(BIN)/analyticbot demo

## test: install, then the whole test suite (PostgreSQL tests skip unless ANALYTICBOT_REQUIRE_POSTGRES=1)
test: install
	$(BIN)/python -m pytest

## ui: the Dagster UI (webserver + daemon) on this project at http://127.0.0.1:3000
ui: install
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

## webhooks: the payment webhook receivers (Stripe, Payme, Click) on http://$(WEBHOOKS_HOST):$(WEBHOOKS_PORT)
## Needs STRIPE_WEBHOOK_SECRET, PAYME_MERCHANT_KEY, CLICK_SERVICE_ID and CLICK_SECRET_KEY for the gateways in use.
WEBHOOKS_HOST ?= 127.0.0.1
WEBHOOKS_PORT ?= 8081
webhooks: install
	$(BIN)/analyticbot migrate
	$(BIN)/uvicorn serving.webhooks:app --host $(WEBHOOKS_HOST) --port $(WEBHOOKS_PORT) --no-server-header

## bench: benchmarks; figures go to bench/RESULTS.md by hand after review
bench: install
	$(BIN)/python bench/ingest_bench.py
	$(BIN)/python bench/pipeline_bench.py
	$(BIN)/python bench/webhooks_bench.py
	$(BIN)/python bench/revenue_bench.py
	$(BIN)/python bench/models_bench.py

## import-export FILE=path/to/result.json OWNER=<telegram user id> [TZ=Asia/Tashkent]
import-export: install
	@test -n "$(FILE)" -a -n "$(OWNER)" || { echo "usage: make import-export FILE=result.json OWNER=123456789"; exit 2; }
	$(BIN)/analyticbot import-export "$(FILE)" --owner "$(OWNER)" $(if $(TZ),--time-zone "$(TZ)")

summary: install
	$(BIN)/analyticbot summary

validate: install
	$(BIN)/dagster definitions validate -w workspace.yaml

clean:
	rm -rf data .dagster_home dbt_project/target dbt_project/logs
