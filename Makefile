# kefu-assist — `make run` starts the product, `make test` runs the tests. Both set up first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := help
.PHONY: help setup migrate train run test test-scale validate evaluate bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

setup: ## find Python 3.10, create .venv, install pinned requirements, migrate the store (idempotent)
	@PYTHON="$(PYTHON)" VENV="$(VENV)" scripts/setup_venv.sh
	@$(PY) -m console migrate

migrate: ## bring the suggestion store (KEFU_STORE_URL, default .kefu/) to this version's schema
	@$(PY) -m console migrate

train: setup ## train the Rasa model unless one for the current data and config exists
	@$(PY) -m kefu_rasa.dev.model_cache

run: setup train ## start Rasa, the action server and the console on 127.0.0.1, restart what dies; Ctrl-C stops all
	@$(PY) -m kefu_rasa.dev.run --stop-with-parent

test: setup ## run the whole test suite (trains the shared model once if needed)
	@scripts/install_browser.sh
	@scripts/install_services.sh
	@$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-scale: setup ## scale-out proof: 2 of everything on PostgreSQL + Redis, 200 × 10 messages, each fault (long; PYTEST_ARGS='--scale-load 30x6': 5–12 min)
	@scripts/install_services.sh
	@$(PY) -m pytest -q -p no:cacheprovider -m scale tests/scale $(PYTEST_ARGS)

validate: setup ## check training data (file:line), domain, rules, dictionary, templates and policy
	@$(PY) -m assist lint
	@$(PY) -m kefu_rasa.dev.validate  # Rasa's own validator (rasa data validate) runs inside, quietly

FOLDS ?= 0
evaluate: setup ## NLU, test stories, drafts and agents' decisions → reports/index.html (FOLDS=5 adds cross-validation)
	@$(PY) -m kefu_rasa.dev.report --folds $(FOLDS)

bench: setup train ## print the benchmark tables (see bench/RESULTS.md)
	@$(PY) bench/nlu.py
	@$(PY) bench/drafts.py
	@$(PY) bench/coverage.py
	@$(PY) bench/learning.py
	@$(PY) bench/replay.py
	@$(PY) bench/faults.py

clean: ## remove trained models, reports and local databases (keeps .venv)
	rm -rf models .rasa reports results .kefu .pytest_cache .hypothesis
