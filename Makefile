# The two commands of the README:
#   make demo   environment, embedded Label Studio, the whole flow
#   make test   environment and every test, against a real Label Studio and Chromium
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint test-sqlite test-postgres env browser clean bench bench-scale bench-postgres

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[server,test]'
	touch $(STAMP)

env: $(STAMP)

# Debian's Chromium for the browser tests (no browser can be downloaded by Playwright here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-noto-color-emoji; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium fonts-noto-color-emoji; fi; }

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# Every test on SQLite, then the Label Studio tests whose outcome the database decides again
# on a throwaway PostgreSQL server (installed from Debian when missing; tests/conftest.py
# lists them). pytest's exit code 5 (no test collected) is a failure here like any other.
test: lint test-sqlite test-postgres

# Style and types, before any test runs (the rule set is in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/mypy annotate

test-sqlite: $(STAMP) browser
	$(BIN)/python -m pytest

test-postgres: $(STAMP)
	tests/with-postgres.sh $(BIN)/python -m pytest -m "postgresql and label_studio and not browser" -p no:cacheprovider

# The benchmark of the README: N = 10,000 articles, medians of 3 runs, memory at 10,000 and
# 40,000 articles, against a real Label Studio it starts itself; writes bench/results.json
# and prints the table.
bench: $(STAMP)
	$(BIN)/python -m bench.run --n 10000 --runs 3 --memory-n 10000

# The scale run (not part of `make bench`): 50,000 articles with two annotators' annotations
# each, one run, memory at 10,000 and 40,000 articles; writes bench/results-scale.json.
bench-scale: $(STAMP)
	$(BIN)/python -m bench.run --n 50000 --runs 1 --memory-n 10000 --out bench/results-scale.json

# The benchmark once on Label Studio over PostgreSQL (a throwaway server on 127.0.0.1, made and
# removed by tests/with-postgres.sh): N = 10,000, one run; writes bench/results-postgres.json.
bench-postgres: $(STAMP)
	$(BIN)/python -m bench.run --n 10000 --runs 1 --memory-n 2500 --database postgresql --out bench/results-postgres.json

clean:
	rm -rf $(VENV) .annotate test-output
