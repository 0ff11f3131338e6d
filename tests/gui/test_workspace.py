"""The "Inside the model" workspace through the real window at 1280×800: every head of a 30 × 9
model readable, no overlapping labels, tabs that never open blank, views that follow the branch,
layer and head, the funnel without sideways scrolling, and the context counter of the branch shown."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLabel, QToolBar

from playground.app import build_window
from playground.engine.worker import Engine
from playground.loading import load_model
from playground.ui.attention_view import MIN_CELL_PX
from playground.ui.inside import TABS
from playground.ui.plots import overlaps
from tests.helpers import save_hf, tiny_hf_model

LONG = ("The skilled cooks worked tirelessly over their ingredients, and the quick brown fox jumped over "
        "the lazy dog while everyone watched. ") * 6


@pytest.fixture(scope="module")
def model30(tmp_path_factory):
    """SmolLM2's shape of attention (30 layers × 9 heads) on a tiny random model."""
    hf = tiny_hf_model("llama", hidden_size=72, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                       intermediate_size=64, max_position_embeddings=1024)
    lm = load_model(save_hf(hf, tmp_path_factory.mktemp("m") / "llama30"), device="cpu")
    lm.tokenizer.eos_ids = []  # replies run to max_tokens
    return lm


@pytest.fixture
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    engine = Engine()
    win = build_window(engine, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    engine.shutdown()


def _use(win, qtbot, lm):
    with qtbot.waitSignal(win.modelReady, timeout=20000):
        win.engine.worker.set_model(lm)


def _ask(win, qtbot, text):
    win.input.setPlainText(text)
    with qtbot.waitSignal(win.replyFinished, timeout=60000) as b:
        qtbot.mouseClick(win.send_button, Qt.MouseButton.LeftButton)
    return b.args[0]


def _open_workspace(win, qtbot):
    tb = win.findChild(QToolBar, "mainToolbar")
    qtbot.mouseClick(tb.widgetForAction(win.inside_action), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.inside.isVisible())


def _click_tab(win, qtbot, name):
    bar = win.inside.tabBar()
    index = [t[0] for t in TABS].index(name)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert win.inside.current() == name


def _tidy(axis, at_least=2):
    labels = axis.labels()
    assert len(labels) >= at_least, [t for _, t in labels]
    bad = overlaps([r for r, _ in labels])
    assert not bad, [(labels[i][1], labels[j][1]) for i, j in bad]
    return [t for _, t in labels]


def test_at_1280x800_every_head_is_24px_and_no_labels_overlap(window, qtbot, model30):
    _use(window, qtbot, model30)
    window.sampling.set_value("max_tokens", 8)
    _ask(window, qtbot, LONG)
    _open_workspace(window, qtbot)
    with qtbot.waitSignal(window.attentionShown, timeout=60000) as b:
        _click_tab(window, qtbot, "attention")  # opening the tab computes it: no button to find first
        view = window.inside.attention  # while it computes: what, in words, and no plot with nothing in it
        assert not view.plot.isVisibleTo(view) and view.state_text.isVisibleTo(view) and view.state_bar.isVisibleTo(view)
        computing = view.state_text.text()
    amap = b.args[0]
    L, H, T, _ = amap.shape
    assert computing == f"Computing attention over {T:,} tokens…" and view.plot.isVisible()
    assert (L, H) == (30, 9) and T >= 300
    view = window.inside.attention
    for side in ("left", "bottom"):  # one head: token labels, never overlapping
        _tidy(view.view.getAxis(side))
    view.view.setXRange(100, 130, padding=0)  # zoomed in: more tokens named, still none overlapping
    qtbot.wait(0)
    assert len(_tidy(view.view.getAxis("bottom"))) >= 5
    qtbot.mouseClick(view.grid, Qt.MouseButton.LeftButton, pos=QPoint(5, view.grid.height() // 2))
    assert view.grid.isChecked()
    qtbot.waitUntil(lambda: view.cell_pixels() > 0)
    assert view.per_page == 30 and not view.page_label.isVisible()  # all 30 layers on one page
    assert view.cell_pixels() >= MIN_CELL_PX, view.cell_pixels()
    assert sorted(_tidy(view.view.getAxis("left")), key=int) == [str(h) for h in range(9)]
    assert len(_tidy(view.view.getAxis("bottom"))) >= 6  # layers numbered, readable
    assert window.chat.isVisible() and window.chat.width() >= 380  # the chat stays in sight


def test_opening_each_tab_after_a_reply_shows_content_or_a_hint(window, qtbot, model30):
    _use(window, qtbot, model30)
    window.sampling.set_value("max_tokens", 4)
    reply = _ask(window, qtbot, "the quick brown fox")
    _open_workspace(window, qtbot)
    _click_tab(window, qtbot, "token")
    token = window.inside.token
    assert token.table.rowCount() >= 1 and token.record is reply.record.tokens[0]  # the latest reply, shown
    assert "whole vocabulary" in token.funnel_view.toPlainText()
    with qtbot.waitSignal(window.attentionShown, timeout=30000):
        _click_tab(window, qtbot, "attention")
    assert window.inside.attention.map is not None
    with qtbot.waitSignal(window.lensShown, timeout=30000):
        _click_tab(window, qtbot, "lens")
    assert window.inside.lens.table.rowCount() == 31
    _click_tab(window, qtbot, "prompt")
    assert "tokens" in window.inside.prompt.toPlainText()
    _click_tab(window, qtbot, "architecture")
    assert "layer 29" in window.inside.architecture.toPlainText()


def test_every_tab_says_what_to_do_before_any_reply(window, qtbot):
    _open_workspace(window, qtbot)
    for name, *_ in TABS:
        _click_tab(window, qtbot, name)
        view = window.inside.current_view()
        shown = " ".join(w.text() for w in view.findChildren(QLabel) if not w.isHidden()) + (view.placeholderText() if hasattr(view, "placeholderText") else "")
        assert len(shown.strip()) > 20, name


def test_views_follow_the_branch_layer_and_head_and_the_counter_the_branch(window, qtbot, model30):
    _use(window, qtbot, model30)
    window.sampling.set_value("max_tokens", 3)
    first = _ask(window, qtbot, "the quick brown fox")
    with qtbot.waitSignal(window.replyFinished, timeout=30000) as b:
        window.chat.widgets[first.id].action.click()  # Regenerate: a second version
    second = b.args[0]
    window.sampling.set_value("max_tokens", 12)
    with qtbot.waitSignal(window.replyFinished, timeout=30000):
        window.chat.widgets[second.id].action.click()  # a third, longer version
    third = window.conv.last()
    assert window.conv.versions(third) == (3, 3)
    _open_workspace(window, qtbot)
    with qtbot.waitSignal(window.attentionShown, timeout=30000):
        _click_tab(window, qtbot, "attention")
    long_map = window.inside.attention.map
    view = window.inside.attention
    view.show_row(long_map.shape[2] - 1)
    # back to the first version, with its ◀ button: the attention shown follows
    widget = window.chat.widgets[third.id]
    with qtbot.waitSignal(window.attentionShown, timeout=30000) as b:
        qtbot.mouseClick(widget.prev, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(window.chat.widgets[second.id].prev, Qt.MouseButton.LeftButton)
    assert window.conv.last() is first
    ids = window.inspect_ctl.conversation_ids()
    assert list(b.args[0].token_ids) == ids and b.args[0].shape[2] < long_map.shape[2]
    tok = window.model.tokenizer
    counted = len(tok.encode_chat(window.conv.messages_for_model()))
    assert f"conversation {counted} of" in window.counter.text()  # the counter counts the branch shown
    _click_tab(window, qtbot, "token")
    assert window.inside.token.record is first.record.tokens[0]  # the inspector left the hidden branch
    # layer and head: the row of bars, the lens and the architecture follow
    _click_tab(window, qtbot, "attention")
    view.show_row(view.map.shape[2] - 1)
    view.layer.setValue(7)
    view.head.setValue(4)
    assert "layer 7, head 4" in view.rowplot.getPlotItem().titleLabel.text
    with qtbot.waitSignal(window.lensShown, timeout=30000):
        _click_tab(window, qtbot, "lens")
    assert window.inside.lens.table.verticalHeaderItem(8).font().bold()  # layer 7 (row 0 is the embedding)
    _click_tab(window, qtbot, "architecture")
    assert "layer 7 ◀" in window.inside.architecture.toPlainText()


def test_the_funnel_shows_50_alternatives_without_sideways_scrolling(window, qtbot, model30):
    _use(window, qtbot, model30)
    window.sampling.set_value("max_tokens", 4)
    window.sampling.set_value("top_k", 20)
    reply = _ask(window, qtbot, "the quick brown fox")
    widget = window.chat.widgets[reply.id]
    widget.tokens.click()
    widget.body.linkActivated.emit("tok:2")  # a click on the third token
    token = window.inside.token
    assert window.inside.isVisible() and window.inside.current() == "token"
    assert "top-k (k = 20)" in token.funnel_view.toPlainText() and "20" in token.funnel_view.toPlainText()
    qtbot.mouseClick(token.more, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: token.table.rowCount() == 50, timeout=30000)
    fates = [token.table.item(r, 3).text() for r in range(50)]
    assert sum(f == "removed by top-k" for f in fates) >= 29 and "← chosen" in fates
    assert not token.table.horizontalScrollBar().isVisible()
    assert sum(token.table.columnWidth(c) for c in range(4)) <= token.table.viewport().width() + 1
