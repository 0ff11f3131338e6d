"""Seeing inside: the token inspector, branching from an alternative, attention maps, the
logit lens, the prompt and architecture views."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from playground.app import build_window
from playground.engine.worker import Engine
from playground.loading import load_model
from tests.helpers import fake_loaded_model, save_hf, tiny_hf_model

TEXT = "hello world, this is a tiny corpus"


@pytest.fixture
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    engine = Engine()
    win = build_window(engine, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    yield win
    engine.shutdown()


def _use(win, qtbot, lm):
    with qtbot.waitSignal(win.modelReady, timeout=10000):
        win.engine.worker.set_model(lm)


def _ask(win, qtbot, text="hi"):
    win.input.setPlainText(text)
    with qtbot.waitSignal(win.replyFinished, timeout=10000) as b:
        win.send()
    return b.args[0]


def test_clicking_a_token_shows_its_alternatives(window, qtbot):
    _use(window, qtbot, fake_loaded_model(TEXT))
    reply = _ask(window, qtbot)
    widget = window.chat.widgets[reply.id]
    widget.tokens.setChecked(True)
    widget.refresh()
    assert 'href="tok:2"' in widget.body.text()
    widget.body.linkActivated.emit("tok:2")
    ev = reply.record.tokens[2]
    table = window.inside.token.table
    assert table.rowCount() == len(ev.top) >= 1
    assert table.item(0, 0).toolTip() == f"id {ev.top[0][0]}"
    assert "chosen" in table.item(0, 3).text()  # the scripted model's pick is its most likely token
    assert window.inside.isVisible() and window.inside.current() == "token"


def _marked_tokens(widget) -> list[int]:
    """The tokens the reply's Tokens view, as shown, marks as the one in the Token tab."""
    import re

    from playground.ui.token_tint import CURRENT_STYLE

    return [int(i) for i, style in re.findall(r'<a href="tok:(\d+)" style="([^"]*)"', widget.body.text())
            if CURRENT_STYLE in style]


def test_the_tokens_view_marks_the_token_the_token_tab_shows(window, qtbot):
    _use(window, qtbot, fake_loaded_model(TEXT))
    reply = _ask(window, qtbot)
    widget = window.chat.widgets[reply.id]
    qtbot.mouseClick(widget.tokens, Qt.MouseButton.LeftButton)
    assert widget.tokens.isChecked() and 'href="tok:4"' in widget.body.text()
    widget.body.linkActivated.emit("tok:2")  # a click on the third token
    assert window.inside.token.record is reply.record.tokens[2]
    assert _marked_tokens(widget) == [2] and "Token tab" in widget.stats.text()
    widget.body.linkActivated.emit("tok:4")  # another: the mark moves with the inspector
    assert _marked_tokens(widget) == [4]
    window.inspect_ctl.inspect_token(reply, 1)  # chosen elsewhere (an attention row picks it this way)
    assert _marked_tokens(widget) == [1]
    qtbot.mouseClick(widget.tokens, Qt.MouseButton.LeftButton)  # the plain text again, then the tokens: still marked
    qtbot.mouseClick(widget.tokens, Qt.MouseButton.LeftButton)
    assert _marked_tokens(widget) == [1]


def test_choosing_an_alternative_makes_a_branch_starting_with_it(window, qtbot):
    _use(window, qtbot, fake_loaded_model(TEXT))
    reply = _ask(window, qtbot)
    window.inspect_ctl.inspect_token(reply, 3)
    alternative = reply.record.tokens[3].top[1][0]  # the second most likely token
    window.inside.token.table.selectRow(1)
    with qtbot.waitSignal(window.replyFinished, timeout=10000) as b:
        window.inside.token.branch.click()
    branch = b.args[0]
    assert window.conv.versions(branch) == (2, 2)
    assert branch.record.prefix_ids[-1] == alternative and branch.record.branched_at == 3
    assert branch.record.tokens[3].token_id == alternative and branch.record.tokens[3].chosen  # the user's pick
    kept = reply.record.token_ids[:3]
    assert branch.record.token_ids[:3] == kept
    assert branch.text.startswith(window.model.tokenizer.decode(kept + [alternative], skip_special=True))


