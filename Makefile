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

.PHONY: install system-packages demo test ui webhooks api twa-url bot dashboards admin-user bench import-export summary \
  validate clean

# The virtual environment, rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: orchestration/dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp orchestration/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

# Debian packages the tests and benchmarks drive: the headless browser for the Mini App page. Installed once;
# needs root (as on the project's machines) or an administrator who runs the same apt-get.
SYSTEM_PACKAGES := chromium
system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "run as root: apt-get install$$missing" >&2; exit 1; fi; \
	fi

install: $(STAMP) $(DAGSTER_HOME)/dagster.yaml system-packages

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

## api: the Mini App API and page (read-only, over the published snapshot) on http://$(API_HOST):$(API_PORT)/app/
## BOT_TOKEN signs and checks initData; without one set, a local demo token is used (never in production).
API_HOST ?= 127.0.0.1
API_PORT ?= 8000
LOCAL_BOT_TOKEN := 123456:analyticbot-local-demo-token
api: install
	BOT_TOKEN="$${BOT_TOKEN:-$(LOCAL_BOT_TOKEN)}" $(BIN)/uvicorn serving.api:app --host $(API_HOST) --port $(API_PORT) \
	  --no-server-header --no-access-log --log-level warning

## twa-url [USER_ID=<telegram user id>]: a link that opens the page locally as that user (signed test initData)
twa-url: install
	@BOT_TOKEN="$${BOT_TOKEN:-$(LOCAL_BOT_TOKEN)}" $(BIN)/analyticbot twa-url --base http://$(API_HOST):$(API_PORT) $(if $(USER_ID),--user $(USER_ID))

## bot: the Telegram bot (long polling) and its outbox sender; needs BOT_TOKEN (it says so without one)
bot: install
	$(BIN)/python -m bot.app

## dashboards: the team's dashboards (Streamlit) on the published snapshot at http://127.0.0.1:8501 (host and port:
## ANALYTICBOT_DASHBOARDS_HOST/PORT). Log in with the demo admin account `make demo` printed, or `make admin-user`.
dashboards: install
	$(BIN)/analyticbot migrate
	$(BIN)/python -m dashboards

## admin-user ACCOUNT=<name> [ROLE=viewer|analyst|admin] [RESET=1]: a dashboards account; prints its password once
## (RESET=1: a new password and second factor for an existing account)
admin-user: install
	@test -n "$(ACCOUNT)" || { echo "usage: make admin-user ACCOUNT=alice ROLE=admin"; exit 2; }
	@$(BIN)/analyticbot admin-user "$(ACCOUNT)" --role "$(or $(ROLE),viewer)" $(if $(RESET),--reset)

## bench: benchmarks; figures go to bench/RESULTS.md by hand after review
bench: install
	$(BIN)/python bench/ingest_bench.py
	$(BIN)/python bench/pipeline_bench.py
	$(BIN)/python bench/webhooks_bench.py
	$(BIN)/python bench/revenue_bench.py
	$(BIN)/python bench/models_bench.py
	$(BIN)/python bench/api_bench.py
	$(BIN)/python bench/watermark_bench.py
	$(BIN)/python bench/bot_bench.py
	$(BIN)/python bench/bot_commands_bench.py
	$(BIN)/python bench/dashboards_bench.py

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
