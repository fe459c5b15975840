# The RIS. `make run` starts everything on SQLite; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast bench migrate clean schema screenshots

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

test: install
	@command -v findscu >/dev/null || { echo "findscu not found: install Debian's dcmtk (apt-get install dcmtk)"; exit 1; }
	TCP_NODELAY=1 $(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow"

bench: install
	@command -v findscu >/dev/null || { echo "findscu not found: install Debian's dcmtk (apt-get install dcmtk)"; exit 1; }
	TCP_NODELAY=1 $(PY) bench/run.py
	$(PY) bench/hl7_intake.py --messages $${BENCH_MESSAGES:-1000}
	TCP_NODELAY=1 $(PY) bench/mixed.py

schema: install  # regenerate the committed OpenAPI schema after changing the API
	$(PY) manage.py spectacular --file docs/openapi.yaml --validate

screenshots: install  # refresh the README's screenshots (needs /usr/bin/chromium)
	RIS_SCREENSHOTS=docs/images $(PY) -m pytest -q tests/browser/test_screenshots.py

clean:
	rm -rf $(VENV) var .pytest_cache
