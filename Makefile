# Eduka Mail — the two commands: `make run` and `make test`.
# Everything is installed into .venv with a Python 3.12+ found by scripts/find-python.

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
MANAGE := $(PY) manage.py

.DEFAULT_GOAL := help
.PHONY: help run test setup lint messages check-deploy clean

help:
	@echo "make run    set up and serve the application with demo data (http://127.0.0.1:8000)"
	@echo "make test   set up and run the whole test suite"
	@echo "make lint   ruff"

$(PY):
	@interpreter=$$(scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$interpreter"; \
	"$$interpreter" -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# axe-core, which the browser tests inject to check every page's accessibility, comes from the
# npm registry (package-lock.json); without npm those checks are skipped (required in CI).
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent; \
	else echo "npm not found: the accessibility checks will be skipped (apt-get install npm)"; fi

# Compiled catalogues are build products: made from the .po files at every set-up.
messages: $(STAMP)
	$(BIN)/pybabel compile -d locale -D django --statistics 2>&1 | grep -v '^$$' || true
	$(BIN)/pybabel compile -d locale -D djangojs 2>&1 | grep -v "^$$" || true

setup: $(STAMP) messages $(AXE)

run: setup
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo
	@echo
	@echo "  Eduka Mail: http://127.0.0.1:$${EDUKA_PORT:-8000}/   caught mail: http://127.0.0.1:$${EDUKA_PORT:-8000}/dev/mail/"
	@echo "  Stop everything with Ctrl-C."
	@echo
	$(BIN)/honcho -f Procfile.dev start

test: setup
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

check-deploy: setup
	DJANGO_SETTINGS_MODULE=eduka.settings.production \
	SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	FIELD_ENCRYPTION_KEYS="$$($(PY) -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
	ALLOWED_HOSTS=eduka.example.org $(MANAGE) check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) var staticfiles test-artifacts node_modules

# Sending benchmark (prints figures, asserts nothing): `make bench`, or `make bench N=20000`,
# in a throw-away SQLite database and broker folder (bench/run.py). `make bench STACK=prod`
# runs it on PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL; a throw-away database) with
# 4 workers x 4 connections (WORKERS=, CONNECTIONS=), N = 100,000 by default (bench/prod.py).
# The embedded run ends with the submission server's figure: messages accepted per second
# from 4 clients (bench/submission.py).
STACK ?= embedded
.PHONY: bench
bench: setup
ifeq ($(STACK),prod)
	$(PY) bench/prod.py --n $(or $(N),100000) $(if $(WORKERS),--workers $(WORKERS)) \
		$(if $(CONNECTIONS),--connections $(CONNECTIONS))
else
	$(PY) bench/run.py --n $(or $(N),2000)
	$(PY) bench/submission.py
endif
