# riskwire: `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
STACK  := deploy/stack.sh
export RISKWIRE_PYTHON := $(abspath $(BIN)/python)

.PHONY: help install stack-up stack-down stack-status observe observe-down run test test-cluster redis-cluster-up redis-cluster-down test-unit test-order chaos lint fmt typecheck bench bench-api generate clean

help: ## list every target
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-13s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP) ## create .venv and install riskwire with its dev tools
	@$(BIN)/pre-commit install >/dev/null 2>&1 || true

stack-up: install ## start (or reuse) Kafka and Redis on localhost, create every topic
	bash $(STACK) up

stack-down: ## stop the Kafka and Redis this checkout started
	bash $(STACK) down

stack-status: ## show whether Kafka and Redis are up
	bash $(STACK) status

observe: ## start (or reload) a local Prometheus scraping the API and the worker, with riskwire's rules
	bash deploy/observe.sh up

observe-down: ## stop the Prometheus `make observe` started
	bash deploy/observe.sh down

run: install ## start Kafka, Redis, Prometheus, the worker and the API, play a demo feed; Ctrl-C stops all
	bash deploy/run.sh

test: install ## start what the tests need, run every test, write build/junit.xml
	bash deploy/test.sh

test-cluster: install ## the Redis-heavy integration suites against a local Redis Cluster (3 masters + 3 replicas)
	bash deploy/test-cluster.sh

redis-cluster-up: ## start (or reuse) a local Redis Cluster: 3 masters + 3 replicas
	bash deploy/redis-cluster.sh up

redis-cluster-down: ## stop the Redis Cluster this checkout started
	bash deploy/redis-cluster.sh down

chaos: install test-order ## make test-order, then the fault suite at full scale (100,000 events, 14 faults in flight); last line is the result
	bash deploy/chaos.sh

test-unit: install ## unit tests only (no services)
	$(BIN)/pytest tests/unit -q

test-order: install ## same answers in any legal order: 10 interleavings of the medium simulation, 1/2/4 workers
	RISKWIRE_ORDER_SCALE=$${RISKWIRE_ORDER_SCALE:-medium} \
	RISKWIRE_ORDER_INTERLEAVINGS=$${RISKWIRE_ORDER_INTERLEAVINGS:-10} \
	RISKWIRE_ORDER_PARALLEL=$${RISKWIRE_ORDER_PARALLEL:-2} \
	bash deploy/test.sh tests/integration/test_order_independence.py -q -s

lint: install ## ruff, ruff format --check and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: install ## format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install ## mypy (strict)
	$(BIN)/mypy

bench: install ## benchmark the whole pipeline against the raw consume rate (last line is the result)
	bash deploy/bench.sh

generate: install ## regenerate docs/asyncapi.yaml and deploy/k8s/base/generated/ (tests compare them)
	$(BIN)/python -m streams.asyncapi
	$(BIN)/python -m cli.manifests

bench-api: install ## GET /api/v1/alerts p50/p99 over 1,000,000 stored alerts (Redis db 12)
	$(BIN)/riskwire bench-api

clean: ## remove build output (keeps .venv and the Kafka jars)
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
