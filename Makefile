# The two commands the README promises, plus a few for maintainers.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export FLASK_APP := fundraiser

.PHONY: run test bench lint compile-translations translations messages clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# Compiled .mo files are build output; run and test make them.
compile-translations: $(STAMP)
	$(PY) -m babel.messages.frontend -q compile -d fundraiser/translations

## make run: SQLite + demo data + localstripe + the app, until Ctrl-C.
run: compile-translations
	$(PY) scripts/dev.py

## make test: the whole suite (unit, integration, functional, e2e), spread
## over TEST_WORKERS processes (pytest-xdist; each has its own PostgreSQL and
## Redis databases). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 3
test: compile-translations
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

## make bench: load figures beside same-run baselines (needs wrk and PostgreSQL).
bench: compile-translations
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) bench/run.py $(BENCH_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check fundraiser tests scripts config.py

## make translations (alias: messages): re-extract strings from code and
## templates, merge them into every .po (the only place translations live),
## compile. New strings arrive empty: translate them in the .po (Poedit,
## Weblate, or by hand); tests/unit/test_catalogue.py fails until you do.
translations messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location \
	  --sort-output --ignore-dirs=.venv --ignore-dirs=tests \
	  -o fundraiser/translations/messages.pot .
	$(VENV)/bin/pybabel update -i fundraiser/translations/messages.pot \
	  -d fundraiser/translations --no-fuzzy-matching --width=100
	$(PY) -m babel.messages.frontend -q compile -d fundraiser/translations

clean:
	rm -rf $(VENV) instance/*.sqlite*
