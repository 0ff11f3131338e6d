"""The logit lens: for one position, the tokens each layer's residual stream would predict if it
went straight through the final norm and the unembedding. Shows rows the worker computed, and, at
a token of a reply, how its last row compares with what the reply recorded."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

CAPTION = QT_TRANSLATE_NOOP("LensView", "The logit lens: for one position, the tokens each layer's residual stream "
                            "would predict through the final norm and the unembedding.")
HINT = QT_TRANSLATE_NOOP("LensView", "Nothing to show yet: click a token of a reply, then 'Logit lens here'.")


def recorded_note(rows: list, label: str, recorded_p: float) -> str:
    """How the lens's last row (the model's own distribution, from one pass over the whole
    conversation) compares with the probability the reply recorded for its token `label` when it
    wrote it, token by token. The two are the same model computed with different rounding, so on
    the fast path they can differ a little; the note says so rather than leaving two numbers apart."""
    last = dict(rows[-1]) if rows else {}
    here = last.get(label)
    shown = f"“{label}”"
    if here is None:
        return (f"The reply recorded p {recorded_p:.3f} for {shown} when it wrote it; this pass does not rank it "
                f"among its top {len(rows[-1]) if rows else 0}.")
    if round(here, 3) == round(recorded_p, 3):
        return f"Last row: {shown} p {here:.3f}, as the reply recorded when it wrote it."
    return (f"Last row: {shown} p {here:.3f} in this pass over the whole conversation; the reply recorded "
            f"{recorded_p:.3f} when it wrote it, one token at a time. Same model, different rounding: one token's "
            "products round their input to 8 bits (as llama.cpp does), a whole pass computes in bfloat16, so the "
            "two can differ in the second decimal.")


class LensView(QWidget):
    def __init__(self):
        super().__init__()
        self.setObjectName("lensView")
        lay = QVBoxLayout(self)
        self.caption = QLabel(self.tr(CAPTION))
        self.caption.setWordWrap(True)
        lay.addWidget(self.caption)
        self.note = QLabel("")  # the last row against the reply's record (recorded_note)
        self.note.setWordWrap(True)
        self.note.setVisible(False)
        lay.addWidget(self.note)
        self.hint = QLabel(self.tr(HINT))
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
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)  # all 8 in view
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

    def set_rows(self, rows: list, title: str = "", note: str = "") -> None:
        self.busy.setVisible(False)
        self.note.setText(note)
        self.note.setVisible(bool(note))
        k = max((len(r) for r in rows), default=0)
        self.table.setRowCount(len(rows))
        self.table.setColumnCount(k)
        self.table.setHorizontalHeaderLabels([f"#{i + 1}" for i in range(k)])
        self.table.setVerticalHeaderLabels([self.tr("embedding")] + [self.tr("layer {n}").format(n=i)
                                                                      for i in range(len(rows) - 1)])
        for r, row in enumerate(rows):
            for c, (label, p) in enumerate(row):
                item = QTableWidgetItem(f"{label}  {p:.3f}")  # three decimals, as the token inspector
                item.setBackground(QColor(int(255 - 120 * p), int(255 - 40 * p), 255))
                item.setForeground(QColor("black"))
                item.setToolTip(f"{label}  {p:.4f}")  # the whole token when its column elides it
                self.table.setItem(r, c, item)
        self.hint.setVisible(not rows)
        if rows:  # the last row is the model's own prediction: in view, whatever the height
            self.table.scrollToItem(self.table.item(len(rows) - 1, 0))
        if title:
            self.caption.setText(title)

    def clear(self, hint: str = HINT) -> None:
        self.busy.setVisible(False)
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.caption.setText(self.tr(CAPTION))
        self.note.setVisible(False)
        self.hint.setText(self.tr(hint))
        self.hint.setVisible(True)
