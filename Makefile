# Caption Lab: `make run` starts the app on the demo data, `make test` runs every test.
# Both create .venv, install what they need and build the demo dataset when it is missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The app's port: PORT if given, else $STREAMLIT_SERVER_PORT, else 8501.
PORT   ?=

.PHONY: run test setup setup-dev demo-data clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-app: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed-app
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed-app

setup-dev: $(VENV)/.installed-dev

demo-data: setup
	$(BIN)/python -m core.data demo

run: demo-data
	@port="$(PORT)"; [ -n "$$port" ] || port="$${STREAMLIT_SERVER_PORT:-8501}"; \
	echo "Caption Lab on http://localhost:$$port"; \
	exec $(BIN)/python -m explorer.serve --server.port "$$port"

test: setup-dev demo-data
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
