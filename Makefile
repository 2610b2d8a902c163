# Two commands from a fresh clone: `make run` (the chat on http://127.0.0.1:7860) and `make test`.
# Both create .venv and install exactly what the lock files list (versions and sha256 hashes); a second
# install with unchanged pyproject.toml and locks does nothing.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
# The locks (`make lock` writes them from pyproject.toml; tests/test_release.py fails when they disagree).
# torch alone, the CPU build, installed first and without its dependencies: they are in the other locks,
# and a resolver left to find torch itself may pull a multi-GB CUDA build.
TORCH_LOCK := requirements-torch.lock
RUN_LOCK   := requirements.lock
TEST_LOCK  := requirements-test.lock
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# Every file pip installs must match a hash in the lock; a lock that misses a dependency fails here.
PIP_LOCKED := $(PY) -m pip install --quiet --require-hashes
# The resolver `make lock` uses, in its own venv so that .venv holds exactly the locks.
LOCK_VENV  := .venv-lock
UV         := uv==0.13.9

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install install-run readme lock lock-upgrade lock-check dist run serve index lint test test-fast eval eval-blind eval-noise eval-emergencies eval-emergencies-blind eval-emergencies-lobo triage-model safety-sheet bench bench-encoder bench-scale clean

install: $(TEST_STAMP)
install-run: $(RUN_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# The project itself last, without dependencies and with the locked setuptools (no build isolation:
# nothing fetched that the lock does not list).
$(RUN_STAMP): pyproject.toml $(TORCH_LOCK) $(RUN_LOCK) | $(PY)
	$(PYTHON) scripts/lock.py --check --digest-only
	$(PIP_LOCKED) --no-deps -r $(TORCH_LOCK)
	$(PIP_LOCKED) -r $(RUN_LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

$(TEST_STAMP): pyproject.toml $(TORCH_LOCK) $(TEST_LOCK) | $(PY)
	$(PYTHON) scripts/lock.py --check --digest-only
	$(PIP_LOCKED) --no-deps -r $(TORCH_LOCK)
	$(PIP_LOCKED) -r $(TEST_LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

# Re-resolve pyproject.toml into the three locks, keeping the locked versions its ranges still allow
# (`make lock-upgrade`: the newest versions instead); then `make install` and `make test` before committing.
lock: | $(LOCK_VENV)/bin/uv
	$(LOCK_VENV)/bin/python scripts/lock.py --uv $(LOCK_VENV)/bin/uv

lock-upgrade: | $(LOCK_VENV)/bin/uv
	$(LOCK_VENV)/bin/python scripts/lock.py --uv $(LOCK_VENV)/bin/uv --upgrade

$(LOCK_VENV)/bin/uv:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet $(UV) packaging==26.4

# The locks match pyproject.toml, and .venv holds exactly the locked versions (`make test` runs it first).
lock-check: install
	$(PY) scripts/lock.py --check --installed

# The wheel and sdist in dist/, built from the tracked files with the commit recorded in them.
dist: install
	rm -rf dist
	$(PY) scripts/build_dist.py --outdir dist

index: install-run
	$(BIN)/baclofen-qa index

run: install-run
	$(BIN)/baclofen-qa index
	$(BIN)/baclofen-qa serve

# The answer-engine targets, checked on the gold question set by `make test` (a regression gate).
GATE := --fail-under hit@1=0.85 --fail-under hit@3=0.95 --fail-under wrong_abstain=0.05 \
        --fail-under abstain=0.90 --fail-under emergency_recall=1.0 --fail-under false_alarm=0.02 \
        --fail-under verbatim=1.0 --fail-under top_passage_chars=450

# The leaflet corpus (tests/data/leaflets: official leaflets and labels for three medicines beside the
# article): a regression gate on its tuning half, kept a little below today's figures (see README).
LEAFLETS := --corpus tests/data/leaflets --index-dir .eval-index/leaflets
LEAFLET_GATE := --fail-under hit@1=0.78 --fail-under hit@3=0.85 --fail-under wrong_abstain=0.10 \
        --fail-under abstain=0.85 --fail-under emergency_recall=1.0 --fail-under false_alarm=0.02 \
        --fail-under wrong_medicine=0.0 --fail-under verbatim=1.0

# Lint, format and types, with the versions the test lock pins (settings: pyproject.toml, [tool.ruff] and
# [tool.mypy]). Formatting is checked, not applied; `.venv/bin/ruff format $(LINTED)` applies it.
LINTED := assistant ui tests scripts
lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy assistant ui

# Every test tier, after lint: fast unit tests, then the real model, the Gradio server and the browser,
# then the gold question set and the leaflet tuning half against their targets.
test: install lint
	$(PY) scripts/lock.py --check --installed
	$(BIN)/pytest -m "" -q
	$(PY) scripts/emergency_bank.py tests/data/emergency-tune.jsonl --fail-under recall=0.98 --fail-under false_alarms=0.02
	$(PY) scripts/emergency_bank.py tests/data/emergency-tune2.jsonl --fail-under recall=0.98 --fail-under false_alarms=0.02
	$(BIN)/baclofen-qa eval tests/data/gold.jsonl --out eval-out $(GATE)
	$(BIN)/baclofen-qa eval tests/data/leaflets-tune.jsonl $(LEAFLETS) --out eval-out/leaflets-tune $(LEAFLET_GATE)

# Batch evaluation on both corpora, each compared with the pipeline most people would build.
# Tuning material only: the gold set, and the tuning halves of the fresh article and leaflet sets.
eval: install
	$(BIN)/baclofen-qa eval tests/data/gold.jsonl --out eval-out --compare default,dense,bm25,naive $(GATE)
	$(BIN)/baclofen-qa eval tests/data/article-fresh-tune.jsonl --out eval-out/article-fresh-tune --compare default,naive
	$(BIN)/baclofen-qa eval tests/data/leaflets-tune.jsonl $(LEAFLETS) --out eval-out/leaflets-tune \
	    --compare default,naive $(LEAFLET_GATE)

# The blind halves: written before the code they test and never tuned on. Run them to report, not
# to tune: every look at their failures makes them less blind.
eval-blind: install
	$(BIN)/baclofen-qa eval tests/data/article-fresh-blind.jsonl --out eval-out/article-fresh-blind --compare default,naive
	$(BIN)/baclofen-qa eval tests/data/leaflets-blind.jsonl $(LEAFLETS) --out eval-out/leaflets-blind --compare default,naive

# The seed article among 200 unrelated documents (package descriptions and module docstrings of this
# environment): the article's targets must still hold and nothing may be quoted from the others.
# Builds a 7,000-chunk index: about 3 minutes on 2 cores.
eval-noise: install
	rm -rf .eval-index/noise-corpus
	$(BIN)/python scripts/make_noise_corpus.py .eval-index/noise-corpus 200
	$(BIN)/baclofen-qa eval tests/data/gold.jsonl --corpus .eval-index/noise-corpus --index-dir .eval-index/noise \
	    --out eval-out/noise $(GATE)

# Speed and memory figures (warm latency p50/p95 against the targets, start-up, build, RSS), on the
# seed article and on the leaflet corpus; then the web API under load (a real server: 200 clients at
# once with no error, p95 printed; 2,000 requests in a row with the server's memory growing under 5%).
bench: install
	$(BIN)/baclofen-qa bench --out bench.json
	$(BIN)/baclofen-qa bench --corpus tests/data/leaflets --questions tests/data/leaflets-tune.jsonl --out bench-leaflets.json
	$(BIN)/python scripts/bench_load.py

# The encoder backends on this machine (PyTorch, ONNX Runtime fp32 and int8, OpenVINO when installed), one and
# two threads: per-question latency, batch throughput, agreement with PyTorch's vectors. About 10 minutes.
bench-encoder: install
	$(BIN)/python scripts/bench_encoder.py --out eval-out/bench-encoder.json

bench-scale: install
	$(BIN)/baclofen-qa bench --scale --out bench-scale.json

test-fast: install
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) $(LOCK_VENV) dist build index/CURRENT index/build-* index/.tmp-build-* .pytest_cache .mypy_cache .ruff_cache .eval-index

# The README's command usage blocks, rewritten from the real `--help` of each command (standard library only;
# tests/test_readme_usage.py fails when they differ: `python scripts/readme_usage.py --check` shows the diff).
readme: | $(PY)
	$(PY) scripts/readme_usage.py

# The safety review sheet a clinician reads (red flags, rules, escalation, wording, sources), from the
# data the assistant runs on. tests/test_safety_rules.py fails when docs/safety-sheet.md is out of date.
safety-sheet: install
	$(BIN)/baclofen-qa safety-sheet --out docs/safety-sheet.md

# Emergency triage on the emergency question banks (tests/data/emergency-*.jsonl, all of them tuning
# material by now: each blind bank was run once, then joined the triage model's training data).
eval-emergencies: install
	@for bank in tests/data/emergency-*.jsonl; do $(PY) scripts/emergency_bank.py $$bank; done
# A new blind bank, run once at the end of a change to the safety layer and reported as it is:
#   make eval-emergencies-blind BANK=tests/data/emergency-blind9.jsonl
eval-emergencies-blind: install
	$(PY) scripts/emergency_bank.py $(BANK) --show

# Each bank left out of the triage model's training in turn, then scored (flatters the lists, which were
# written with every bank in view; a new blind bank is the honest measure).
eval-emergencies-lobo: install
	$(PY) scripts/triage_lobo.py

# Retrain the triage model (assistant/safety/triage_model.npz) after changing the banks, the examples
# in the safety data, or the embedding model.
triage-model: install
	$(PY) scripts/train_triage_model.py
