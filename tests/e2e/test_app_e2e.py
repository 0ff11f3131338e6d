"""The desktop app with the real SmolLM2 model: type a question, press Enter, read Paris."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_typing_a_question_streams_an_answer_naming_paris(qtbot, smollm2_path, tmp_path):
    from PySide6.QtCore import QSettings, Qt

    from playground.app import create_window

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = create_window(settings=settings, load_default=False)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.modelReady, timeout=60000):
        window.load_model(str(smollm2_path))
    window.sampling.set_value("temperature", 0.0)
    tokens = []
    window.session.token_applied.connect(lambda reply, ev: tokens.append(ev))
    window.input.setFocus()
    qtbot.keyClicks(window.input, "What is the capital of France?")
    with qtbot.waitSignal(window.replyFinished, timeout=60000) as blocker:
        qtbot.keyClick(window.input, Qt.Key.Key_Return)
    reply = blocker.args[0]
    assert "Paris" in reply.text
    assert len(tokens) > 3  # it streamed
    assert "tok/s" in window.chat.widgets[reply.id].stats.text()
    window.close()
    assert window.engine.thread.isFinished()
