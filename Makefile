# Every target creates .venv and installs when needed, so `make test` works on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-pg lint bench bench-spread migrate dev clean mutate messages

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
	$(BIN)/mypy nurture shopify catalog core pipeline inbox contacts journeys webhooks emails jobs bot console
	$(BIN)/lint-imports

# Mutation testing of the security and exactly-once decisions (not part of `make test`; hours on
# 2 cores, so after a change run one function's: make mutate MUTANTS='journeys.commit.x_fields_after*').
# docs/mutation.md says what is mutated and why each survivor cannot change a decision.
MUTANTS := 'webhooks.providers.*.x_verify*' 'webhooks.providers.common.x_check_hmac_base64*' \
	'webhooks.providers.common.x_signature_header*' 'webhooks.providers.email_mailgun.x__signature*' \
	'webhooks.providers.email_mailgun.x_signed_at*' 'webhooks.providers.tracking.x_verified_identities*' \
	'webhooks.providers.tracking.x__proves*' 'webhooks.providers.tracking.x_user_hash*' \
	'webhooks.providers.tracking.x__track*' 'webhooks.providers.tracking.x__profile*' \
	'webhooks.providers.tracking.x__items*' 'webhooks.forms_endpoint.x_check_sender*' \
	'webhooks.forms_endpoint.x__origin*' 'journeys.commit.*' 'journeys.delivery.x_skip_reason*' \
	'emails.tokens.*' 'webhooks.email_links.x__data*' 'webhooks.email_links.x__unsubscribe_target*'

mutate: $(STAMP)
	$(BIN)/python -m pip install --quiet 'mutmut==3.8.1'
	rm -rf mutants
	$(BIN)/mutmut run $(MUTANTS) || true
	$(BIN)/mutmut results | grep -v 'not checked' | tee mutation-results.txt

bench: $(STAMP)
	$(BIN)/python -m bench

# The four throughput rows, three times each next to their peers, with the day's spread, into
# bench/RESULTS.md (about 40 minutes; one `make bench` is one sample).
bench-spread: $(STAMP)
	$(BIN)/python -m bench.spread --runs 3

migrate: $(STAMP)
	$(BIN)/nurture migrate

dev: $(STAMP)
	$(BIN)/nurture migrate
	$(BIN)/nurture dev

clean:
	rm -rf $(VENV) var mutants

# After changing email templates: extract what they mark for translation, update every language's catalog.
messages: $(STAMP)
	$(BIN)/nurture emails messages
