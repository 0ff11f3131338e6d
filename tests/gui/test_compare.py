"""The A/B window over the engine worker: opened from a reply and from the toolbar, sides streamed
together on the worker's one model, the first differing token marked, and Stop."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt

from playground.app import build_window
from playground.engine.worker import Engine
from playground.loading import load_model
from playground.paths import resources_dir
from tests.helpers import fake_loaded_model


@pytest.fixture
def window(qtbot, tmp_path):
    engine = Engine()
    win = build_window(engine, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    yield win
    engine.shutdown()


def _teaching(win, qtbot):
    lm = load_model(resources_dir() / "checkpoints" / "shakespeare-qa", device="cpu")
    lm.tokenizer.eos_ids = []  # sides run to their token limit
    with qtbot.waitSignal(win.modelReady, timeout=10000):
        win.engine.worker.set_model(lm)
    return lm


def _set(editor, temperature, seed=7, max_tokens=24, top_k=0):
    editor.temperature.setValue(temperature)
    editor.seed.setValue(seed)
    editor.max_tokens.setValue(max_tokens)
    editor.top_k.setValue(top_k)
    editor.top_p.setValue(1.0)
    editor.min_p.setValue(0.0)


def test_a_reply_compares_cold_and_hot_sides_and_marks_where_they_part(window, qtbot):
    _teaching(window, qtbot)
    window.input.setPlainText("Who is the Prince of Denmark?")
    with qtbot.waitSignal(window.replyFinished, timeout=20000) as b:
        window.send()
    reply = b.args[0]
    button = window.chat.widgets[reply.id].compare
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    cw = window.compare_window
    assert cw is not None and cw.isVisible() and cw.upto is reply
    assert cw.question.toPlainText() == "Who is the Prince of Denmark?" and cw.question.isReadOnly()
    _set(cw.editors[0], 0.0)
    _set(cw.editors[1], 1.5)
    with qtbot.waitSignal(cw.comparisonFinished, timeout=30000) as done:
        qtbot.mouseClick(cw.run_button, Qt.MouseButton.LeftButton)
    comp = done.args[0]
    a, b2 = (s.token_ids for s in comp.sides)
    assert len(a) == len(b2) == 24
    first = next(i for i, (x, y) in enumerate(zip(a, b2)) if x != y)
    assert comp.divergence == first
    assert f"token {first}" in cw.divergence_label.text()
    assert "▶" in cw.outputs[0].toHtml() and "▶" in cw.outputs[1].toHtml()
    table = cw.table
    assert table.rowCount() >= 2 and table.columnCount() == 4
    chosen = [r.token_id for r in comp.at_divergence()]
    marked = [[table.rows[r] for r in range(table.rowCount()) if "◀" in table.item(r, 2 + c).text()] for c in range(2)]
    assert marked == [[chosen[0]], [chosen[1]]]  # each side's own choice, marked in its own column
    assert window.conv.path()[-1] is reply  # the comparison added nothing to the chat


def test_the_toolbar_compares_the_draft_and_equal_greedy_sides_agree(window, qtbot):
    _teaching(window, qtbot)
    window.input.setPlainText("Who is Ophelia?")
    window.compare_action.trigger()
    cw = window.compare_window
    assert cw.question.toPlainText() == "Who is Ophelia?" and not cw.question.isReadOnly()
    qtbot.mouseClick(cw.add_button, Qt.MouseButton.LeftButton)
    assert len(cw.editors) == 3 and len(cw.outputs) == 3
    for e in cw.editors:
        _set(e, 0.0, max_tokens=12)
    with qtbot.waitSignal(cw.comparisonFinished, timeout=30000) as done:
        qtbot.mouseClick(cw.run_button, Qt.MouseButton.LeftButton)
    comp = done.args[0]
    assert comp.divergence is None
    assert comp.sides[0].token_ids == comp.sides[1].token_ids == comp.sides[2].token_ids
    assert "same tokens" in cw.divergence_label.text()
    assert window.input.toPlainText() == "Who is Ophelia?"  # the draft stays; nothing was sent
    assert not window.conv.path()


def test_stop_ends_every_side(window, qtbot):
    lm = fake_loaded_model("one two three four five six seven eight nine ten", gated=True)
    with qtbot.waitSignal(window.modelReady, timeout=10000):
        window.engine.worker.set_model(lm)
    window.input.setPlainText("count")
    window.open_compare()
    cw = window.compare_window
    with qtbot.waitSignal(cw.comparisonStarted, timeout=5000) as started:
        qtbot.mouseClick(cw.run_button, Qt.MouseButton.LeftButton)
    comp = started.args[0]
    lm.model.release(4)  # two tokens each
    qtbot.waitUntil(lambda: all(len(s.tokens) == 2 for s in comp.sides), timeout=10000)
    assert cw.stop_button.isEnabled() and not cw.run_button.isEnabled()
    with qtbot.waitSignal(cw.comparisonFinished, timeout=10000):
        qtbot.mouseClick(cw.stop_button, Qt.MouseButton.LeftButton)
        lm.model.stop_all()
    assert [s.finish.reason for s in comp.sides] == ["cancelled", "cancelled"]
    assert [len(s.tokens) for s in comp.sides] == [2, 2]
    assert cw.run_button.isEnabled()
