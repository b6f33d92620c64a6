# Caption Lab: `make run` starts the app on the demo data, `make test` runs every test.
# Both create .venv, install what they need and build the demo dataset (and the Lesson page's
# two small trained models) when they are missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The app's port: PORT if given, else $STREAMLIT_SERVER_PORT, else 8501.
PORT   ?=

.PHONY: run test setup setup-dev demo-data translations compile-translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-app: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed-app
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed-app
	@$(MAKE) -s compile-translations
	@$(BIN)/python -m core.fast

# The app's languages (explorer/i18n.py): `translations` re-reads the code for its sentences
# with Babel, updates every catalogue, lists what is left to translate in
# locale/*/LC_MESSAGES/*.po and compiles them; `compile-translations` (part of setup) writes
# the .mo files the app reads.
translations: $(VENV)/.installed-app
	$(BIN)/python tools/i18n_catalogues.py

compile-translations: $(VENV)/.installed-app
	$(BIN)/pybabel -q compile -d locale -D caption_lab

setup-dev: $(VENV)/.installed-dev

demo-data: setup
	$(BIN)/python -m core.data demo
	$(BIN)/python -m explorer.lessons.models

run: demo-data
	@port="$(PORT)"; [ -n "$$port" ] || port="$${STREAMLIT_SERVER_PORT:-8501}"; \
	echo "Caption Lab on http://localhost:$$port"; \
	exec $(BIN)/python -m explorer.serve --server.port "$$port"

test: setup-dev demo-data
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
