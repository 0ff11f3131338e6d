"""The logit lens: for one position, the tokens each layer's residual stream would predict if it
went straight through the final norm and the unembedding. Shows rows the worker computed."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

CAPTION = ("The logit lens: for one position, the tokens each layer's residual stream would predict through the "
           "final norm and the unembedding.")
HINT = "Nothing to show yet: click a token of a reply, then 'Logit lens here'."


class LensView(QWidget):
    def __init__(self):
        super().__init__()
        self.setObjectName("lensView")
        lay = QVBoxLayout(self)
        self.caption = QLabel(CAPTION)
        self.caption.setWordWrap(True)
        lay.addWidget(self.caption)
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        lay.addWidget(self.hint)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(6)
        self.busy.setTextVisible(False)
        self.busy.setVisible(False)
        lay.addWidget(self.busy)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        lay.addWidget(self.table, 1)

    def set_busy(self, text: str) -> None:
        self.hint.setText(text)
        self.hint.setVisible(True)
        self.busy.setVisible(True)

    def highlight_layer(self, layer: int) -> None:
        """Embolden the row of the layer chosen in the attention viewer (-1, the mean: none)."""
        for r in range(self.table.rowCount()):
            item = self.table.verticalHeaderItem(r)
            if item is not None:
                f = QFont(item.font())
                f.setBold(r == layer + 1 and layer >= 0)
                item.setFont(f)

    def set_rows(self, rows: list, title: str = "") -> None:
        self.busy.setVisible(False)
        k = max((len(r) for r in rows), default=0)
        self.table.setRowCount(len(rows))
        self.table.setColumnCount(k)
        self.table.setHorizontalHeaderLabels([f"#{i + 1}" for i in range(k)])
        self.table.setVerticalHeaderLabels(["embedding"] + [f"layer {i}" for i in range(len(rows) - 1)])
        for r, row in enumerate(rows):
            for c, (label, p) in enumerate(row):
                item = QTableWidgetItem(f"{label}  {p:.2f}")
                item.setBackground(QColor(int(255 - 120 * p), int(255 - 40 * p), 255))
                item.setForeground(QColor("black"))
                self.table.setItem(r, c, item)
        self.hint.setVisible(not rows)
        if title:
            self.caption.setText(title)

    def clear(self, hint: str = HINT) -> None:
        self.busy.setVisible(False)
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.caption.setText(CAPTION)
        self.hint.setText(hint)
        self.hint.setVisible(True)
