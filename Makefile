# Two commands from a fresh clone: `make run` (the chat on http://127.0.0.1:7860) and `make test`.
# Both create .venv and install what they need; a second install with an unchanged
# pyproject.toml does nothing.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# A CPU build of PyTorch, installed before the project so that no resolver pulls a CUDA build.
TORCH  := torch==2.13.0

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run serve index test test-fast eval bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

index: install
	$(BIN)/baclofen-qa index

run: install
	$(BIN)/baclofen-qa index
	$(BIN)/baclofen-qa serve

# Every test tier: fast unit tests, then the real model, the Gradio server and the browser.
test: install
	$(BIN)/pytest -m "" -q

test-fast: install
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) index/CURRENT index/build-* index/.tmp-build-* .pytest_cache
