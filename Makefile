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

.PHONY: install run serve index test test-fast eval eval-blind eval-noise bench clean

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

# The answer-engine targets, checked on the gold question set by `make test` (a regression gate).
GATE := --fail-under hit@1=0.85 --fail-under hit@3=0.95 --fail-under wrong_abstain=0.05 \
        --fail-under abstain=0.90 --fail-under emergency_recall=1.0 --fail-under false_alarm=0.02 \
        --fail-under verbatim=1.0 --fail-under top_passage_chars=450

# Every test tier: fast unit tests, then the real model, the Gradio server and the browser,
# then the gold question set against the targets.
test: install
	$(BIN)/pytest -m "" -q
	$(BIN)/baclofen-qa eval tests/data/gold.jsonl --out eval-out $(GATE)

# Batch evaluation with the comparison against the pipeline most people would build.
eval: install
	$(BIN)/baclofen-qa eval tests/data/gold.jsonl --out eval-out --compare default,dense,bm25,naive $(GATE)

# Speed and memory figures (warm latency p50/p95 against the targets, start-up, build, RSS).
bench: install
	$(BIN)/python scripts/benchmark.py

test-fast: install
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) index/CURRENT index/build-* index/.tmp-build-* .pytest_cache .eval-index
