"""Charts a student can read: pyqtgraph plots coloured from the application's palette (light or
dark), axes whose tick labels never overlap, and legends set beside a chart, not over its curves."""

from __future__ import annotations

import html
import math

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter, QPalette, QTextOption
from PySide6.QtWidgets import QLabel

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

LABEL_GAP = 12.0  # pixels kept free between two tick labels, so each reads as its own


class TidyAxis(pg.AxisItem):
    """An axis that draws a tick label only where it overlaps no label already placed.

    pyqtgraph decides per tick level whether a level's labels fit on average, so long labels of
    uneven width (tokens) can still run together. Levels come coarse to fine. Ticks the caller set
    (tokens, layers) are kept greedily, one label at a time, so a crowded fine level still fills
    the gaps. Numbers the axis chooses itself are kept a whole level at a time: a finer level is
    drawn only if every one of its labels fits, so the steps stay even (0 50 100 150, never
    0 20 50 70 100)."""

    def __init__(self, orientation: str, **kwargs):
        super().__init__(orientation, **kwargs)
        # every level is considered (overlapping text is dropped below), so a crowded fine level
        # of set ticks still fills the gaps where there is room
        self.setStyle(maxTickLevel=3, maxTextLevel=3, textFillLimits=[(0, 100.0)])
        self.gap = LABEL_GAP
        self._level_strings: list[list[str]] = []

    def tickStrings(self, values, scale, spacing):
        strings = super().tickStrings(values, scale, spacing)
        self._level_strings.append(list(strings))  # called once per level, coarse first
        return strings

    def generateDrawSpecs(self, p):
        self._level_strings = []
        specs = super().generateDrawSpecs(p)
        if specs is None:
            return None
        axis, ticks, texts = specs
        level_of: dict[str, int] = {}
        for i, strings in enumerate(self._level_strings):
            for text in strings:
                level_of.setdefault(text, i)
        whole_levels = self._tickLevels is None and not self.logMode  # a log axis's steps are uneven anyway
        kept: list[QRectF] = []
        tidy = []
        i = 0
        while i < len(texts):
            level = level_of.get(texts[i][2], 0)
            j = i
            while j < len(texts) and level_of.get(texts[j][2], 0) == level:
                j += 1
            fits = []
            for rect, flags, text in texts[i:j]:
                padded = rect.adjusted(-self.gap / 2, -self.gap / 2, self.gap / 2, self.gap / 2)
                if any(padded.intersects(r) for r in kept + [f[0] for f in fits]):
                    if whole_levels and level > 0:
                        fits = None
                        break
                    continue
                fits.append((padded, (rect, flags, text)))
            if fits is None:
                break  # a finer level that does not fit whole is left out, and the ones after it
            if whole_levels and level == 0 and len(fits) < j - i:
                fits = _every_kth(texts[i:j], kept, self.gap) or fits
            kept += [f[0] for f in fits]
            tidy += [f[1] for f in fits]
            i = j
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


def _every_kth(texts, kept: list[QRectF], gap: float):
    """The axis's own major labels thinned evenly when they do not all fit: those at multiples of
    2, 5 or 10 steps (0 4 8, never 2 6), as (padded rectangle, spec) pairs; None if none fit or the
    labels are not plain numbers."""
    try:
        values = [float(text.replace(",", "")) for _, _, text in texts]
    except ValueError:
        return None
    if len(values) < 2:
        return None
    step = min(abs(b - a) for a, b in zip(values, values[1:]))
    if step <= 0:
        return None
    for k in (2, 5, 10, 20, 50):
        picked = [(rect.adjusted(-gap / 2, -gap / 2, gap / 2, gap / 2), (rect, flags, text))
                  for (rect, flags, text), v in zip(texts, values) if abs(round(v / step) % k) < 1e-9]
        rects = [r for r, _ in picked] + kept
        if len(picked) >= 2 and not any(rects[a].intersects(rects[b]) for a in range(len(picked))
                              for b in range(a + 1, len(rects))):
            return picked
    return None


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


