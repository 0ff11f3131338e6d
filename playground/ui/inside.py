"""Seeing inside the model: the token inspector, the attention viewer, the logit lens, the
prompt inspector and the architecture view. Everything here draws numpy arrays and strings the
worker computed; nothing here runs the model."""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..records import TokenRecord

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)


def surprisal_color(p: float) -> str:
    """Background for a token by its surprisal −log p (the per-token cross-entropy): white when
    expected, deep red when surprising (8 nats and more)."""
    s = min(-math.log(max(p, 1e-12)), 8.0) / 8.0
    g = int(255 - 180 * s)
    return f"rgb(255,{g},{g})"


# ------------------------------------------------------------------------------ token inspector
class TokenInspector(QWidget):
    branchRequested = Signal(int)  # continue the reply with this token instead
    lensRequested = Signal()
    attendRequested = Signal()  # show what this token attended to

    def __init__(self):
        super().__init__()
        lay = QVBoxLayout(self)
        self.header = QLabel("Click a token of a reply (turn on Tokens under it) to see what the model chose between.")
        self.header.setWordWrap(True)
        lay.addWidget(self.header)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["token", "id", "model p", "sampled p", "removed by"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.branch = QPushButton("Continue with the selected token")
        self.branch.setToolTip("Cut the reply here, put this token in its place, and let the model go on: "
                               "a new version of the reply")
        self.branch.clicked.connect(self._branch)
        self.lens_button = QPushButton("Logit lens here")
        self.lens_button.setToolTip("What each layer would have predicted at this position")
        self.lens_button.clicked.connect(self.lensRequested)
        self.attend_button = QPushButton("What it attended to")
        self.attend_button.setToolTip("This token's row of attention, over the conversation's text")
        self.attend_button.clicked.connect(self.attendRequested)
        lay.addWidget(self.branch)  # on its own row: the panel stays narrow enough to sit beside the chat
        row.addWidget(self.lens_button)
        row.addWidget(self.attend_button)
        lay.addLayout(row)
        self.params = QLabel()
        self.params.setWordWrap(True)
        self.params.setStyleSheet("color: gray;")
        lay.addWidget(self.params)
        self.ids: list[int] = []

    def show_token(self, record: TokenRecord, label) -> None:
        """What the model chose between at one token of a reply (its TokenRecord)."""
        chosen = record.token_id
        raw_p = record.raw_prob
        self.header.setText(
            f"<b>{html.escape(label(chosen))}</b> (id {chosen}) — model p {raw_p:.3f}, "
            f"sampled p {record.prob:.3f}, surprisal {-math.log(max(raw_p, 1e-12)):.2f} "
            f"nats, entropy {record.entropy:.2f} nats" + (" — chosen by you" if record.chosen else ""))
        final = dict(record.top_final)
        removed = {}
        for stage, ids in record.removed_by.items():
            for t in ids:
                removed.setdefault(t, stage)
        top = record.top
        self.ids = [t for t, _ in top]
        self.table.setRowCount(len(top))
        for r, (t, p) in enumerate(top):
            cells = [label(t), str(t), f"{p:.4f}", f"{final[t]:.4f}" if t in final else "—",
                     removed.get(t, "") + (" ← chosen" if t == chosen else "")]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if t == chosen:
                    item.setBackground(pg.mkColor("#fff59d"))
                self.table.setItem(r, c, item)
        params = record.params.to_dict() if record.params is not None else None
        self.params.setText("Sampled under: " + ", ".join(f"{k}={v}" for k, v in params.items()
                                                           if k not in ("order", "logit_bias", "stop"))
                            if params else "")

    def _branch(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.branchRequested.emit(self.ids[rows[0].row()])


# ------------------------------------------------------------------------------ attention
SCALES = ("linear", "log", "power 0.3")


def _tick_levels(labels: list[str]) -> list[list[tuple[float, str]]]:
    """Token labels as tick levels, coarse to fine (every 64th, 16th, 4th, then all): the axis draws
    a finer level's text only where it has room, so zooming in shows more tokens by name."""
    levels, seen = [], set()
    for step in (64, 16, 4, 1):
        level = [(i + 0.5, lab) for i, lab in enumerate(labels) if i % step == 0 and i not in seen]
        seen.update(i for i in range(0, len(labels), step))
        if level:
            levels.append(level)
    return levels


class AttentionView(QWidget):
    """One head's query × key heatmap, head/layer means, the all-heads grid, a token's row."""

    computeRequested = Signal()
    layerChosen = Signal(int)

    def __init__(self):
        super().__init__()
        self.map = None
        lay = QVBoxLayout(self)
        self.compute = QPushButton("Compute for this conversation")
        self.compute.setToolTip("A separate forward pass with written-out attention over every token so far")
        self.compute.clicked.connect(self.computeRequested)
        lay.addWidget(self.compute)
        row = QHBoxLayout()
        row.addWidget(QLabel("Layer"))
        self.layer = QSpinBox()
        self.layer.setRange(-1, 0)
        self.layer.setSpecialValueText("mean")
        self.layer.setToolTip("Which layer (counting from 0); 'mean' averages over all layers")
        row.addWidget(self.layer)
        row.addWidget(QLabel("Head"))
        self.head = QSpinBox()
        self.head.setRange(-1, 0)
        self.head.setSpecialValueText("mean")
        self.head.setToolTip("Which head (counting from 0); 'mean' averages over the layer's heads")
        row.addWidget(self.head)
        self.scale = QComboBox()
        self.scale.addItems(SCALES)
        self.scale.setToolTip("Colour scale: attention is often tiny outside a few tokens; log or power shows them")
        row.addWidget(self.scale)
        self.grid = QCheckBox("All heads")
        self.grid.setToolTip("Every layer (rows) × every head (columns) as thumbnails; click one to open it")
        row.addWidget(self.grid)
        lay.addLayout(row)
        self.plot = pg.GraphicsLayoutWidget()
        self.view = self.plot.addPlot()
        self.view.invertY(True)
        self.view.setAspectLocked(True)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get("viridis"), interactive=False)
        self.bar.setImageItem(self.image, insert_in=self.view)
        lay.addWidget(self.plot, 3)
        self.hover = QLabel("Hover a cell for its value; click a row to see what that token attended to.")
        self.hover.setWordWrap(True)
        lay.addWidget(self.hover)
        self.rowplot = pg.PlotWidget()
        self.rowplot.setMaximumHeight(140)
        lay.addWidget(self.rowplot, 1)
        self.highlight = QTextBrowser()
        self.highlight.setMaximumHeight(120)
        self.highlight.setPlaceholderText("Click a row (or a token's 'What it attended to'): the text, shaded by attention.")
        lay.addWidget(self.highlight)
        exp = QHBoxLayout()
        for text, fn in (("Export PNG…", "png"), ("Export CSV…", "csv"), ("Export NPY…", "npy")):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, k=fn: self._ask_export(k))
            exp.addWidget(b)
        lay.addLayout(exp)
        for w in (self.layer, self.head):
            w.valueChanged.connect(self.redraw)
        self.scale.currentIndexChanged.connect(self.redraw)
        self.grid.toggled.connect(self.redraw)
        self.image.hoverEvent = self._hover
        self.image.mouseClickEvent = self._click
        self.current = np.zeros((1, 1), dtype=np.float32)

    def set_map(self, amap) -> None:
        self.map = amap
        L, H, T, _ = amap.shape
        self.layer.setRange(-1, L - 1)  # -1 shows "mean"
        self.head.setRange(-1, H - 1)
        if getattr(amap, "first", 0):
            self.hover.setText(f"Showing the last {T:,} of {amap.total:,} tokens: the maps of all of them would "
                               f"not fit in memory ({L} layers × {H} heads × tokens² values).")
        self.redraw()

    def open_layer(self, layer: int) -> None:
        self.grid.setChecked(False)
        self.layer.setValue(layer)

    def matrix(self) -> np.ndarray:
        """The (query × key) matrix shown now."""
        w = self.map.weights
        w = w.mean(0, dtype=np.float32) if self.layer.value() < 0 else w[self.layer.value()]
        return w.mean(0, dtype=np.float32) if self.head.value() < 0 else w[self.head.value()]

    def _scaled(self, m: np.ndarray) -> np.ndarray:
        kind = self.scale.currentText()
        if kind == "log":
            return np.log10(np.maximum(m, 1e-6))  # NaN (the masked future) stays NaN
        if kind.startswith("power"):
            return np.power(m, 0.3)
        return m

    def redraw(self) -> None:
        if self.map is None:
            return
        if self.grid.isChecked():
            w = self.map.weights
            L, H, T, _ = w.shape
            step = max(1, T // 48)  # thumbnails of at most ~48 × 48
            thumbs = w[:, :, ::step, ::step]
            t = thumbs.shape[-1]
            pad = 1
            mosaic = np.full((L * (t + pad), H * (t + pad)), np.nan, dtype=np.float32)
            for i in range(L):
                for j in range(H):
                    mosaic[i * (t + pad): i * (t + pad) + t, j * (t + pad): j * (t + pad) + t] = thumbs[i, j]
            self._thumb = t + pad
            self.current = mosaic
            self.view.getAxis("left").setTicks([[((i + 0.5) * self._thumb, f"L{i}") for i in range(0, L, max(1, L // 15))]])
            every = 1 if H <= 6 else 2 if H <= 16 else max(1, H // 8)  # labels that do not overlap
            self.view.getAxis("bottom").setTicks([[((j + 0.5) * self._thumb, f"H{j}") for j in range(0, H, every)]])
            shown = self._scaled(mosaic)
        else:
            m = self.matrix().astype(np.float32)
            masked = m.copy()
            masked[np.triu_indices_from(masked, 1)] = np.nan  # the future, shown empty
            self.current = m
            shown = self._scaled(masked)
            levels = _tick_levels(self.map.labels)
            self.view.getAxis("bottom").setTicks(levels)
            self.view.getAxis("left").setTicks(levels)
        finite = shown[np.isfinite(shown)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        self.image.setImage(np.nan_to_num(shown, nan=lo), levels=(lo, hi if hi > lo else lo + 1e-6))
        self.bar.setLevels((lo, hi if hi > lo else lo + 1e-6))
        self.view.autoRange()

    def _cell(self, pos):
        r, c = int(pos.y()), int(pos.x())
        if 0 <= r < self.current.shape[0] and 0 <= c < self.current.shape[1]:
            return r, c
        return None

    def _hover(self, ev) -> None:
        if ev.isExit() or self.map is None:
            return
        cell = self._cell(ev.pos())
        if cell is None:
            return
        r, c = cell
        if self.grid.isChecked():
            self.hover.setText(f"layer {r // self._thumb}, head {c // self._thumb} — click to open")
        else:
            labels = self.map.labels
            v = self.current[r, c] if c <= r else float("nan")
            self.hover.setText(f"{labels[r]!r} → {labels[c]!r}: {v:.4f}" if c <= r else "the future: masked")

    def _click(self, ev) -> None:
        cell = self._cell(ev.pos())
        if cell is None or self.map is None:
            return
        r, c = cell
        if self.grid.isChecked():
            self.grid.setChecked(False)
            self.layer.setValue(r // self._thumb)
            self.head.setValue(c // self._thumb)
            return
        self.show_row(r)

    def show_row(self, r: int) -> np.ndarray:
        """Bars of what query token r attended to (the current layer/head or mean)."""
        if self.grid.isChecked():
            self.grid.setChecked(False)
        row = self.current[r, : r + 1]
        self.rowplot.clear()
        self.rowplot.addItem(pg.BarGraphItem(x=np.arange(len(row)), height=row, width=0.8))
        self.rowplot.setTitle(f"what {self.map.labels[r]!r} attended to")
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
        return row

    # -- export ---------------------------------------------------------------------------------
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
        path, _ = QFileDialog.getSaveFileName(self, "Export attention", f"attention.{kind}", f"*.{kind}")
        if path:
            getattr(self, f"export_{kind}")(path)


# ------------------------------------------------------------------------------ lens, prompt, architecture
class LensView(QWidget):
    def __init__(self):
        super().__init__()
        lay = QVBoxLayout(self)
        self.caption = QLabel("The logit lens: for one position, the tokens each layer's residual stream would "
                              "predict through the final norm and the unembedding.")
        self.caption.setWordWrap(True)
        lay.addWidget(self.caption)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        lay.addWidget(self.table)

    def set_rows(self, rows: list, title: str = "") -> None:
        k = max((len(r) for r in rows), default=0)
        self.table.setRowCount(len(rows))
        self.table.setColumnCount(k)
        self.table.setHorizontalHeaderLabels([f"#{i + 1}" for i in range(k)])
        self.table.setVerticalHeaderLabels(["embedding"] + [f"layer {i}" for i in range(len(rows) - 1)])
        for r, row in enumerate(rows):
            for c, (label, p) in enumerate(row):
                item = QTableWidgetItem(f"{label}  {p:.2f}")
                item.setBackground(pg.mkColor(int(255 - 120 * p), int(255 - 40 * p), 255))
                self.table.setItem(r, c, item)
        if title:
            self.caption.setText(title)


class PromptView(QTextBrowser):
    """The exact text the chat template produced, token by token: boundaries, ids, specials."""

    def show_prompt(self, ids: list[int], label, is_special) -> None:
        parts = []
        for i, t in enumerate(ids):
            special = is_special(t)
            bg = "#ffcc80" if special else ("#e3f2fd" if i % 2 else "#f1f8e9")
            text = html.escape(label(t)).replace("↵", "↵<br>")
            weight = "bold" if special else "normal"
            parts.append(f'<span style="background:{bg}; color:black; font-weight:{weight}" title="id {t}">{text}</span>')
        self.setHtml(f"<p>{len(ids)} tokens; special tokens in orange, hover for ids.</p><p style='font-family:monospace'>"
                     + "".join(parts) + "</p>")


class ArchitectureView(QTextBrowser):
    layerClicked = Signal(int)

    def __init__(self):
        super().__init__()
        self.setOpenLinks(False)
        self.anchorClicked.connect(lambda url: self.layerClicked.emit(int(url.toString().split(":")[1])))

    def show_model(self, info) -> None:
        attn = (f"attention: {info.n_heads} heads ({info.n_kv_heads} key/value heads), "
                f"head size {info.dim // max(info.n_heads, 1)}")
        layers = "".join(
            f'<tr><td><a href="layer:{i}">layer {i}</a></td><td>{attn}</td><td>MLP</td></tr>' for i in range(info.n_layers))
        self.setHtml(
            f"<h3>{html.escape(info.name)}</h3><p>{info.n_params / 1e6:.1f} M parameters · {info.arch} · "
            f"{html.escape(info.quantization)} · {html.escape(info.backend)}</p>"
            f"<p>tokens → <b>embedding</b> ({info.vocab_size} × {info.dim}) → {info.n_layers} × [attention, MLP] "
            f"→ <b>norm</b> → <b>unembedding</b> ({info.dim} → {info.vocab_size}) → next-token probabilities</p>"
            f"<p>context window: {info.context} tokens. Click a layer to open its attention.</p>"
            f"<table border=1 cellspacing=0 cellpadding=3>{layers}</table>")


class InsidePanel(QTabWidget):
    def __init__(self):
        super().__init__()
        self.token = TokenInspector()
        self.attention = AttentionView()
        self.lens = LensView()
        self.prompt = PromptView()
        self.architecture = ArchitectureView()
        self.addTab(self.token, "Token")
        self.addTab(self.attention, "Attention")
        self.addTab(self.lens, "Logit lens")
        self.addTab(self.prompt, "Prompt")
        self.addTab(self.architecture, "Architecture")
        self.architecture.layerClicked.connect(self._open_layer)

    def _open_layer(self, layer: int) -> None:
        self.setCurrentWidget(self.attention)
        self.attention.open_layer(layer)
        self.attention.layerChosen.emit(layer)

