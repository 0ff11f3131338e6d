"""Chart axes a student can read: the numbers an axis picks itself step evenly and never overlap,
however little room the chart has."""

from __future__ import annotations

import math

import pyqtgraph as pg
import pytest

from playground.ui.plots import chart, overlaps


def _numbers(axis) -> list[float]:
    labels = axis.labels()
    assert not overlaps([r for r, _ in labels]), [t for _, t in labels]
    return sorted(float(t.replace(",", "")) for _, t in labels)


@pytest.mark.parametrize(("size", "y_range"), [((640, 200), (0, 400)), ((600, 150), (0, 10)),
                                               ((300, 120), (0, 1000)), ((900, 400), (3.5, 7.2))])
def test_axis_numbers_step_evenly(qtbot, size, y_range):
    w = chart("loss", bottom="step")
    qtbot.addWidget(w)
    w.resize(*size)
    w.addItem(pg.PlotDataItem(x=[0, 400], y=list(y_range)))
    w.setXRange(0, 400, padding=0.02)
    w.setYRange(*y_range, padding=0.02)
    w.show()
    qtbot.waitExposed(w)
    for side in ("bottom", "left"):
        values = _numbers(w.getAxis(side))
        assert len(values) >= 2, side
        steps = {round(b - a, 6) for a, b in zip(values, values[1:])}
        assert len(steps) == 1, (side, values)  # 0 50 100 150, never 0 20 50 70 100


def test_a_short_log_axis_still_names_two_values(qtbot):
    """A log axis (the Studio's perplexity) over a narrow range: no power of ten inside it, so its
    labels come from the finer levels, kept where they fit (at least two, never overlapping)."""
    w = chart("perplexity", log_y=True, bottom="step")
    qtbot.addWidget(w)
    w.resize(600, 150)
    w.addItem(pg.PlotDataItem(x=[0, 400], y=[140.0, 60.0]))
    w.setYRange(math.log10(60), math.log10(140), padding=0.02)  # a log axis's range is in decades
    w.show()
    qtbot.waitExposed(w)
    labels = w.getAxis("left").labels()
    assert len(labels) >= 2 and not overlaps([r for r, _ in labels]), [t for _, t in labels]
