# finops: `make run` starts everything, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.13 || command -v python3.12 || command -v python3.11 || echo python3)
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: install run test bench lint screenshots clean-state

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "finops needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	@touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m finops.launcher

test: install
	$(PY) -m finops.embedded -- $(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) -m finops.embedded -- $(PY) -m bench $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .

clean-state:
	rm -rf .finops
