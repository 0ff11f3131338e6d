"""Live changes stay visible, and the window keeps up: the chat follows a streaming reply unless
the user scrolled up; the sampling panel shows what differs from the chosen preset, with a reset;
a change made mid-reply that carries into the next reply is marked there; status messages expire."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSlider

from playground.app import build_window
from playground.engine.worker import Engine
from tests.helpers import fake_loaded_model

STORY = "\n\n".join(f"Paragraph {i} of a story that goes on and on." for i in range(40))


@pytest.fixture
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    engine = Engine()
    win = build_window(engine, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(900, 500)
    win.show()
    qtbot.waitExposed(win)
    yield win
    fake = getattr(engine.worker.lm, "model", None)
    if hasattr(fake, "stop_all"):
        fake.stop_all()
    engine.shutdown()


def _use(win, qtbot, lm):
    with qtbot.waitSignal(win.modelReady, timeout=5000):
        win.engine.worker.set_model(lm)
    return lm


def _send(win, qtbot, text="tell me a story"):
    win.input.setPlainText(text)
    qtbot.mouseClick(win.send_button, Qt.MouseButton.LeftButton)


def test_the_chat_follows_a_streaming_reply_unless_scrolled_up(window, qtbot):
    lm = _use(window, qtbot, fake_loaded_model(STORY, gated=True, max_seq_len=4096))
    window.sampling.set_value("max_tokens", 4000)
    bar = window.chat.verticalScrollBar()
    _send(window, qtbot)
    lm.model.release(600)  # about 600 characters of the story: more than the view holds
    qtbot.waitUntil(lambda: bar.maximum() > 100, timeout=10000)
    qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=10000)
    grown = bar.maximum()
    lm.model.release(200)
    qtbot.waitUntil(lambda: bar.maximum() > grown + 50, timeout=10000)
    qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=5000)  # it followed
    bar.triggerAction(QAbstractSlider.SliderAction.SliderToMinimum)  # the user scrolls up to read
    top = bar.maximum()
    lm.model.release(200)
    qtbot.waitUntil(lambda: bar.maximum() > top + 50, timeout=10000)
    assert bar.value() == 0  # left where the user is reading
    bar.triggerAction(QAbstractSlider.SliderAction.SliderToMaximum)  # back to the end: following again
    end = bar.maximum()
    with qtbot.waitSignal(window.replyFinished, timeout=10000):
        lm.model.stop_all()
    qtbot.waitUntil(lambda: bar.maximum() > end and bar.value() == bar.maximum(), timeout=5000)


def test_the_sampling_panel_shows_changes_from_the_chosen_preset_and_resets(window, qtbot):
    panel = window.sampling
    index = panel.presets.findText("Precise")
    panel.presets.setCurrentIndex(index)
    panel.presets.activated.emit(index)  # as a user picking it from the list
    assert panel.params().temperature == 0.2 and not panel.reset_btn.isEnabled()
    assert "Precise" in panel.changed.text()
    panel.set_value("temperature", 1.24)
    panel.set_value("top_k", 50)
    text = panel.changed.text()
    assert "Changed from Precise" in text and "Temperature 0.2 → 1.24" in text and "Top-k 20 → 50" in text
    assert panel.form.labelForField(panel._rows["temperature"]).font().bold()
    qtbot.mouseClick(panel.reset_btn, Qt.MouseButton.LeftButton)
    assert panel.params().temperature == 0.2 and panel.params().top_k == 20
    assert "Changed" not in panel.changed.text() and window.engine.live.get().temperature == 0.2


def test_a_change_made_mid_reply_is_marked_once_and_carries_into_the_next_reply_visibly(window, qtbot):
    text = "one two three four five six seven eight nine ten eleven twelve"
    lm = _use(window, qtbot, fake_loaded_model(text, gated=True))
    window.sampling.set_value("temperature", 0.7)
    events = []
    window.session.token_applied.connect(lambda reply, ev: events.append(ev))
    _send(window, qtbot)
    lm.model.release(3)
    qtbot.waitUntil(lambda: len(events) == 3, timeout=5000)
    for t in (0.8, 0.9, 1.0, 1.1, 1.24):  # a drag: five values in quick succession, one token apart
        window.sampling.set_value("temperature", t)
        lm.model.release(1)
        n = len(events)
        qtbot.waitUntil(lambda n=n: len(events) == n + 1, timeout=5000)
    with qtbot.waitSignal(window.replyFinished, timeout=10000) as b:
        lm.model.stop_all()
    first = b.args[0]
    body = window.chat.widgets[first.id].body.text()
    assert body.count("⚙") == 1 and "temperature 0.7 → 1.24" in body  # one mark for the drag
    assert "Temperature 0.7 → 1.24" in window.sampling.changed.text()  # and the panel keeps showing it
    lm.model.open.clear()
    lm2 = lm.model
    lm2.open.set()
    with qtbot.waitSignal(window.replyFinished, timeout=10000) as b:
        _send(window, qtbot, "again")
    second = b.args[0]
    assert "started with temperature 1.24 (the reply before: 0.7)" in window.chat.widgets[second.id].body.text()


def test_status_messages_expire(window, qtbot, monkeypatch):
    from playground.ui import main_window

    monkeypatch.setattr(main_window, "STATUS_SECONDS", 0.2)
    window.statusBar().showMessage("The model could not be loaded.")
    assert window.statusBar().currentMessage() == "The model could not be loaded."
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "", timeout=3000)
