"""Seeing inside the model: the token inspector here, and the tabs that hold it beside the
attention viewer, the logit lens, the prompt inspector and the architecture view (each in its
own file). Everything here draws numpy arrays and strings the worker computed; nothing here
runs the model."""

from __future__ import annotations

import html
import math

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..records import TokenRecord
from .architecture_view import ArchitectureView
from .attention_view import AttentionView
from .lens_view import LensView
from .prompt_view import PromptView

__all__ = ["ArchitectureView", "AttentionView", "InsidePanel", "LensView", "PromptView", "TokenInspector",
           "surprisal_color"]


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

