# finops: `make run` starts everything, `make test` runs the whole suite.
# The first interpreter that really runs and is 3.11+ (pyenv shims may exist for versions not installed).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
ifeq ($(strip $(PYTHON)),)
$(error finops needs Python 3.11 or newer on PATH as python3, python3.11, python3.12 or python3.13)
endif
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
