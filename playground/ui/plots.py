"""Charts a student can read: pyqtgraph plots coloured from the application's palette (light or
dark), axes whose tick labels never overlap, and legends set beside a chart, not over its curves."""

from __future__ import annotations

import html
import math

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QGuiApplication, QImage, QPainter, QPalette
from PySide6.QtWidgets import QLabel

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

LABEL_GAP = 12.0  # pixels kept free between two tick labels, so each reads as its own


class TidyAxis(pg.AxisItem):
    """An axis that draws a tick label only where it overlaps no label already placed.

    pyqtgraph decides per tick level whether a level's labels fit on average, so long labels of
    uneven width (tokens) can still run together. Levels come coarse to fine, so keeping labels
    greedily keeps the coarse ones and fills the gaps with finer ones as the user zooms in."""

    def __init__(self, orientation: str, **kwargs):
        super().__init__(orientation, **kwargs)
        # every level is considered (overlapping text is dropped one label at a time, below), so a
        # crowded fine level still fills the gaps where there is room
        self.setStyle(maxTickLevel=3, maxTextLevel=3, textFillLimits=[(0, 100.0)])
        self.gap = LABEL_GAP

    def generateDrawSpecs(self, p):
        specs = super().generateDrawSpecs(p)
        if specs is None:
            return None
        axis, ticks, texts = specs
        kept: list[QRectF] = []
        tidy = []
        for rect, flags, text in texts:
            padded = rect.adjusted(-self.gap / 2, -self.gap / 2, self.gap / 2, self.gap / 2)
            if any(padded.intersects(r) for r in kept):
                continue
            kept.append(padded)
            tidy.append((rect, flags, text))
        return axis, ticks, tidy

    def labels(self) -> list[tuple[QRectF, str]]:
        """The tick labels as they would be drawn now: (rectangle in scene coordinates, text)."""
        img = QImage(8, 8, QImage.Format.Format_ARGB32)
        painter = QPainter(img)
        try:
            if self.style["tickFont"]:
                painter.setFont(self.style["tickFont"])
            specs = self.generateDrawSpecs(painter)
        finally:
            painter.end()
        return [] if specs is None else [(self.mapRectToScene(rect), text) for rect, _, text in specs[2]]


class LogAxis(TidyAxis):
    """A logarithmic axis labelled with plain numbers: powers of ten first, then 2 and 5 times
    them, then the other one- and two-digit steps, as room allows ("20", "50", "100", …)."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        lo, hi = math.floor(minVal) - 1, math.ceil(maxVal) + 1
        levels = ([1], [2, 5], [3, 4, 6, 7, 8, 9], [m / 10 for m in range(11, 100) if m % 10])

        def inside(mults):
            vals = [math.log10(m) + e for e in range(lo, hi) for m in mults]
            return sorted(v for v in vals if minVal <= v <= maxVal)

        return [(None, inside(m)) for m in levels]

    def logTickStrings(self, values, scale, spacing):
        return [_plain(10 ** v * scale) for v in values]


def _plain(x: float) -> str:
    """A tick value as people write it: 1,000 · 200 · 12 · 1.5 · 0.02."""
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def tidy_axes() -> dict[str, TidyAxis]:
    return {side: TidyAxis(side) for side in ("left", "bottom")}


def overlaps(rects: list[QRectF]) -> list[tuple[int, int]]:
    """Pairs of rectangles that overlap (touching edges do not count)."""
    out = []
    for i in range(len(rects)):
        for j in range(i + 1, len(rects)):
            if rects[i].intersected(rects[j]).width() > 0.5 and rects[i].intersected(rects[j]).height() > 0.5:
                out.append((i, j))
    return out


def palette_colors() -> tuple[str, str]:
    """(background, foreground) of the application's palette, for charts drawn by pyqtgraph."""
    app = QGuiApplication.instance()
    if app is None:
        return "#ffffff", "#202020"
    pal = app.palette()
    return pal.color(QPalette.ColorRole.Base).name(), pal.color(QPalette.ColorRole.Text).name()


def style_plot(widget: pg.PlotWidget | pg.GraphicsLayoutWidget, plot: pg.PlotItem | None = None) -> None:
    """Colour a chart from the palette: background, axes, labels and title."""
    bg, fg = palette_colors()
    widget.setBackground(bg)
    item = plot if plot is not None else widget.getPlotItem()
    for side in ("left", "bottom", "right", "top"):
        ax = item.getAxis(side)
        ax.setPen(pg.mkPen(fg))
        ax.setTextPen(pg.mkPen(fg))
    item.titleLabel.opts["color"] = fg
    if item.titleLabel.text:
        item.setTitle(item.titleLabel.text, color=fg)


def chart(title: str = "", log_y: bool = False, **axis_labels: str) -> pg.PlotWidget:
    """A themed plot with tidy axes, e.g. chart("loss", bottom="step")."""
    axes = tidy_axes()
    if log_y:
        axes["left"] = LogAxis("left")
    w = pg.PlotWidget(axisItems=axes)
    if log_y:
        w.setLogMode(y=True)
    if title:
        w.setTitle(title)
    for side, text in axis_labels.items():
        w.setLabel(side, text)
    w.showGrid(x=True, y=True, alpha=0.15)
    style_plot(w)
    return w


def legend_label(entries: list[tuple[str, str, str]]) -> QLabel:
    """A legend as a line of text above a chart: entries of (name, colour, mark), mark being
    "line" or "dot". It never covers a curve, however the data moves."""
    marks = {"line": "━━", "dot": "●", "bar": "■"}
    parts = [f'<span style="color:{c}; font-weight:bold">{marks.get(m, m)}</span>&nbsp;{html.escape(n)}'
             for n, c, m in entries]
    label = QLabel("&nbsp;&nbsp;&nbsp;".join(parts))
    label.setObjectName("legend")
    return label