class WrappingTitle(pg.LabelItem):
    """A chart's title that wraps onto more lines when the chart is narrow. pyqtgraph's title is
    one line in a 30-px row, and as wide as its text is the chart's least width: a long title (the
    Studio's perplexity chart beside the Lessons dock) pushed the plot past the chart's right edge,
    cut. This one takes the width the chart gives it and grows its row to the lines it needs."""

    def __init__(self, plot_item: pg.PlotItem):
        super().__init__("", parent=plot_item, size="11pt")
        self.plot_item = plot_item
        option = QTextOption(Qt.AlignmentFlag.AlignHCenter)
        option.setWrapMode(QTextOption.WrapMode.WordWrap)
        self.item.document().setDefaultTextOption(option)

    def updateMin(self):  # noqa: N802 (pyqtgraph's name)
        bounds = self.itemRect()
        self.setMinimumWidth(0)  # as narrow as the chart is: the text wraps
        self.setMinimumHeight(bounds.height())
        self._sizeHint = {Qt.SizeHint.MinimumSize: (0, bounds.height()),
                          Qt.SizeHint.PreferredSize: (bounds.width(), bounds.height()),
                          Qt.SizeHint.MaximumSize: (-1, -1), Qt.SizeHint.MinimumDescent: (0, 0)}
        self.updateGeometry()

    def resizeEvent(self, ev):  # noqa: N802 (Qt's name)
        if self.width() > 1 and self.item.textWidth() != self.width():
            self.item.setTextWidth(self.width())
        super().resizeEvent(ev)
        self._fit_row()

    def fits(self) -> bool:
        """Every line of the title inside the title's own width (nothing cut at the sides)."""
        return self.item.document().idealWidth() <= self.width() + 0.5

    def _fit_row(self) -> None:
        """The title row as tall as the wrapped lines (pyqtgraph fixes it at 30 px)."""
        if not self.isVisible() or not self.text:
            return
        height = max(30.0, self.itemRect().height())
        if abs(height - self.plot_item.layout.rowMaximumHeight(0)) > 0.5:  # (setTitle sets it back to 30)
            self.setMaximumHeight(height)
            self.plot_item.layout.setRowFixedHeight(0, height)


def _wrap_title(item: pg.PlotItem) -> None:
    """Put a WrappingTitle where the plot's own title label was."""
    old = item.titleLabel
    item.layout.removeItem(old)
    old.setParentItem(None)
    if old.scene() is not None:
        old.scene().removeItem(old)
    item.titleLabel = WrappingTitle(item)
    item.layout.addItem(item.titleLabel, 0, 1)
    item.setTitle(None)


def chart(title: str = "", log_y: bool = False, **axis_labels: str) -> pg.PlotWidget:
    """A themed plot with tidy axes and a title that wraps, e.g. chart("loss", bottom="step")."""
    axes = tidy_axes()
    if log_y:
        axes["left"] = LogAxis("left")
    w = pg.PlotWidget(axisItems=axes)
    _wrap_title(w.getPlotItem())
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


class EmptyNote(QObject):
    """What an empty chart says instead of numbers: a line of text over its plot area, and no
    tick values or grid (pyqtgraph's default 0–1 range would read as data, 0.1 … 0.9 of nothing).
    The title and the axis names stay, so the student sees what will be drawn there."""

    def __init__(self, plot: pg.PlotWidget, text: str):
        super().__init__(plot)
        self.plot = plot
        self.label = QLabel(text, plot)
        self.label.setObjectName("emptyNote")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.label.setStyleSheet("color: gray;")
        plot.installEventFilter(self)
        self.empty = False
        self.set_empty(True)

    def set_empty(self, empty: bool, text: str | None = None) -> None:
        if text is not None:
            self.label.setText(text)
        self.label.setVisible(empty)
        if empty == self.empty:
            return
        self.empty = empty
        item = self.plot.getPlotItem()
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.setStyle(showValues=not empty)
            if empty:
                axis.setTickPen(None)  # no tick marks either: a ruler without numbers still reads as a scale
            else:
                axis.setTickPen()  # the axis's own pen again
        self.plot.showGrid(x=not empty, y=not empty, alpha=0.15)
        self._place()

    def _place(self) -> None:
        r = self.plot.rect()
        self.label.setGeometry(r.adjusted(r.width() // 10, 0, -r.width() // 10, 0))

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 (Qt's name)
        if ev.type() == QEvent.Type.Resize:
            self._place()
        return False
