# Strigil: `make run` sets up and serves the app; `make test` sets up and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSETS := src/strigil/web/static/vendor/htmx.min.js
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/strigil_test

.PHONY: install run test test-sqlite test-postgres test-deps lint bench fuzz lock clean messages

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(ASSETS): node_modules/.package-lock.json
	mkdir -p $(dir $(ASSETS))
	cp node_modules/htmx.org/dist/htmx.min.js $(ASSETS)

install: $(STAMP) $(ASSETS)

run: install
	$(BIN)/strigil db upgrade
	$(BIN)/strigil demo load --if-empty
	$(BIN)/strigil serve --host 127.0.0.1 --port 8000

# Debian's Chromium drives the browser tests; R's metafor re-checks the evidence engine live;
# poppler-utils' pdftoppm renders the PDFs the tests look at.
test-deps: install
	@if [ ! -x /usr/bin/chromium ] || ! command -v Rscript >/dev/null \
	    || ! command -v pdftoppm >/dev/null \
	    || ! Rscript -e 'library(metafor)' >/dev/null 2>&1; then \
	  apt-get update -qq && apt-get install -y -qq chromium r-cran-metafor poppler-utils \
	    >/dev/null; fi

test: test-deps test-sqlite test-postgres

test-sqlite: install
	$(BIN)/pytest -q -p no:cacheprovider

test-postgres: install
	STRIGIL_TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest -q -p no:cacheprovider -m "not browser" \
	  tests/store tests/services tests/demo tests/web tests/cli tests/security tests/fault \
	  tests/documents tests/sensors

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# Patient-facing strings: extract them from the code and templates (babel.cfg) and merge the
# new ones into each language's .po for a translator. Catalogs are compiled in memory at run
# time (strigil.core.i18n), so no .mo file is generated or kept.
LOCALES := src/strigil/locale
messages: install
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --project=Strigil \
	  --msgid-bugs-address='the Strigil issue tracker' -o $(VENV)/messages.pot .
	$(BIN)/pybabel update -i $(VENV)/messages.pot -d $(LOCALES) --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -i $(LOCALES)/es/LC_MESSAGES/messages.po -o /dev/null --statistics

bench: install
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

# The schemathesis campaign (not part of `make test`): at least FUZZ_CASES generated requests
# against every API operation, on SQLite and then on a scratch copy of PG_URL's database.
FUZZ_CASES ?= 10000
fuzz: install
	STRIGIL_FUZZ_CASES=$(FUZZ_CASES) $(BIN)/pytest -q -p no:cacheprovider \
	  tests/fuzz/test_openapi_fuzz.py
	STRIGIL_FUZZ_CASES=$(FUZZ_CASES) STRIGIL_FUZZ_DATABASE_URL=$(PG_URL) \
	  $(BIN)/pytest -q -p no:cacheprovider tests/fuzz/test_openapi_fuzz.py

# Refresh the pinned versions after changing pyproject.toml dependencies.
lock:
	@tmp=$$(mktemp -d) && $(PYTHON) -m venv $$tmp && $$tmp/bin/pip install -q '.[dev]' \
	  && $$tmp/bin/pip freeze --exclude-editable | grep -v '^strigil' > constraints.txt \
	  && rm -rf $$tmp

clean:
	rm -rf $(VENV) node_modules $(dir $(ASSETS)) .pytest_cache