@pytest.fixture(scope="module")
def tiny_real(tmp_path_factory):
    """One tiny random Llama for the module (written and loaded once: ~2.5 s), as test_workspace's model30."""
    lm = load_model(save_hf(tiny_hf_model("llama"), tmp_path_factory.mktemp("m") / "llama"), device="cpu")
    lm.tokenizer.eos_ids = []  # a random model may sample its end token at once; replies run to max_tokens
    return lm


def test_attention_viewer_shows_the_conversation_and_exports(window, qtbot, tiny_real, tmp_path):
    _use(window, qtbot, tiny_real)
    window.sampling.set_value("max_tokens", 6)
    _ask(window, qtbot, "the quick brown fox")
    failures = []
    window.engine.worker.inspectFailed.connect(lambda req, msg: failures.append(msg))
    with qtbot.waitSignal(window.attentionShown, timeout=20000, raising=False) as b:
        window.inside.attention.compute.click()
    assert b.signal_triggered, f"no attention: {failures} / {window.statusBar().currentMessage()}"
    amap = b.args[0]
    ids = window.model.tokenizer.encode_chat(window.conv.messages_for_model(), add_generation_prompt=False)
    T = len(ids)
    assert amap.shape == (2, 4, T, T)
    view = window.inside.attention
    assert view.current.shape == (T, T)
    row = view.show_row(T - 1)
    assert row.shape == (T,) and abs(row.sum() - 1) < 1e-4
    view.grid.setChecked(True)
    assert view.current.shape[0] > T  # the mosaic of 2 layers × 4 heads
    view.grid.setChecked(False)
    view.export_png(str(tmp_path / "a.png"))
    view.export_csv(str(tmp_path / "a.csv"))
    view.export_npy(str(tmp_path / "a.npy"))
    assert (tmp_path / "a.png").stat().st_size > 1000
    assert np.loadtxt(tmp_path / "a.csv", delimiter=",").shape == (T, T)
    assert np.load(tmp_path / "a.npy").shape == (2, 4, T, T)
    assert "tokens" in window.inside.show_view("prompt").toPlainText()  # opening the tab shows the prompt
    window.inside.architecture.layerClicked.emit(1)
    assert view.layer.value() == 1 and window.inside.current() == "attention"
    view.layer.setValue(-1)  # the mean over layers
    assert np.allclose(view.current, amap.weights.astype(np.float32).mean(0)[view.head.value()], atol=1e-3)


def test_logit_lens_from_the_inspector(window, qtbot, tiny_real):
    _use(window, qtbot, tiny_real)
    window.sampling.set_value("max_tokens", 5)
    reply = _ask(window, qtbot, "hello")
    window.inspect_ctl.inspect_token(reply, 2)
    with qtbot.waitSignal(window.lensShown, timeout=20000) as b:
        window.inside.token.lens_button.click()
    rows = b.args[0]
    assert len(rows) == tiny_real.config.n_layers + 1 and len(rows[0]) == 8
    assert window.inside.lens.table.rowCount() == 3
    # the last row against the reply's record of that token (the float32 model: the same to 3 decimals);
    # a sampled token may rank below the row's 8 (the note then says so, still with the recorded p)
    rec = reply.record.tokens[2]
    label, note = window.inspect_ctl._label(rec.token_id), window.inside.lens.note
    # (the same value may still round to different 3rd decimals either side of a .0005 boundary)
    assert note.isVisible() and f"“{label}”" in note.text() and f"{rec.raw_prob:.3f}" in note.text()
    if label in dict(rows[-1]):
        p = dict(rows[-1])[label]
        assert abs(p - rec.raw_prob) < 1e-3  # the float32 model: the same value, whichever pass
        if f"{p:.3f}" == f"{rec.raw_prob:.3f}":
            assert f"p {rec.raw_prob:.3f}, as the reply recorded" in note.text()
        else:  # either side of a .0005 boundary: the note gives both
            assert f"p {p:.3f}" in note.text() and f"recorded {rec.raw_prob:.3f}" in note.text()
    else:
        assert "does not rank it" in note.text()


def test_the_lens_says_why_its_last_row_differs_from_the_record():
    from playground.ui.lens_view import recorded_note

    rows = [[("a", 0.9)], [("the", 0.30), ("a", 0.2)]]
    assert "p 0.300, as the reply recorded" in recorded_note(rows, "the", 0.3004)
    differs = recorded_note(rows, "the", 0.253)
    assert "0.300" in differs and "recorded 0.253" in differs and "rounding" in differs
    assert "does not rank it among its top 2" in recorded_note(rows, "fox", 0.01)


