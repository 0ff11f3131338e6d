"""The small views a lesson step can show beside its text (a step names one as its "panel"):
the draft's tokens, the attention row's arithmetic, a sentence's surprisals, and the tutorial
model's runs. Each draws facts the lesson runner keeps; none computes with the model."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..lessons import FactMissing


def _table(columns: int) -> QTableWidget:
    t = QTableWidget(0, columns)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def _item(text: str, align_right: bool = False) -> QTableWidgetItem:
    it = QTableWidgetItem(text)
    if align_right:
        it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return it


class _Panel(QWidget):
    def __init__(self, facts):
        super().__init__()
        self.facts = facts
        self.lay = QVBoxLayout(self)
        self.lay.setContentsMargins(0, 0, 0, 0)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.lay.addWidget(self.note)

    def refresh(self) -> None:
        raise NotImplementedError


class TokenTable(_Panel):
    """The draft in the message box, token by token: the piece of text and its id."""

    def __init__(self, facts):
        super().__init__(facts)
        self.table = _table(3)
        self.table.setHorizontalHeaderLabels([self.tr("#"), self.tr("token"), self.tr("id")])
        head = self.table.horizontalHeader()  # the numbers as wide as they are; the tokens get the rest
        head.setStretchLastSection(False)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.lay.addWidget(self.table, 1)

    def refresh(self) -> None:
        try:
            ids = self.facts.draft_ids()
            label = self.facts._tokenizer().label
        except FactMissing:
            self.note.setText(self.tr("Type in the message box: its tokens appear here."))
            self.table.setRowCount(0)
            return
        self.note.setText(self.tr("%1 tokens").replace("%1", str(len(ids))))
        self.table.setRowCount(len(ids))
        for r, t in enumerate(ids):
            self.table.setItem(r, 0, _item(str(r), True))
            self.table.setItem(r, 1, _item(label(t)))
            self.table.setItem(r, 2, _item(str(t), True))


class AttentionMath(_Panel):
    """One row of attention, worked out: each key's score (shifted so the largest is 0) and the
    weight softmax makes of it. Scores are recovered from the weights: s_j − s_max = log p_j − log p_max,
    exact, since softmax ignores a shift common to the whole row."""

    def __init__(self, facts):
        super().__init__(facts)
        self.table = _table(4)
        self.table.setHorizontalHeaderLabels([self.tr("position"), self.tr("key token"),
                                              self.tr("score − max"), self.tr("weight (softmax)")])
        self.lay.addWidget(self.table, 1)

    def refresh(self) -> None:
        try:
            labels, w = self.facts.attention_row_values()
        except FactMissing:
            self.note.setText(self.tr("No attention row is shown yet."))
            self.table.setRowCount(0)
            return
        view = self.facts.win.inside.attention
        layer, head = view.layer.value(), view.head.value()
        where = self.tr("layer %1, head %2").replace("%1", str(layer) if layer >= 0 else self.tr("mean")) \
            .replace("%2", str(head) if head >= 0 else self.tr("mean"))
        row = self.facts.attention_row
        self.note.setText(self.tr("Query: token %1 “%2” (%3). The weights add up to %4.")
                          .replace("%1", str(row)).replace("%2", html.escape(labels[-1])).replace("%3", where)
                          .replace("%4", f"{float(w.sum()):.3f}"))
        top = float(w.max()) or 1.0
        self.table.setRowCount(len(w))
        for r, (lab, p) in enumerate(zip(labels, w)):
            score = math.log(max(float(p), 1e-30)) - math.log(top)
            cells = [_item(str(r), True), _item(lab), _item(f"{score:.2f}", True), _item(f"{float(p):.4f}", True)]
            shade = QColor(255, int(255 - 150 * float(p) / top), int(255 - 200 * float(p) / top))
            for c, it in enumerate(cells):
                if c == 3:
                    it.setBackground(shade)
                    it.setForeground(QColor("black"))
                self.table.setItem(r, c, it)


class ScoreTable(_Panel):
    """A sentence's surprisals: for each token after the first, p of the token that came and −log p.
    The mean (the loss) and its exp (the perplexity) show once the student has worked them out."""

    def __init__(self, facts):
        super().__init__(facts)
        self.table = _table(4)
        self.table.setHorizontalHeaderLabels([self.tr("#"), self.tr("token"), self.tr("p"), self.tr("−log p")])
        self.lay.addWidget(self.table, 1)
        self.sums = QLabel()
        self.sums.setObjectName("lessonScoreSums")
        self.sums.setWordWrap(True)
        self.lay.addWidget(self.sums)

    def refresh(self) -> None:
        s = self.facts.score
        if s is None:
            self.note.setText(self.tr("Computing…"))
            self.table.setRowCount(0)
            self.sums.setText("")
            return
        self.note.setText(self.tr("“%1” — its first token “%2” has nothing before it.")
                          .replace("%1", html.escape("".join(s.labels).replace("·", " ")))
                          .replace("%2", html.escape(s.labels[0])))
        worst = max(s.surprisal)
        self.table.setRowCount(len(s.surprisal))
        for r, x in enumerate(s.surprisal):
            shade = QColor(255, int(255 - 180 * x / (worst or 1)), int(255 - 180 * x / (worst or 1)))
            cells = [_item(str(r + 1), True), _item(s.labels[r + 1]), _item(f"{math.exp(-x):.4f}", True),
                     _item(f"{x:.3f}", True)]
            cells[3].setBackground(shade)
            cells[3].setForeground(QColor("black"))
            for c, it in enumerate(cells):
                self.table.setItem(r, c, it)
        total = sum(s.surprisal)
        text = self.tr("sum of −log p = %1 over n = %2 tokens").replace("%1", f"{total:.3f}").replace(
            "%2", str(len(s.surprisal)))
        if "score_loss" in self.facts.revealed:
            text += "<br>" + self.tr("loss L = sum / n = %1 nats per token").replace("%1", f"{s.loss:.3f}")
        if "score_perplexity" in self.facts.revealed:
            text += "<br>" + self.tr("perplexity = e^L = %1").replace("%1", f"{s.perplexity:.2f}")
        self.sums.setText(text)


class TutorialRuns(_Panel):
    """Every run of the tutorial's model in this lesson: its switches, last losses and sample."""

    def __init__(self, facts):
        super().__init__(facts)
        self.table = _table(5)
        self.table.setHorizontalHeaderLabels([self.tr("causal mask"), self.tr("positions"), self.tr("training loss"),
                                              self.tr("validation loss"), self.tr("sample")])
        self.table.setWordWrap(True)
        self.lay.addWidget(self.table, 1)

    def refresh(self) -> None:
        from .lesson_facts import TUTORIAL_ARCH

        runs = [r for r in self.facts.runs if r.get("arch") == TUTORIAL_ARCH and r.get("kind") == "pretrain"]
        self.note.setText(self.tr("Runs of the tutorial encoder in this lesson:") if runs else
                          self.tr("No run yet: press Pretrain in the studio."))
        yes, no = self.tr("on"), self.tr("off")
        self.table.setRowCount(len(runs))
        for r, run in enumerate(runs):
            val = run.get("val_loss")
            cells = [yes if run.get("causal") else no, yes if run.get("positions") else no,
                     f"{run.get('train_loss', float('nan')):.3f}", f"{val:.3f}" if val is not None else "—",
                     (run.get("sample") or "").replace("\n", "↵ ")[:80]]
            for c, text in enumerate(cells):
                it = _item(text, c in (2, 3))
                if c == 4:
                    it.setData(Qt.ItemDataRole.UserRole, "model output")
                self.table.setItem(r, c, it)
        self.table.resizeRowsToContents()


PANEL_CLASSES = {"token_table": TokenTable, "attention_math": AttentionMath, "score_table": ScoreTable,
                 "tutorial_runs": TutorialRuns}

