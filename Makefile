PYTHON ?= python3
VENV := .venv
# The console's browser tests drive Debian's chromium; CJK fonts make its screenshots legible.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := $(VENV)/bin
# One xdist worker per core (a third worker on two cores made the run slower: 21 min against 19.5,
# and again on 2026-11-21: 15.5 min against 14.5).
PYTEST_WORKERS ?= auto
STAMP := $(VENV)/.installed

.PHONY: run test install lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Byte-compiled at install (pip's default), not on import: the machines set
# PYTHONDONTWRITEBYTECODE=1, so without it every process would compile every module again
# (--no-compile made the CI run 2 minutes slower on 2026-11-22).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

$(CHROMIUM):
	@echo "installing Debian's chromium for the console's browser tests (needs apt-get)"
	$(SUDO) apt-get update
	$(SUDO) apt-get install -y chromium fonts-wqy-microhei

run: install
	$(BIN)/spotcheck migrate
	$(BIN)/spotcheck demo --if-empty
	$(BIN)/spotcheck serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/lint-imports

test: install lint $(CHROMIUM)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
