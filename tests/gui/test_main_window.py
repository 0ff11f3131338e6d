"""The desktop window driven by a scripted fake model: exact, fast, no sleeps."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from playground.app import build_window
from playground.engine.worker import Engine
from playground.ui.main_window import MainWindow
from tests.helpers import fake_loaded_model

TEXT = "hello world, this is a tiny corpus"


@pytest.fixture
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    engine = Engine()
    win = build_window(engine, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    yield win
    fake = getattr(engine.worker.lm, "model", None)
    if hasattr(fake, "stop_all"):
        fake.stop_all()
    engine.shutdown()


def _use(window, qtbot, lm):
    with qtbot.waitSignal(window.engine.worker.modelLoaded, timeout=5000):
        window.engine.worker.set_model(lm)  # set from the test thread, signal delivered queued
    return lm


def _ask(window, qtbot, text="hi", wait=True):
    window.input.setPlainText(text)
    if not wait:
        window.send()
        return
    with qtbot.waitSignal(window.replyFinished, timeout=10000) as blocker:
        window.send()
    return blocker.args[0]


def test_reply_streams_token_by_token(window, qtbot):
    lm = _use(window, qtbot, fake_loaded_model(TEXT))
    events = []
    window.session.token_applied.connect(lambda reply, ev: events.append(ev))
    reply = _ask(window, qtbot)
    assert reply is window.conv.last() and reply.record.finish == "eos"
    assert reply.role == "assistant" and reply.text == TEXT
    assert len(events) == len(lm.tokenizer.encode(TEXT)) > 5
    assert window.chat.widgets[reply.id].body.text()  # rendered
    assert "tokens" in window.chat.widgets[reply.id].stats.text()


def test_the_frame_clock_runs_only_while_replies_stream(window, qtbot):
    """Idle, the window has no timer ticking (at 60 ticks a second it cost 1% of a core doing
    nothing); a token starts it; once nothing changes it stops, and the next reply starts it
    again. (The fake model may finish before the first frame: the reply's end shows it then.)"""
    _use(window, qtbot, fake_loaded_model(TEXT))
    timer = window.clock.timer
    assert not timer.isActive()
    for _ in range(2):  # a reply, then another (regenerated)
        started = []

        def seen(reply, ev, started=started):
            started.append(timer.isActive())

        window.session.token_applied.connect(seen)
        reply = _ask(window, qtbot)
        assert started and all(started)  # running from the first token on
        qtbot.waitUntil(lambda: not timer.isActive())  # stopped once nothing more changed
        window.session.token_applied.disconnect(seen)
        assert window.chat.widgets[reply.id].body.text()


def test_a_change_after_a_pause_waits_for_the_rest_of_the_frame(window):
    """A model slower than the frame rate gets one repaint per frame, not one per token: a token
    that comes soon after a frame is shown when that frame's period is over; one after a long
    pause, at once."""
    import time

    clock = window.clock
    clock.period_ms = 150  # what a costly frame allows
    clock._last_frame = time.perf_counter()  # a frame just now
    clock.mark(1)
    assert clock.timer.isActive() and clock.timer.interval() > 100
    clock.timer.stop()
    clock._last_frame = time.perf_counter() - 1.0  # the last frame a second ago
    clock.mark(2)
    assert clock.timer.isActive() and clock.timer.interval() == 0
    clock.timer.stop()
    clock.dirty.clear()


def test_enter_sends_and_shift_enter_adds_a_line(window, qtbot):
    _use(window, qtbot, fake_loaded_model(TEXT))
    window.input.setFocus()
    qtbot.keyClicks(window.input, "line one")
    qtbot.keyClick(window.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(window.input, "line two")
    assert window.input.toPlainText() == "line one\nline two"
    with qtbot.waitSignal(window.replyFinished, timeout=10000):
        qtbot.keyClick(window.input, Qt.Key.Key_Return)
    assert window.conv.path()[0].text == "line one\nline two"


def test_stop_mid_reply_ends_within_one_token_and_keeps_the_partial_reply(window, qtbot):
    lm = _use(window, qtbot, fake_loaded_model(TEXT, gated=True))
    events = []
    window.session.token_applied.connect(lambda reply, ev: events.append(ev))
    _ask(window, qtbot, wait=False)
    lm.model.release(3)  # the prefill and two decode steps: three tokens
    qtbot.waitUntil(lambda: len(events) == 3, timeout=5000)
    assert window.stop_button.isEnabled()
    with qtbot.waitSignal(window.replyFinished, timeout=5000) as blocker:
        window.stop()
        lm.model.release(1)  # let the forward pass in flight return; no further token is made
    assert blocker.args[0].record.finish == "cancelled"
    assert len(events) == 3
    reply = window.conv.last()
    assert reply.text == "".join(e.text for e in events) and reply.text
    assert not window.stop_button.isEnabled() and window.send_button.isEnabled()


def test_temperature_moved_mid_reply_applies_to_the_next_token(window, qtbot):
    lm = _use(window, qtbot, fake_loaded_model(TEXT, gated=True))
    window.sampling.set_value("temperature", 0.0)
    events = []
    window.session.token_applied.connect(lambda reply, ev: events.append(ev))
    _ask(window, qtbot, wait=False)
    lm.model.release(2)
    qtbot.waitUntil(lambda: len(events) == 2, timeout=5000)
    window.sampling.set_value("temperature", 1.25)  # as a user dragging the slider
    with qtbot.waitSignal(window.replyFinished, timeout=5000):
        lm.model.stop_all()
    temps = [e.params.temperature for e in events]
    assert temps[:2] == [0.0, 0.0] and set(temps[2:]) == {1.25}
    reply = window.conv.last()
    assert reply.record.param_changes() == [(2, len(events[0].text + events[1].text), "temperature=1.25")]
    assert "temperature 0 → 1.25" in window.chat.widgets[reply.id].body.text()  # one mark, what changed


def test_regenerate_keeps_both_versions(window, qtbot):
    _use(window, qtbot, fake_loaded_model(TEXT))
    _ask(window, qtbot)
    first = window.conv.last()
    with qtbot.waitSignal(window.replyFinished, timeout=10000):
        qtbot.mouseClick(window.chat.widgets[first.id].action, Qt.MouseButton.LeftButton)  # "Regenerate"
    second = window.conv.last()
    assert second is not first and second.text == TEXT and first.text == TEXT
    assert window.conv.versions(second) == (2, 2)
    assert window.chat.widgets[second.id].version.text() == "2/2"
    qtbot.mouseClick(window.chat.widgets[second.id].prev, Qt.MouseButton.LeftButton)
    assert window.conv.last() is first


def test_edit_and_resend_makes_a_branch(window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    _use(window, qtbot, fake_loaded_model(TEXT))
    _ask(window, qtbot, "first question")
    old_user = window.conv.path()[0]
    monkeypatch.setattr(QInputDialog, "getMultiLineText", lambda *a, **k: ("second question", True))
    with qtbot.waitSignal(window.replyFinished, timeout=10000):
        qtbot.mouseClick(window.chat.widgets[old_user.id].action, Qt.MouseButton.LeftButton)  # "Edit"
    new_user, reply = window.conv.path()
    assert new_user.text == "second question" and reply.text == TEXT
    assert window.conv.versions(new_user) == (2, 2)
    assert old_user.children and old_user.children[0].text == TEXT  # the old branch is kept


def test_load_failure_shows_a_dialog_and_the_previous_model_stays(window, qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    _use(window, qtbot, fake_loaded_model(TEXT))
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 16)
    with qtbot.waitSignal(window.loadFailed, timeout=10000):
        window.load_model(str(bad))
    assert shown and "broken.gguf" in shown[0] and "fake is still loaded" in shown[0]
    assert window.model.name == "fake"
    assert _ask(window, qtbot).record.finish == "eos"


def test_closing_mid_reply_exits_cleanly(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    engine = Engine()
    win = build_window(engine, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    _use(win, qtbot, fake_loaded_model(TEXT * 200))
    events = []
    win.session.token_applied.connect(lambda reply, ev: events.append(ev))
    _ask(win, qtbot, wait=False)
    qtbot.waitUntil(lambda: len(events) >= 1, timeout=5000)
    win.close()
    assert engine.thread.isFinished()


def test_sampling_presets_save_and_apply(window, qtbot):
    window.sampling.set_value("top_k", 7)
    window.sampling.save_preset("mine")
    window.sampling.set_value("top_k", 40)
    idx = window.sampling.presets.findText("★ mine")
    assert idx > 0
    window.sampling._on_preset_chosen(idx)
    assert window.sampling.params().top_k == 7
    assert window.engine.live.get().top_k == 7


def test_a_window_that_fails_to_build_stops_its_worker_threads(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    engine = Engine()
    monkeypatch.setattr(MainWindow, "_build", lambda self: (_ for _ in ()).throw(ImportError("no pyqtgraph")))
    with pytest.raises(ImportError):
        build_window(engine, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert engine.thread.isFinished()  # so no "QThread destroyed while running" abort later


MARKDOWN = "Here:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1\n```\n\n> done"


def test_a_markdown_reply_streams_into_a_settled_part_and_a_tail(window, qtbot):
    lm = _use(window, qtbot, fake_loaded_model(MARKDOWN, gated=True))
    events = []
    window.session.token_applied.connect(lambda reply, ev: events.append(ev))
    _ask(window, qtbot, wait=False)
    reply = window.conv.last()
    widget = window.chat.widgets[reply.id]
    lm.model.release(len(lm.tokenizer.encode("Here:\n\n| a | b |\n|---|---|\n| 1 |")))
    qtbot.waitUntil(lambda: "| 1 |" in reply.text and "<td>1" in widget.tail.text(), timeout=5000)
    assert "Here:" in widget.body.text() and "<table" not in widget.body.text()  # the table is still growing
    with qtbot.waitSignal(window.replyFinished, timeout=5000):
        lm.model.stop_all()
    body = widget.body.text()
    assert "<table" in body and "<blockquote>" in body and "<pre" in body and widget.tail.isHidden()
