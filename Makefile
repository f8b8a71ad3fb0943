# Two entry points (see README.md): `make run` and `make test`. Both are idempotent.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: run test install system-deps screenshots clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is installed first and pinned: the local CPU wheel; an unpinned torch pulls CUDA.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[all,test]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests need: a CJK font (OCR test images), Chromium (browser tests), ffmpeg,
# flite (spoken test audio for ASR).
system-deps:
	@bash scripts/system-deps.sh

run: install
	$(BIN)/python run_agent.py

test: install system-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# Refresh docs/screenshots from the browser tests (look at them before committing).
screenshots: install system-deps
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/ui

clean:
	rm -rf $(VENV) data
