# The two commands of the README: `make workshop` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: workshop test install install-test clean

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

## Set up with the test extra and run the test suite.
test: install-test
	$(BIN)/python -m pytest

clean:
	rm -rf build