def test_a_tokens_row_of_attention_over_the_text(window, qtbot, tiny_real):
    _use(window, qtbot, tiny_real)
    window.sampling.set_value("max_tokens", 5)
    reply = _ask(window, qtbot, "the quick brown fox")
    window.inspect_ctl.inspect_token(reply, 2)
    with qtbot.waitSignal(window.attentionShown, timeout=20000) as b:
        window.inside.token.attend_button.click()
    amap = b.args[0]
    prompt = window.model.tokenizer.encode_chat(window.conv.messages_for_model(upto=reply))
    row = len(prompt) + 2
    view = window.inside.attention
    assert amap.shape[2] == len(prompt) + len(reply.record.tokens)
    assert view.rowplot.plotItem.titleLabel.text.startswith("what")
    assert view.highlight_html.count("rgba(255,111,0,") == row + 1  # every token up to it, shaded
    assert view.highlight_html.count("border-bottom") == 1  # the token itself, underlined
    assert window.inside.current() == "attention"


def test_the_lens_shows_its_last_row_and_every_column_without_scrolling_sideways(qtbot):
    """30 layers' rows in a short view: the last row (the model's own prediction) is in view when
    the rows arrive, and the 8 columns fit the width."""
    from PySide6.QtCore import QRect

    from playground.ui.lens_view import LensView

    view = LensView()
    qtbot.addWidget(view)
    view.resize(700, 400)
    view.show()
    qtbot.waitExposed(view)
    rows = [[(f"·token{r}_{c}", 1 / (c + 2)) for c in range(8)] for r in range(31)]
    view.set_rows(rows, "lens")
    table = view.table
    qtbot.waitUntil(lambda: table.viewport().rect().contains(table.visualItemRect(table.item(30, 0))))
    header = table.horizontalHeader()
    assert header.sectionViewportPosition(7) + header.sectionSize(7) <= table.viewport().width()
    assert not table.viewport().rect().intersects(QRect(table.visualItemRect(table.item(0, 0))))


def test_the_token_chosen_in_the_token_tab_is_the_attention_row_and_back(window, qtbot, tiny_real):
    from PySide6.QtCore import QPointF, Qt

    _use(window, qtbot, tiny_real)
    window.sampling.set_value("max_tokens", 6)
    reply = _ask(window, qtbot, "the quick brown fox")
    prompt = window.model.tokenizer.encode_chat(window.conv.messages_for_model(upto=reply), add_generation_prompt=True)
    window.inspect_ctl.inspect_token(reply, 3)  # as a click on its fourth token does
    assert window.inside.current() == "token"
    bar = window.inside.tabBar()
    with qtbot.waitSignal(window.attentionShown, timeout=20000):  # opening the tab computes the map
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    view = window.inside.attention
    assert view.row == len(prompt) + 3 and view.row_mark.isVisible()  # the Token tab's token is the row shown
    assert f"what {view.map.labels[len(prompt) + 3]!r}".replace("'", "&#x27;") in view.rowplot.plotItem.titleLabel.text
    # and back: a row of the reply clicked on the heatmap is the token the Token tab inspects
    def point():
        return view.plot.mapFromScene(view.image.mapToScene(QPointF(0.5, len(prompt) + 1.5)))

    qtbot.waitUntil(lambda: view.plot.viewport().rect().contains(point()))  # laid out
    with qtbot.waitSignal(view.rowPicked, timeout=2000):
        qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=point())
    assert window.inspect_ctl.inspected == (reply, 1) and window.inside.token.record is reply.record.tokens[1]
    assert window.inside.current() == "attention"  # the attention stays in front
    assert window.chat.marked == (reply.id, 1)  # and the reply's Tokens view marks it
    qtbot.keyClick(view.plot, Qt.Key.Key_Down)
    assert window.inside.token.record is reply.record.tokens[2] and window.chat.marked == (reply.id, 2)
    window.inspect_ctl.inspect_token(reply, 5)
    assert view.row == len(prompt) + 5
    # the conversation goes on: the attention in front shows all of it again, not that reply's map
    window.inside.show_view("attention")
    window.sampling.set_value("max_tokens", 2)
    with qtbot.waitSignal(window.attentionShown, timeout=20000) as b:
        _ask(window, qtbot, "and then")
    assert list(b.args[0].token_ids) == window.inspect_ctl.conversation_ids()
