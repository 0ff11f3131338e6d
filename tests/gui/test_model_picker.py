"""Choosing a broken model in the picker: the window shows the loader's one-line message (the
same the command line prints) and the previous model stays loaded. Driven through the real
widgets: the toolbar's model button, the picker's "Open file…" button, the engine's real loader."""

from __future__ import annotations

import pytest

from playground.app import build_window
from playground.engine.worker import Engine
from tests.helpers import fake_loaded_model
from tests.hostile_files import ISSUE_17_CLASSES

TEXT = "hello world, this is a tiny corpus"


@pytest.fixture
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    engine = Engine()
    win = build_window(engine, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    yield win
    engine.shutdown()


def _pick_file_through_the_picker(window, qtbot, monkeypatch, path):
    """Click the toolbar's model button; in the picker that opens, click "Open file…" (whose file
    dialog answers `path`)."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QFileDialog, QPushButton

    from playground.ui.model_picker import ModelPicker

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    clicked = []

    def click_open_file():
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, ModelPicker):  # not shown yet: try again on the next turn of its loop
            QTimer.singleShot(10, click_open_file)
            return
        button = next(b for b in dlg.findChildren(QPushButton) if b.text() == "Open file…")
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        clicked.append(dlg)

    QTimer.singleShot(0, click_open_file)
    qtbot.mouseClick(window.model_button, Qt.MouseButton.LeftButton)
    assert clicked


@pytest.mark.parametrize("kind", ["missing-tensor", "kv-heads-disagree"])
def test_a_broken_file_shows_the_one_line_message_and_keeps_the_model(window, qtbot, monkeypatch, tmp_path, kind):
    from PySide6.QtWidgets import QMessageBox

    from playground.loading import ModelLoadError, load_model

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    with qtbot.waitSignal(window.engine.worker.modelLoaded, timeout=5000):
        window.engine.worker.set_model(fake_loaded_model(TEXT))
    bad = ISSUE_17_CLASSES[kind][0](tmp_path)
    with pytest.raises(ModelLoadError) as e:
        load_model(bad, device="cpu", dtype="auto")
    one_line = str(e.value)
    assert "\n" not in one_line

    with qtbot.waitSignal(window.loadFailed, timeout=30000) as failed:
        _pick_file_through_the_picker(window, qtbot, monkeypatch, bad)
    text = failed.args[0]
    assert text == f"{bad}\n\n{one_line}\n\nfake is still loaded."
    assert shown == [text]
    assert window.model.name == "fake" and window.engine.worker.lm.model.config.name == "fake"
    assert "fake" in window.model_button.text()
    with qtbot.waitSignal(window.replyFinished, timeout=10000) as done:  # and it still chats
        window.input.setPlainText("hi")
        window.send()
    assert done.args[0].text == TEXT


def _pick_folder_through_the_picker(window, qtbot, monkeypatch, path, precision: str, inspect=None):
    """Click the model button; in the picker, choose the precision in its combo box and click
    "Open folder…" (whose dialog answers `path`). inspect(dialog) runs on the open picker."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QFileDialog, QPushButton

    from playground.ui.model_picker import ModelPicker

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(path))

    def act():
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, ModelPicker):
            QTimer.singleShot(10, act)
            return
        if inspect:
            inspect(dlg)
        dlg.dtype.setCurrentIndex(dlg.dtype.findText(precision))
        button = next(b for b in dlg.findChildren(QPushButton) if b.text() == "Open folder…")
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, act)
    qtbot.mouseClick(window.model_button, Qt.MouseButton.LeftButton)


def test_the_window_and_picker_say_how_the_weights_are_held(window, qtbot, monkeypatch, tmp_path):
    """A bfloat16 folder loaded "auto" is quantized at load (the status bar and the picker say so,
    with the memory it takes, and the progress bar counts); loaded "exact" it stays bfloat16."""
    from fuzz.seeds import write_folder

    folder = write_folder(tmp_path / "hf", "llama", "BF16")
    progress = []

    def on_progress(percent):  # a function, not progress.append: PySide crashes on builtin-method slots
        progress.append(percent)

    window.engine.worker.modelLoadProgress.connect(on_progress)
    with qtbot.waitSignal(window.modelReady, timeout=30000) as loaded:  # the window has shown it
        _pick_folder_through_the_picker(window, qtbot, monkeypatch, folder, "auto")
    info = loaded.args[0]
    assert info.weights == "Q8_0 blocks, quantized at load from BF16" and info.weights_bytes > 0
    assert progress and progress[-1] == 100
    assert window.load_progress.isHidden()
    # (the status bar says it too, but the mouse over the toolbar may replace its message with a tip)
    assert f"weights Q8_0 blocks, quantized at load from BF16 · {info.weights_bytes / 2**20:.0f} MB" in \
        window.model_button.toolTip()

    shown = []
    with qtbot.waitSignal(window.modelReady, timeout=30000) as loaded:  # the window has shown it
        _pick_folder_through_the_picker(window, qtbot, monkeypatch, folder, "exact",
                                        inspect=lambda dlg: shown.append(dlg.current.text()))
    assert shown == [f"Loaded now: {info.name}: {info.weights_line()}"]
    assert loaded.args[0].weights == "BF16, as stored"
    assert "weights BF16, as stored" in window.model_button.toolTip()


def test_the_picker_lists_a_broken_file_with_the_loaders_message(qtbot):
    """A broken GGUF in the user's models folder: its row says what the load would say."""
    from playground.loading import ModelLoadError, load_model
    from playground.paths import models_dir
    from playground.ui.model_picker import COLUMNS, ModelPicker

    models_dir().mkdir(parents=True, exist_ok=True)
    bad = ISSUE_17_CLASSES["ffn-width-disagrees"][0](models_dir())
    with pytest.raises(ModelLoadError) as e:
        load_model(bad, device="cpu", dtype="auto")
    dlg = ModelPicker()
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.table.rowCount() > 0, timeout=20000)  # filled from the discovery thread
    row = next(r for r in range(dlg.table.rowCount()) if dlg.table.item(r, COLUMNS.index("Path")).text() == str(bad))
    assert dlg.table.item(row, COLUMNS.index("Parameters")).text() == str(e.value)
