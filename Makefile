# The two commands of the README: `make workshop` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: workshop test install install-test chromium screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[lab,run]"

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[lab,run,test]"

## Set up, build the built-in cohort, execute the six notebooks into build/.
workshop: install
	$(BIN)/rsna-workshop doctor
	$(BIN)/rsna-workshop data build
	$(BIN)/rsna-workshop notebooks run --out build

## Set up with the test extra and run the test suite (the browser test needs Debian's chromium).
test: install-test chromium
	$(BIN)/python -m pytest

## The browser test drives Debian's chromium (never a downloaded browser build): install it with
## apt when it is missing and we may (root); otherwise say how, and the browser test is skipped.
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "No chromium: the browser test will be skipped (Debian: sudo apt-get install -y chromium)"; fi

## Screenshots of every notebook in JupyterLab at 1280x720, light and dark, into docs/screenshots/
## (the browser test runs every notebook and saves them; about 10 minutes).
screenshots: install-test chromium
	RSNA_WORKSHOP_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/test_browser.py

clean:
	rm -rf build
