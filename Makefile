# The RIS. `make run` starts everything on SQLite; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint format peers bench-peers bench migrate clean schema screenshots messages

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py ensure_admin
	$(PY) manage.py serve

# The peers the tests talk to that we did not write: dcmtk's findscu and
# storescu, Debian's chromium. Installed with apt-get when missing and allowed.
PEERS_MISSING = $(strip $(if $(shell command -v findscu),,dcmtk) $(if $(wildcard /usr/bin/chromium),,chromium))
# The benchmark's third worklist server: Debian's Orthanc with its ModalityWorklists plugin (optional).
BENCH_PEERS_MISSING = $(strip $(if $(wildcard /usr/share/orthanc/plugins/libModalityWorklists.so),,orthanc))

peers:
	@if [ -n "$(PEERS_MISSING)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing the test peers: $(PEERS_MISSING)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PEERS_MISSING) >/dev/null; \
	  else \
	    echo "the tests need Debian's $(PEERS_MISSING); run: sudo apt-get install $(PEERS_MISSING)"; exit 1; \
	  fi; \
	fi

test: install peers
	TCP_NODELAY=1 $(PY) -m pytest

lint: install  # ruff (lint and format check), mypy, the import contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test-fast: install
	$(PY) -m pytest -m "not slow"

bench-peers:
	@if [ -n "$(BENCH_PEERS_MISSING)" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing the benchmark's peers: $(BENCH_PEERS_MISSING)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BENCH_PEERS_MISSING) >/dev/null || true; \
	fi

bench: install peers bench-peers
	TCP_NODELAY=1 $(PY) bench/run.py $${BENCH_SIZES:-100 1000 10000 100000}
	$(PY) bench/hl7_intake.py --messages $${BENCH_MESSAGES:-1000}
	TCP_NODELAY=1 $(PY) bench/mixed.py
	TCP_NODELAY=1 $(PY) bench/dicomweb.py $${BENCH_DICOMWEB_SIZE:-1000}

schema: install  # regenerate the committed OpenAPI schema after changing the API
	$(PY) manage.py spectacular --file docs/openapi.yaml --validate

# After changing a translatable string: collect them into locale/de (needs
# Debian's gettext for xgettext), translate the new entries, compile (Babel,
# pure Python) and commit both files.
MESSAGE_IGNORES = --ignore=.venv --ignore=var --ignore=tests --ignore=docs --ignore=bench --ignore=docker
messages: install
	$(PY) manage.py makemessages -l de --no-location $(MESSAGE_IGNORES)
	$(VENV)/bin/pybabel compile -d locale -D django

screenshots: install  # refresh the README's screenshots (needs /usr/bin/chromium)
	RIS_SCREENSHOTS=docs/images $(PY) -m pytest -q tests/browser/test_screenshots.py tests/browser/test_walk_in.py tests/browser/test_workday_reading_integration_administration.py

clean:
	rm -rf $(VENV) var .pytest_cache
