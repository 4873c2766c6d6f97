# Every target creates .venv and installs when needed, so `make test` works on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-pg lint bench migrate dev clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/nurture migrate
	$(BIN)/nurture demo

test: $(STAMP)
	$(BIN)/python -m pytest

# The same suite against the local PostgreSQL and Redis servers.
test-pg: $(STAMP)
	NURTURE_DATABASE_URL=$${NURTURE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
	NURTURE_REDIS_URL=$${NURTURE_REDIS_URL:-redis://127.0.0.1:6379/0} \
	$(BIN)/python -m pytest

# ruff, mypy, and the layer contracts of pyproject.toml ([tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy nurture core pipeline inbox contacts journeys webhooks emails jobs bot
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

migrate: $(STAMP)
	$(BIN)/nurture migrate

dev: $(STAMP)
	$(BIN)/nurture migrate
	$(BIN)/nurture dev

clean:
	rm -rf $(VENV) var
