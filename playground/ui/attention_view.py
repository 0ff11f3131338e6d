"""The attention viewer: one head's query × key heatmap (or a mean over heads or layers), every
head of every layer as a grid of thumbnails, and what one token attended to, as bars and as the
conversation's text shaded by attention. It draws an `AttentionMap` the worker computed.

Colour: attention in a small model is mostly a few large weights (the first token soaks up
much of it, the "attention sink") and a long tail of small ones, so on a linear scale nearly
every cell is the same dark colour. The default is a log scale from 0.0001 to 1, which shows
the diagonal, the previous-token heads and the sentence structure; the legend says so.

Rows: with hundreds of tokens a row is a pixel or two high, so the chosen row and the row under
the pointer are outlined, the hover names the row, and ↑/↓ move the chosen row one at a time.
Without a map the plot gives way to a sentence (what is being computed, or what to do).
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QT_TRANSLATE_NOOP, QEvent, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .attention_data import grid_mosaic, number_levels, scaled, tick_levels
from .flow_layout import FlowLayout
from .plots import LABEL_GAP, TidyAxis, chart, palette_colors, style_plot

# key shown in the menu → what the legend says the colour is
# (the texts are translated where they are shown; QT_TRANSLATE_NOOP only marks them for lupdate)
SCALES = {
    "log": QT_TRANSLATE_NOOP("AttentionView", "colour: attention weight on a log scale, 0.0001 (dark) to 1 (bright)"),
    "linear": QT_TRANSLATE_NOOP("AttentionView", "colour: attention weight, 0 (dark) to the highest here (bright)"),
    "per row": QT_TRANSLATE_NOOP("AttentionView", "colour: each row scaled to its own highest weight (bright) — rows "
                                 "compare shapes, not sizes"),
}
SCALE_NAMES = {"log": QT_TRANSLATE_NOOP("AttentionView", "log"),
               "linear": QT_TRANSLATE_NOOP("AttentionView", "linear"),
               "per row": QT_TRANSLATE_NOOP("AttentionView", "per row")}
DEFAULT_SCALE = "log"
MIN_CELL_PX = 24  # a head's thumbnail in the all-heads grid is at least this many pixels square

HINT = QT_TRANSLATE_NOOP("AttentionView", "No attention yet: press Compute, or click a token of a reply and then "
                         "'What it attended to'.")
ROW_KEYS = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -10, Qt.Key.Key_PageDown: 10}
CHOSEN_ROW, HOVERED_ROW = "#ff1744", "#ffffff"  # outlines of the row shown in the bars and the row under the pointer


class AttentionView(QWidget):
    """One head's heatmap or all heads' grid, and one token's row of attention."""

    computeRequested = Signal()
    layerChosen = Signal(int)
    rowShown = Signal(int)  # the query token whose row is drawn now
    rowPicked = Signal(int)  # the user chose a row (a click, or a key moving it): its query token

    def __init__(self):
        super().__init__()
        self.setObjectName("attentionView")
        self.map = None
        self.row: int | None = None  # the query token whose attention the bars show
        self.page = 0  # the all-heads grid's page, when its layers do not fit at MIN_CELL_PX
        self.per_page = 0
        self._cell = 1
        self.current = np.zeros((1, 1), dtype=np.float32)
        lay = QVBoxLayout(self)
        # the controls flow onto a second line in a narrow workspace (beside the Lessons dock on a
        # laptop) instead of widening the window past the screen; each label stays with its box
        row = FlowLayout(spacing=6)
        self.layer = QSpinBox()
        self.layer.setRange(-1, 0)
        self.layer.setSpecialValueText(self.tr("mean"))
        self.layer.setToolTip(self.tr("Which layer (counting from 0); 'mean' averages over all layers"))
        row.addWidget(_labelled(self.tr("Layer"), self.layer))
        self.head = QSpinBox()
        self.head.setRange(-1, 0)
        self.head.setSpecialValueText(self.tr("mean"))
        self.head.setToolTip(self.tr("Which head (counting from 0); 'mean' averages over the layer's heads"))
        row.addWidget(_labelled(self.tr("Head"), self.head))
        self.scale = QComboBox()
        for key in SCALES:
            self.scale.addItem(self.tr(SCALE_NAMES[key]), key)
        self.scale.setCurrentIndex(self.scale.findData(DEFAULT_SCALE))
        self.scale.setToolTip(self.tr("Attention is a few large weights and many tiny ones: the log scale shows both"))
        row.addWidget(_labelled(self.tr("Colour"), self.scale))
        self.grid = QCheckBox(self.tr("All heads"))
        self.grid.setToolTip(self.tr("Every head (rows) of every layer (columns) as thumbnails; click one to open it"))
        row.addWidget(self.grid)
        self.prev_page = QPushButton("◀")
        self.prev_page.setToolTip(self.tr("Earlier layers"))
        self.page_label = QLabel()
        self.next_page = QPushButton("▶")
        self.next_page.setToolTip(self.tr("Later layers"))
        for b in (self.prev_page, self.next_page):
            b.setFixedWidth(b.fontMetrics().horizontalAdvance("◀") * 3)
        for w in (self.prev_page, self.page_label, self.next_page):
            w.setVisible(False)
            row.addWidget(w)
        row.addStretch()
        self.compute = QPushButton(self.tr("Compute"))
        self.compute.setObjectName("computeAttention")
        self.compute.setToolTip(self.tr("Attention over every token of the conversation so far: a separate forward pass "
                                "with the attention written out"))
        self.compute.clicked.connect(self.computeRequested)
        row.addWidget(self.compute)
        self.export = QToolButton()
        self.export.setText(self.tr("Export"))
        self.export.setToolTip(self.tr("Save the picture (PNG), the matrix shown (CSV) or every layer and head (NPY)"))
        self.export.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export)
        for text, kind in ((self.tr("Picture (PNG)…"), "png"), (self.tr("This matrix (CSV)…"), "csv"),
                           (self.tr("Every layer and head (NPY)…"), "npy")):
            menu.addAction(text, lambda k=kind: self._ask_export(k))
        self.export.setMenu(menu)
        row.addWidget(self.export)
        lay.addLayout(row)
        self.legend = QLabel(self.tr(HINT))
        self.legend.setWordWrap(True)
        lay.addWidget(self.legend)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: the worker does not report steps
        self.busy.setMaximumHeight(6)
        self.busy.setTextVisible(False)
        self.busy.setVisible(False)
        lay.addWidget(self.busy)
        self.plot = pg.GraphicsLayoutWidget()
        self.view = self.plot.addPlot(axisItems={"left": TidyAxis("left"), "bottom": TidyAxis("bottom")})
        self.view.invertY(True)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get("viridis"), interactive=False, width=12)
        self.bar.setImageItem(self.image, insert_in=self.view)
        style_plot(self.plot, self.view)
        # one head: the square heatmap beside one token's row; all heads: the wide grid above it
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self.plot)
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        self.hover = QLabel(self.tr("Hover a cell for its value; click a row to see what that token attended to; "
                                    "↑ and ↓ then move it one row."))
        self.hover.setWordWrap(True)
        sl.addWidget(self.hover)
        self.rowplot = chart()
        self.rowplot.setMinimumHeight(110)
        self.rowplot.setMouseEnabled(y=False)
        sl.addWidget(self.rowplot, 1)
        self.highlight = QTextBrowser()
        self.highlight.setPlaceholderText(self.tr("The text, shaded by what the chosen row attended to."))
        sl.addWidget(self.highlight, 1)
        self.split.addWidget(side)
        self.split.setStretchFactor(0, 2)
        self.split.setStretchFactor(1, 1)
        # without a map, a plain statement in place of the plot (never empty axes that look like data)
        self.state = QWidget()
        self.state.setObjectName("attentionState")
        st = QVBoxLayout(self.state)
        st.addStretch(1)
        self.state_text = QLabel(self.tr(HINT))
        self.state_text.setObjectName("attentionStateText")
        self.state_text.setWordWrap(True)
        self.state_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.state_text.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.state_text.setFont(font)
        st.addWidget(self.state_text)
        self.state_bar = QProgressBar()
        self.state_bar.setRange(0, 0)
        self.state_bar.setTextVisible(False)
        self.state_bar.setMaximumSize(360, 8)
        st.addWidget(self.state_bar, 0, Qt.AlignmentFlag.AlignHCenter)
        st.addStretch(2)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.split)
        self.stack.addWidget(self.state)
        lay.addWidget(self.stack, 1)
        self._show_state(self.tr(HINT), busy=False)
        # the chosen row and the row under the pointer, outlined on the heatmap
        self.row_mark = self._outline(CHOSEN_ROW, 2)
        self.hover_mark = self._outline(HOVERED_ROW, 1, Qt.PenStyle.DashLine)
        self.highlight_html = ""
        for w in (self.layer, self.head):
            w.valueChanged.connect(self.redraw)
        self.scale.currentIndexChanged.connect(self.redraw)
        self.grid.toggled.connect(self._on_grid_toggled)
        self.prev_page.clicked.connect(lambda: self._turn(-1))
        self.next_page.clicked.connect(lambda: self._turn(1))
        self.view.getViewBox().sigResized.connect(self._on_view_resized)  # the grid re-pages to fit
        self.image.hoverEvent = self._hover
        self.image.mouseClickEvent = self._click
        self.plot.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # ↑ ↓ move the row once the map has been clicked
        self._keys = _RowKeys(self)
        self.plot.installEventFilter(self._keys)

    # -- data ----------------------------------------------------------------------------------
    def _show_state(self, text: str, busy: bool) -> None:
        """No map to show: the statement (a hint, an error, or what is being computed) in place of
        the plot, with a moving bar while computing."""
        self.stack.setCurrentWidget(self.state)
        self.state_text.setText(text)
        self.state_bar.setVisible(busy)
        self.legend.setText("")
        self.legend.setVisible(False)

    def set_busy(self, text: str) -> None:
        """Computing: say what, with a moving bar, until the map (or a hint) comes. A map already
        shown stays, marked as the previous result; without one, the statement takes its place."""
        if self.map is None:
            self.busy.setVisible(False)
            self._show_state(text, busy=True)
            return
        self.busy.setVisible(True)
        self.legend.setVisible(True)
        self.legend.setText(text + " " + self.tr("Until it is ready, the previous result stays below."))

    def set_map(self, amap) -> None:
        self.busy.setVisible(False)
        self.stack.setCurrentWidget(self.split)
        self.legend.setVisible(True)
        self.map = amap
        L, H, T, _ = amap.shape
        self.row = None
        self.page = 0
        for spin, n in ((self.layer, L), (self.head, H)):
            spin.blockSignals(True)
            spin.setRange(-1, n - 1)  # -1 shows "mean"
            spin.blockSignals(False)
        if getattr(amap, "first", 0):
            self.hover.setText(self.tr("Showing the last {shown:,} of {total:,} tokens: the maps of all of them would "
                                       "not fit in memory ({layers} layers × {heads} heads × tokens² values).").format(
                shown=T, total=amap.total, layers=L, heads=H))
        self.rowplot.clear()
        self.rowplot.setTitle("")
        self.highlight.clear()
        self.highlight_html = ""
        self.redraw()

    def clear(self, hint: str = HINT) -> None:
        """Back to no map (another conversation, or another model): say what to do."""
        self.busy.setVisible(False)
        self.map = None
        self.row = None
        self.image.clear()
        self.rowplot.clear()
        self.rowplot.setTitle("")
        self.highlight.clear()
        self.highlight_html = ""
        self._mark(self.row_mark, None)
        self._mark(self.hover_mark, None)
        self._show_state(self.tr(hint), busy=False)

    def open_layer(self, layer: int) -> None:
        self.grid.setChecked(False)
        self.layer.setValue(layer)

    def matrix(self) -> np.ndarray:
        """The (query × key) matrix shown now."""
        w = self.map.weights
        w = w.mean(0, dtype=np.float32) if self.layer.value() < 0 else w[self.layer.value()]
        return w.mean(0, dtype=np.float32) if self.head.value() < 0 else w[self.head.value()]

    def _which(self) -> str:
        layer = (self.tr("all layers (mean)") if self.layer.value() < 0
                 else self.tr("layer {n}").format(n=self.layer.value()))
        head = self.tr("all heads (mean)") if self.head.value() < 0 else self.tr("head {n}").format(n=self.head.value())
        return self.tr("{layer}, {head}").format(layer=layer, head=head)

    # -- drawing ---------------------------------------------------------------------------------
    def redraw(self) -> None:
        if self.map is None:
            return
        kind = self.scale.currentData()
        if self.grid.isChecked():
            shown, levels = self._draw_grid(kind)
        else:
            for w in (self.prev_page, self.page_label, self.next_page):
                w.setVisible(False)
            m = self.matrix().astype(np.float32)
            self.current = m
            masked = m.copy()
            masked[np.triu_indices_from(masked, 1)] = np.nan  # the future, left empty
            shown, levels = scaled(masked, kind)
            ticks = tick_levels(self.map.labels)
            self.view.getAxis("bottom").setTicks(ticks)
            self.view.getAxis("left").setTicks(ticks)
            self._fit_left_axis(self.map.labels)
            for side in ("left", "bottom"):
                self.view.getAxis(side).gap = LABEL_GAP
            self.view.setLabel("bottom", self.tr("key: the token attended to"))
            self.view.setLabel("left", self.tr("query: the token attending"))
            self.legend.setText(f"<b>{self._which()}</b> · {self.tr(SCALES[kind])}")
        self.image.setImage(shown, levels=levels, autoLevels=False)
        self.image.setRect(0, 0, shown.shape[1], shown.shape[0])
        self.bar.setLevels(levels)
        self._bar_ticks(kind, levels)
        self.view.autoRange(padding=0)
        self._mark(self.hover_mark, None)
        self._mark(self.row_mark, None if self.grid.isChecked() else self.row)
        if self.row is not None and not self.grid.isChecked():
            self._draw_row()

    def _layers_that_fit(self) -> int:
        """How many layers' columns fit across the grid with every head at MIN_CELL_PX or more."""
        vb = self.view.getViewBox()
        width = vb.width() if vb.width() > 50 else self.plot.width() - 120  # before the first layout
        return max(1, int(width // MIN_CELL_PX))

    def _draw_grid(self, kind: str):
        L, H, T, _ = self.map.shape
        fit = self._layers_that_fit()
        self.per_page = L if fit >= L else fit
        pages = -(-L // self.per_page)
        self.page = min(self.page, pages - 1)
        first = self.page * self.per_page
        layers = range(first, min(L, first + self.per_page))
        for w in (self.prev_page, self.page_label, self.next_page):
            w.setVisible(pages > 1)
        self.prev_page.setEnabled(self.page > 0)
        self.next_page.setEnabled(self.page < pages - 1)
        self.page_label.setText(self.tr("layers {first}–{last} of {n}").format(first=layers.start, last=layers.stop - 1, n=L))
        mosaic, cell = grid_mosaic(self.map.weights, layers)
        self._cell, self._first_layer = cell, layers.start
        self.current = mosaic
        self.view.getAxis("bottom").setTicks(number_levels(list(layers), cell))
        self.view.getAxis("left").setTicks(number_levels(list(range(H)), cell))
        self._fit_left_axis([str(H - 1)])
        for side in ("left", "bottom"):
            self.view.getAxis(side).gap = 6.0  # short numbers: a little room between them is enough
        self.view.setLabel("bottom", self.tr("layer"))
        self.view.setLabel("left", self.tr("head"))
        self.legend.setText(self.tr("<b>every head of layers {first}–{last}</b> (click one to open it) · {scale}").format(
            first=layers.start, last=layers.stop - 1, scale=self.tr(SCALES[kind])))
        return scaled(mosaic, kind)

    def _fit_left_axis(self, texts: list[str]) -> None:
        """Room for the widest tick label and the axis title, set before drawing (pyqtgraph would
        widen the axis only after a first, clipped paint)."""
        fm = QFontMetrics(self.view.getAxis("left").style.get("tickFont") or self.font())
        widest = max((fm.horizontalAdvance(t) for t in texts), default=0)
        self.view.getAxis("left").setWidth(min(widest, 140) + fm.height() + 16)

    def _bar_ticks(self, kind: str, levels) -> None:
        axis = self.bar.axis
        if kind == "log":
            axis.setTicks([[(float(e), f"{10.0 ** e:g}") for e in range(int(levels[0]), int(levels[1]) + 1)]])
        else:
            axis.setTicks(None)

    def cell_pixels(self) -> float:
        """On-screen size of one head's thumbnail in the all-heads grid (device pixels)."""
        vb = self.view.getViewBox()
        r = vb.mapViewToDevice(QRectF(0, 0, self._cell, self._cell)).boundingRect()
        return min(r.width(), r.height())

    def _on_grid_toggled(self, on: bool) -> None:
        """The grid is wide: it goes above the row of bars, its thumbnails square; one head fills
        the room beside them (its cells need not be square)."""
        self.view.setAspectLocked(on)
        self.split.setOrientation(Qt.Orientation.Vertical if on else Qt.Orientation.Horizontal)
        total = self.split.width() if not on else self.split.height()
        self.split.setSizes([int(total * (0.62 if on else 0.64)), int(total * (0.38 if on else 0.36))])
        self.redraw()

    def _turn(self, delta: int) -> None:
        self.page += delta
        self.redraw()

    def _on_view_resized(self, *_) -> None:
        if self.map is not None and not self.grid.isChecked():
            self.view.autoRange(padding=0)  # the square map, centred in the room it now has
        if self.map is not None and self.grid.isChecked():
            fit = self._layers_that_fit()
            if (self.map.shape[0] if fit >= self.map.shape[0] else fit) != self.per_page:
                self.redraw()

    # -- pointer -----------------------------------------------------------------------------------
    def _cell_at(self, pos):
        r, c = int(pos.y()), int(pos.x())
        if 0 <= r < self.current.shape[0] and 0 <= c < self.current.shape[1]:
            return r, c
        return None

    def _grid_head(self, r: int, c: int) -> tuple[int, int]:
        return self._first_layer + c // self._cell, r // self._cell  # (layer, head)

    def _outline(self, color: str, width: int, style=Qt.PenStyle.SolidLine) -> QGraphicsRectItem:
        pen = QPen(QColor(color), width, style)
        pen.setCosmetic(True)  # the same width in pixels at any zoom
        item = QGraphicsRectItem()
        item.setPen(pen)
        item.setZValue(10)
        item.setVisible(False)
        self.view.addItem(item, ignoreBounds=True)
        return item

    def _mark(self, item: QGraphicsRectItem, r: int | None) -> None:
        """Outline row r of the one-head map (its cells up to the diagonal); None hides it."""
        if r is None or self.map is None or r >= self.current.shape[0]:
            item.setVisible(False)
            return
        item.setRect(QRectF(0, r, r + 1, 1))
        item.setVisible(True)

    def _hover(self, ev) -> None:
        if self.map is None:
            return
        if ev.isExit():
            self._mark(self.hover_mark, None)
            return
        cell = self._cell_at(ev.pos())
        if cell is None:
            return
        r, c = cell
        if self.grid.isChecked():
            layer, head = self._grid_head(r, c)
            self.hover.setText(self.tr("layer {layer}, head {head} — click to open it").format(layer=layer, head=head))
        else:
            labels = self.map.labels
            self._mark(self.hover_mark, r)
            row = self.tr("row {r}: {token}").format(r=r, token=repr(labels[r]))
            self.hover.setText(row + (f" → {labels[c]!r}: {self.current[r, c]:.4f}" if c <= r
                                      else " · " + self.tr("the future: a token cannot attend to tokens after it")))

    def _click(self, ev) -> None:
        cell = self._cell_at(ev.pos())
        if cell is None or self.map is None:
            return
        r, c = cell
        if self.grid.isChecked():
            layer, head = self._grid_head(r, c)
            self.grid.setChecked(False)
            self.layer.setValue(layer)
            self.head.setValue(head)
            return
        self.plot.setFocus(Qt.FocusReason.MouseFocusReason)  # ↑ ↓ now move the row
        self.pick_row(r)

    def pick_row(self, r: int) -> None:
        """The user chose row r (clamped to the map): show it and say so (rowPicked)."""
        if self.map is None or self.grid.isChecked():
            return
        r = max(0, min(int(r), self.current.shape[0] - 1))
        self.show_row(r)
        self.rowPicked.emit(r)

    def move_row(self, delta: int) -> None:
        """One row up or down (a key): from the chosen row, or from the last when none is."""
        if self.map is None:
            return
        start = self.row if self.row is not None else (self.current.shape[0] if delta < 0 else -1)
        self.pick_row(start + delta)

    # -- one token's row ---------------------------------------------------------------------------
    def show_row(self, r: int) -> np.ndarray:
        """Bars of what query token r attended to, under the current layer and head (or mean); they
        follow the layer and head as they change."""
        self.row = r
        if self.grid.isChecked():
            self.grid.setChecked(False)  # redraws, and the row with it
        else:
            self._mark(self.row_mark, r)
            self._draw_row()
        return self.current[r, : r + 1]

    def _draw_row(self) -> None:
        r = self.row
        if self.map is None or r is None or r >= self.current.shape[0]:
            return
        row = self.current[r, : r + 1]
        self.rowplot.clear()
        _, fg = palette_colors()
        self.rowplot.addItem(pg.BarGraphItem(x=np.arange(len(row)), height=row, width=0.8, brush="#fb8c00", pen=None))
        self.rowplot.getPlotItem().getAxis("bottom").setTicks(tick_levels(self.map.labels[: r + 1], offset=0))
        self.rowplot.setTitle(self.tr("what {token} attended to<br>({which})").format(
            token=html.escape(repr(self.map.labels[r])), which=self._which()),
                              color=fg, size="10pt")
        top = float(row.max()) or 1.0
        spans = []
        for i, (lab, v) in enumerate(zip(self.map.labels[: r + 1], row)):
            alpha = min(1.0, float(v) / top)
            text = html.escape(lab.replace("·", " ")).replace("↵", "↵<br>")
            border = "border-bottom:2px solid #d32f2f;" if i == r else ""
            spans.append(f'<span style="background: rgba(255,111,0,{alpha:.2f}); color:black; {border}" '
                         f'title="{float(v):.4f}">{text}</span>')
        self.highlight_html = "".join(spans)
        self.highlight.setHtml(self.highlight_html)
        self.rowShown.emit(r)

    # -- export ---------------------------------------------------------------------------------------
    def export_png(self, path: str) -> None:
        self.plot.grab().save(path)

    def export_csv(self, path: str) -> None:
        np.savetxt(path, self.current, delimiter=",", fmt="%.6g",
                   header=",".join(self.map.labels).replace("\n", " ") if not self.grid.isChecked() else "")

    def export_npy(self, path: str) -> None:
        np.save(path, self.map.weights)

    def _ask_export(self, kind: str) -> None:
        from PySide6.QtWidgets import QFileDialog

        if self.map is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export attention"), f"attention.{kind}", f"*.{kind}")  # i18n: keep
        if path:
            getattr(self, f"export_{kind}")(path)


def _labelled(text: str, box: QWidget) -> QWidget:
    """A label and its box as one piece, so a flowing row never wraps between them."""
    pair = QWidget()
    lay = QHBoxLayout(pair)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(QLabel(text))
    lay.addWidget(box)
    return pair


class _RowKeys(QObject):
    """↑ ↓ (and Page Up / Page Down, ten rows) on the heatmap move the chosen row: at a pixel or
    two a row, a key is surer than the mouse."""

    def __init__(self, view: AttentionView):
        super().__init__(view)
        self.view = view

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 (Qt's name)
        if ev.type() == QEvent.Type.KeyPress and ev.key() in ROW_KEYS and self.view.map is not None \
                and not self.view.grid.isChecked():
            self.view.move_row(ROW_KEYS[ev.key()])
            return True
        return False
