"""Starting the app: the window comes up first, with the keyboard in the message box, and the
default model's load is queued only once the window has painted."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture
def started(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from playground.app import create_window
    from playground.engine.worker import Engine
    from tests.helpers import fake_loaded_model

    loads = []
    engine = Engine(loader=lambda path, **kw: loads.append(path) or fake_loaded_model())
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = create_window(engine, settings=settings, load_default=True)
    qtbot.addWidget(window)
    yield window, loads
    window.close()


def test_the_message_box_has_the_focus_after_start(started, qtbot):
    window, _ = started
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.focusWidget() is window.input)
    assert window.input.hasFocus() or window.focusWidget() is window.input


def test_the_default_model_loads_after_the_first_paint(started, qtbot):
    window, loads = started
    assert window.load_progress.isHidden()  # nothing queued while the window is being built
    with qtbot.waitSignal(window.modelReady, timeout=10000):
        window.show()
    assert len(loads) == 1


def test_the_first_frame_imports_neither_torch_nor_pyqtgraph_nor_the_gguf_reader(tmp_path):
    """In a fresh interpreter: build and show the window as `playground` does, and list what was
    imported by the time it painted."""
    import subprocess

    code = (
        "import sys\n"
        "import playground.cli\n"
        "from playground import app as a\n"
        "from PySide6.QtWidgets import QApplication\n"
        "qa = QApplication([])\n"
        "w = a.create_window(load_default=False)\n"
        "w.show(); qa.processEvents()\n"
        "print(' '.join(m for m in ('torch', 'pyqtgraph', 'gguf', 'playground.loading.gguf_file') if m in sys.modules))\n"
        "w.close()\n"
    )
    env = {"PLAYGROUND_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"imported before the first frame: {out.stdout}"
