# Airflow, in a virtualenv of its own (.venv-airflow) installed from the committed lock:
# Airflow 3.3 and faust-streaming cannot share one (croniter). Included by the Makefile,
# after the definitions of PYTHON, BIN and ECOM_STATE_DIR.
AIRFLOW_VENV := .venv-airflow
AIRFLOW_BIN := $(AIRFLOW_VENV)/bin
AIRFLOW_PORT ?= 8080
DATE ?=
# Airflow's home (airflow.cfg with its generated keys, SQLite db, logs) is state, never
# committed; the DAGs are the repository's.
AIRFLOW_ENV = AIRFLOW_HOME=$(ECOM_STATE_DIR)/airflow \
	AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/airflow/dags \
	AIRFLOW__CORE__LOAD_EXAMPLES=False

.PHONY: airflow-venv airflow dag-test

$(AIRFLOW_VENV)/.installed: airflow/requirements.lock
	@test -x $(AIRFLOW_BIN)/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_BIN)/python -m pip install -q --no-deps -r airflow/requirements.lock
	$(AIRFLOW_BIN)/python -m pip check
	@touch $@

airflow-venv: $(AIRFLOW_VENV)/.installed

# The UI and the scheduler on http://127.0.0.1:$(AIRFLOW_PORT); the admin password is
# printed and kept in $(ECOM_STATE_DIR)/airflow/simple_auth_manager_passwords.json.generated.
airflow: airflow-venv venv
	PATH=$(CURDIR)/$(AIRFLOW_BIN):$$PATH $(AIRFLOW_ENV) \
	AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT=$(AIRFLOW_PORT) \
	AIRFLOW__API__BASE_URL=http://127.0.0.1:$(AIRFLOW_PORT) \
	AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:$(AIRFLOW_PORT)/execution/ \
	$(AIRFLOW_BIN)/airflow standalone

# One run of bda_pipeline for DATE, in this process, without the scheduler.
dag-test: airflow-venv venv
	@[[ "$(DATE)" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$$ ]] || { echo "usage: make dag-test DATE=YYYY-MM-DD"; exit 2; }
	$(AIRFLOW_ENV) $(AIRFLOW_BIN)/airflow db migrate
	$(AIRFLOW_ENV) $(AIRFLOW_BIN)/airflow dags test bda_pipeline $(DATE)
