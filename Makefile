# policytrack: everything a fresh machine needs is installed from here (Python venvs and Node modules).
# Quick start:  make demo   |   make test

PYTHON ?= python3
VENV := .venv
PYWB_VENV := .venv-pywb
PY := $(VENV)/bin/python
PYWB_VERSION := 2.10.0

.PHONY: install demo test bench clean

install: $(VENV)/.installed $(PYWB_VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

# pywb runs in its own virtual environment: it pins an old redis client that conflicts with
# scrapy-redis. policytrack only ever talks to it over HTTP.
$(PYWB_VENV)/.installed:
	test -x $(PYWB_VENV)/bin/python || $(PYTHON) -m venv $(PYWB_VENV)
	$(PYWB_VENV)/bin/python -m pip install -q --disable-pip-version-check 'pywb==$(PYWB_VERSION)'
	touch $@

# Readability.js and jsdom for the normalizer's extraction step, pinned by package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: install
	$(VENV)/bin/policytrack demo

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/fidelity.py

clean:
	rm -rf $(VENV) $(PYWB_VENV) node_modules .demo
