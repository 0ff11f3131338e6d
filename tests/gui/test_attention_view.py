"""The attention viewer on a 30-layer × 9-head map of 300 tokens (SmolLM2's shape): labels that
never overlap at any zoom, a colour scale named on the legend, the grid's heads big enough to
read, and the row of bars following the chosen layer and head."""

from __future__ import annotations

import numpy as np
import pytest

from playground.engine.inspect import AttentionMap
from playground.ui.attention_view import DEFAULT_SCALE, MIN_CELL_PX, SCALES, AttentionView
from playground.ui.plots import overlaps

WORDS = ["·the", "·ingredients", "·skilled", "·tirelessly", ",", "·a", "↵", "<|im_start|>", "·extraordinarily",
         "ly", "·Paris", "."]


def fake_map(L=30, H=9, T=300, seed=0) -> AttentionMap:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(L, H, T, T)).astype(np.float32) * 3
    logits[..., 0] += 4  # an attention sink on the first token, as in real models
    logits[..., np.triu(np.ones((T, T), dtype=bool), 1)] = -np.inf
    w = np.exp(logits - logits.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    labels = [WORDS[i % len(WORDS)] for i in range(T)]
    return AttentionMap(w.astype(np.float16), labels, list(range(T)), 0, T)


@pytest.fixture(scope="module")
def amap():
    return fake_map()


@pytest.fixture
def view(qtbot, amap):
    v = AttentionView()
    qtbot.addWidget(v)
    v.resize(820, 700)
    v.show()
    qtbot.waitExposed(v)
    v.set_map(amap)
    return v


def _labels(view):
    return {side: view.view.getAxis(side).labels() for side in ("left", "bottom")}


def _assert_tidy(view, at_least=2):
    for side, labels in _labels(view).items():
        assert len(labels) >= at_least, (side, [t for _, t in labels])
        bad = overlaps([r for r, _ in labels])
        assert not bad, (side, [(labels[i][1], labels[j][1]) for i, j in bad])


def test_the_default_scale_is_named_on_the_legend(view):
    assert view.scale.currentText() == DEFAULT_SCALE == "log"
    assert SCALES["log"].split("·")[0] in view.legend.text() and "log scale" in view.legend.text()
    view.scale.setCurrentText("per row")
    assert "each row scaled" in view.legend.text()


def test_token_labels_never_overlap_at_any_zoom(view, qtbot):
    _assert_tidy(view)
    whole = len(view.view.getAxis("bottom").labels())
    for lo, hi in ((0, 300), (0, 120), (100, 160), (140, 152)):  # zooming in shows more tokens, never overlapping
        view.view.setXRange(lo, hi, padding=0)
        view.view.setYRange(lo, hi, padding=0)
        qtbot.wait(0)
        _assert_tidy(view, at_least=1)
    view.view.setXRange(140, 152, padding=0)
    shown = [t for _, t in view.view.getAxis("bottom").labels()]
    assert len(shown) >= 4 and len(shown) / 12 > whole / 300  # zoomed in: a larger share of tokens named


def test_the_all_heads_grid_has_readable_numbered_rows_and_columns(view, qtbot):
    view.grid.setChecked(True)
    qtbot.wait(0)
    _assert_tidy(view)
    assert view.cell_pixels() >= MIN_CELL_PX
    heads = [t for _, t in view.view.getAxis("left").labels()]
    assert sorted(heads, key=int) == [str(h) for h in range(9)]  # every head named
    assert view.page_label.isVisible() == (view.per_page < 30)


def test_a_narrow_viewer_pages_the_grid_by_layer(view, qtbot):
    view.resize(520, 700)
    view.grid.setChecked(True)
    qtbot.waitUntil(lambda: view.page_label.isVisible())
    assert view.cell_pixels() >= MIN_CELL_PX - 0.5
    first = view.page_label.text()
    view.next_page.click()
    assert view.page_label.text() != first and view.page_label.text().endswith("of 30")


def test_the_row_bars_follow_the_layer_and_head(view, amap):
    view.layer.setValue(3)
    view.head.setValue(1)
    row = view.show_row(200)
    assert np.allclose(row, amap.weights[3, 1, 200, :201].astype(np.float32))
    view.head.setValue(5)  # the bars now show head 5
    bars = view.rowplot.getPlotItem().items[0].opts["height"]
    assert np.allclose(bars, amap.weights[3, 5, 200, :201].astype(np.float32))
    assert "head 5" in view.rowplot.getPlotItem().titleLabel.text
    view.layer.setValue(-1)
    bars = view.rowplot.getPlotItem().items[0].opts["height"]
    assert np.allclose(bars, amap.weights[:, 5, 200, :201].astype(np.float32).mean(0), atol=1e-3)


def test_clicking_a_grid_head_opens_it(view, qtbot):
    from PySide6.QtCore import QPointF

    view.grid.setChecked(True)
    cell = view._cell
    ev = type("E", (), {"pos": lambda self: QPointF(4.5 * cell, 2.5 * cell)})()  # column 4 (layer 4), row 2 (head 2)
    view._click(ev)
    assert not view.grid.isChecked() and view.layer.value() == 4 and view.head.value() == 2


def _row_point(view, r, c=0):
    """Where the middle of cell (r, c) of the heatmap is on the plot's viewport, in pixels."""
    from PySide6.QtCore import QPointF

    return view.plot.mapFromScene(view.image.mapToScene(QPointF(c + 0.5, r + 0.5)))


def test_without_a_map_the_view_says_what_it_computes_instead_of_an_empty_plot(qtbot, amap):
    v = AttentionView()
    qtbot.addWidget(v)
    v.resize(820, 700)
    v.show()
    qtbot.waitExposed(v)
    assert not v.plot.isVisible() and v.state_text.isVisible() and "Compute" in v.state_text.text()
    v.set_busy("Computing attention over 1,774 tokens…")
    assert not v.plot.isVisible()  # no axes of a plot that has nothing in it
    assert v.state_text.isVisible() and "1,774 tokens" in v.state_text.text() and v.state_bar.isVisible()
    v.set_map(amap)
    assert v.plot.isVisible() and not v.state_text.isVisible()
    v.set_busy("Computing attention over 1,800 tokens…")  # a new map: the previous one stays, said to be the previous
    assert v.plot.isVisible() and v.busy.isVisible()
    assert "1,800 tokens" in v.legend.text() and "previous result" in v.legend.text()
    v.clear("Could not compute attention: out of memory")
    assert not v.plot.isVisible() and "out of memory" in v.state_text.text() and not v.state_bar.isVisible()


def test_a_row_is_picked_exactly_outlined_and_moved_by_the_arrow_keys(view, qtbot):
    from PySide6.QtCore import Qt

    view.resize(640, 560)  # 300 rows at under 2 pixels each, as a long conversation shows them
    qtbot.waitUntil(lambda: 0 < _row_point(view, 1).y() - _row_point(view, 0).y() < 2)
    vp = view.plot.viewport()
    for r in (137, 138, 5, 299):  # neighbours a pixel or two apart: each click gets its own row
        with qtbot.waitSignal(view.rowPicked, timeout=1000) as b:
            qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=_row_point(view, r))
        assert b.args == [r] and view.row == r
        assert view.row_mark.isVisible() and view.row_mark.rect().top() == r and view.row_mark.rect().width() == r + 1
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=_row_point(view, 137))
    with qtbot.waitSignal(view.rowPicked, timeout=1000) as b:
        qtbot.keyClick(view.plot, Qt.Key.Key_Down)
    assert b.args == [138] and view.row == 138 and view.row_mark.rect().top() == 138
    qtbot.keyClick(view.plot, Qt.Key.Key_Up)
    qtbot.keyClick(view.plot, Qt.Key.Key_Up)
    import html

    assert view.row == 136 and html.escape(repr(view.map.labels[136])) in view.rowplot.getPlotItem().titleLabel.text
    qtbot.keyClick(view.plot, Qt.Key.Key_PageUp)
    assert view.row == 126
    qtbot.mouseMove(vp, _row_point(view, 42, 10))  # the pointer's row is outlined and named before a click
    qtbot.waitUntil(lambda: view.hover_mark.isVisible() and view.hover_mark.rect().top() == 42)
    assert view.hover.text().startswith(f"row 42: {view.map.labels[42]!r} → {view.map.labels[10]!r}")
