# One virtualenv (.venv) for the pipeline; every target that needs it creates or
# updates it first. The stack's jars come from Maven Central into ~/.cache/streamproc.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export ECOM_STATE_DIR ?= $(CURDIR)/state
export ECOM_DATA_DIR ?= $(CURDIR)/data
PYTEST_ARGS ?=

.PHONY: help venv sysdeps browser fetch up down status reset init demo worker dashboard bench test unit lint reliability clean

help:
	@echo "make demo   - set up everything and run the pipeline end to end"
	@echo "make test   - set up everything and run the whole test suite"
	@echo "make up | down | status | reset | init | lint | unit | dashboard | bench | reliability"
	@echo "make airflow (UI on 127.0.0.1:8080) | make dag-test DATE=YYYY-MM-DD"

# Java 17 and Maven are needed to fetch and run the stack; install them when missing.
sysdeps:
	@command -v java >/dev/null && command -v mvn >/dev/null || { \
	  echo "installing openjdk-17 and maven"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless maven; }

# Chromium and its driver for the dashboard's browser tests; installed when missing.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  echo "installing chromium and chromium-driver"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

$(BIN)/.installed: pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[batch,dashboard,dev,rocksdb]'
	@touch $@

venv: $(BIN)/.installed

fetch: venv sysdeps
	$(BIN)/streamproc stack fetch

up: venv sysdeps
	$(BIN)/streamproc stack up

down: venv
	$(BIN)/streamproc stack down

status: venv
	$(BIN)/streamproc stack status

reset: venv
	$(BIN)/streamproc stack reset --yes

init: up
	$(BIN)/streamproc init

# Stack, topics and tables, a stream-processor worker, and a producer streaming
# generated orders, and the dashboard; prints the URLs. Ctrl-C stops all three.
DEMO_ARGS ?=
demo: init
	$(BIN)/streamproc demo $(DEMO_ARGS)

worker: init
	$(BIN)/streamproc worker

dashboard: venv
	$(BIN)/streamproc dashboard

# Every benchmark in bench/; writes BENCHMARKS.md and BENCHMARKS.json (BENCH_ARGS=--quick).
BENCH_ARGS ?=
bench: init
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

lint: venv
	$(BIN)/ruff check .

unit: venv
	$(BIN)/pytest -m "not integration and not slow" $(PYTEST_ARGS)

# Starts the stack, runs every test, and stops the stack even when tests fail.
test: venv sysdeps browser airflow-venv
	@rc=0; \
	$(BIN)/streamproc stack up || rc=$$?; \
	if [ $$rc -eq 0 ]; then $(BIN)/pytest $(PYTEST_ARGS) || rc=$$?; fi; \
	$(BIN)/streamproc stack down || true; \
	exit $$rc

# The fault, bad-input and security tests (also in `make test`); writes RELIABILITY.md
# from the figures they record. Skip the slow ones in `make test`: PYTEST_ARGS='-m "not slow"'.
reliability: venv sysdeps
	@rc=0; \
	$(BIN)/python -m tests.reliability.report --clear; \
	$(BIN)/streamproc stack up || rc=$$?; \
	if [ $$rc -eq 0 ]; then $(BIN)/pytest tests/reliability $(PYTEST_ARGS) || rc=$$?; fi; \
	$(BIN)/streamproc stack down || true; \
	$(BIN)/python -m tests.reliability.report || rc=$$?; \
	exit $$rc

clean: down
	rm -rf $(VENV) $(AIRFLOW_VENV) state data .pytest_cache .ruff_cache

include airflow/airflow.mk
