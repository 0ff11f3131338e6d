"""A/B decoding, side by side: one conversation prefix answered under two to four sets of sampling
parameters, streamed together on the one model (token by token, in turn), with the first token
where the sides part marked in each column and what each side chose between there.

Layout and wiring only: the session's `Comparison` runs it (session/compare.py), the engine
interleaves the sides (engine/side_by_side.py). Replies repaint on a frame timer.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..sampling_params import SamplingParams
from ..session import ChatSession, Comparison
from .compare_parts import MAX_SIDES, SIDE_COLORS, SIDE_NAMES, DivergenceTable, SideEditor, side_html

FRAME_MS = 30


def default_sides(current: SamplingParams) -> list[SamplingParams]:
    """Greedy against the chat's own parameters, both with one fixed seed so a run repeats."""
    seed = current.seed if current.seed is not None else 42
    return [current.replace(temperature=0.0, seed=seed), current.replace(seed=seed)]


class CompareWindow(QWidget):
    comparisonStarted = Signal(object)  # the Comparison
    comparisonFinished = Signal(object)  # the Comparison, every side ended and shown
    diverged = Signal(int)  # the first token index where the sides differ

    def __init__(self, session: ChatSession, label=None, parent=None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("compareWindow")
        self.session = session
        self.label = label or str
        self.comparison: Comparison | None = None
        self.upto = None  # the reply whose prefix is compared, or None: the conversation and a question
        self.setWindowTitle(self.tr("Compare settings — Playground"))
        self.resize(1200, 760)
        lay = QVBoxLayout(self)
        self.source = QLabel()
        self.source.setObjectName("compareSource")
        self.source.setWordWrap(True)
        lay.addWidget(self.source)
        self.question = QPlainTextEdit()
        self.question.setObjectName("compareQuestion")
        self.question.setPlaceholderText(self.tr("The question every side answers (after the conversation so far)"))
        self.question.setMaximumHeight(60)
        lay.addWidget(self.question)
        self.editors_row = QHBoxLayout()
        lay.addLayout(self.editors_row)
        buttons = QHBoxLayout()
        self.add_button = QPushButton(self.tr("Add a side"))
        self.add_button.setObjectName("compareAddSide")
        self.remove_button = QPushButton(self.tr("Remove a side"))
        self.remove_button.setObjectName("compareRemoveSide")
        self.run_button = QPushButton(self.tr("Run all sides"))
        self.run_button.setObjectName("compareRun")
        self.run_button.setToolTip(self.tr("Every side answers the same prefix on the same model, one token each in turn"))
        self.stop_button = QPushButton(self.tr("Stop"))
        self.stop_button.setObjectName("compareStop")
        for b in (self.add_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        lay.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Vertical)
        self.columns_widget = QWidget()
        self.columns = QHBoxLayout(self.columns_widget)
        self.columns.setContentsMargins(0, 0, 0, 0)
        split.addWidget(self.columns_widget)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        self.divergence_label = QLabel()
        self.divergence_label.setObjectName("compareDivergence")
        self.divergence_label.setWordWrap(True)
        bl.addWidget(self.divergence_label)
        self.table = DivergenceTable()
        bl.addWidget(self.table, 1)
        split.addWidget(bottom)
        split.setSizes([430, 250])
        lay.addWidget(split, 1)
        self.editors: list[SideEditor] = []
        self.outputs: list[QTextBrowser] = []
        self._dirty = False
        self.frame = QTimer(self)
        self.frame.setInterval(FRAME_MS)
        self.frame.timeout.connect(self._paint)
        self.add_button.clicked.connect(lambda: self.add_side())
        self.remove_button.clicked.connect(self.remove_side)
        self.run_button.clicked.connect(self.run)
        self.stop_button.clicked.connect(self.stop)
        self.set_sides(default_sides(session.backend.live.get()))
        self._show_divergence()

    # -- what is compared ------------------------------------------------------------------------------
    def set_prefix(self, upto=None, draft: str = "") -> None:
        """Compare what a reply answered (`upto`), or the conversation so far plus a question."""
        self.upto = upto
        if upto is not None:
            asked = upto.parent.text if upto.parent is not None and upto.parent.role == "user" else ""
            self.source.setText(self.tr("Every side answers the same prefix as this reply: the conversation up "
                                        "to the question “%1”.").replace("%1", html.escape(asked[:120])))
            self.question.setPlainText(asked)
            self.question.setReadOnly(True)
        else:
            self.source.setText(self.tr("Every side answers this question, after the conversation so far."))
            self.question.setReadOnly(False)
            if draft:
                self.question.setPlainText(draft)

    def set_sides(self, sides: list[SamplingParams]) -> None:
        while len(self.editors) > len(sides):
            self._drop_last()
        for i, p in enumerate(sides[:MAX_SIDES]):
            if i < len(self.editors):
                self.editors[i].set_params(p)
            else:
                self.add_side(p)
        self._update_buttons()

    def sides(self) -> list[SamplingParams]:
        return [e.params() for e in self.editors]

    def add_side(self, params: SamplingParams | None = None) -> None:
        if len(self.editors) >= MAX_SIDES:
            return
        i = len(self.editors)
        if params is None:
            last = self.editors[-1].params() if self.editors else SamplingParams()
            params = last.replace(temperature=min(2.0, round(last.temperature + 0.5, 2)))
        editor = SideEditor(i, params)
        self.editors.append(editor)
        self.editors_row.addWidget(editor)
        out = QTextBrowser()
        out.setObjectName(f"compareOutput{i}")
        out.setProperty("pgModelOutput", True)  # model text: not translated
        out.setStyleSheet(f"QTextBrowser {{ border-top: 3px solid {SIDE_COLORS[i]}; }}")
        self.outputs.append(out)
        self.columns.addWidget(out)
        self._update_buttons()

    def remove_side(self) -> None:
        if len(self.editors) > 2:
            self._drop_last()
        self._update_buttons()

    def _drop_last(self) -> None:
        for w in (self.editors.pop(), self.outputs.pop()):
            w.setParent(None)
            w.deleteLater()

    # -- running ---------------------------------------------------------------------------------------------
    def run(self) -> Comparison | None:
        if self.comparison is not None and self.comparison.running:
            return None
        draft = "" if self.upto is not None else self.question.toPlainText()
        comp = self.session.compare(self.sides(), upto=self.upto, draft=draft)
        if comp is None:
            self.divergence_label.setText(self.tr("Nothing to compare: write a question first, or load a model."))
            return None
        self.comparison = comp
        for out in self.outputs:
            out.clear()
        self.table.setRowCount(0)
        comp.token.connect(lambda side, ev: self._mark_dirty())
        comp.diverged.connect(self._on_diverged)
        comp.side_finished.connect(lambda side: self._mark_dirty())
        comp.finished.connect(self._on_finished)
        self._update_buttons(running=True)
        self._show_divergence()
        self.frame.start()
        self.comparisonStarted.emit(comp)
        comp.start()
        return comp

    def stop(self) -> None:
        if self.comparison is not None:
            self.comparison.stop()

    def _mark_dirty(self) -> None:
        self._dirty = True

    def _on_diverged(self, index: int) -> None:
        self._dirty = True
        self._show_divergence()
        self.diverged.emit(index)

    def _on_finished(self) -> None:
        self._paint(force=True)
        self.frame.stop()
        self._update_buttons(running=False)
        self._show_divergence()
        self.comparisonFinished.emit(self.comparison)

    def _paint(self, force: bool = False) -> None:
        if not (self._dirty or force) or self.comparison is None:
            return
        self._dirty = False
        comp = self.comparison
        for i, (side, out) in enumerate(zip(comp.sides, self.outputs)):
            bar = out.verticalScrollBar()
            at_end = bar.value() >= bar.maximum() - 20
            out.setHtml(side_html(side, i, comp.divergence, self.label))
            if at_end:
                bar.setValue(bar.maximum())

    def _show_divergence(self) -> None:
        comp = self.comparison
        if comp is None:
            self.divergence_label.setText(self.tr("Choose the parameters of each side and press Run all sides. "
                                                  "The first token where the sides differ is marked ▶ in each "
                                                  "column, and the table shows what each side chose between there."))
            return
        if comp.divergence is None:
            text = (self.tr("The sides have not parted yet.") if comp.running else
                    self.tr("Every side wrote the same tokens."))
            self.divergence_label.setText(text)
            self.table.setRowCount(0)
            return
        d = comp.divergence
        records = comp.at_divergence()
        names = ", ".join(f"{SIDE_NAMES[i]}: “{self.label(r.token_id)}”" for i, r in enumerate(records) if r is not None)
        shared = "".join(t.text for t in comp.sides[0].tokens[:d])
        self.divergence_label.setText(
            self.tr("The sides part at token %1 (counting from 0), after “%2”. Chosen there — %3. The model's "
                    "probabilities are the same on every side (the same prefix); each side's sampler changes them.")
            .replace("%1", str(d)).replace("%2", html.escape(shared[-60:])).replace("%3", html.escape(names)))
        self.table.show_tokens(records, self.label)

    def _update_buttons(self, running: bool | None = None) -> None:
        if running is None:
            running = self.comparison is not None and self.comparison.running
        self.run_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.add_button.setEnabled(not running and len(self.editors) < MAX_SIDES)
        self.remove_button.setEnabled(not running and len(self.editors) > 2)
        for e in self.editors:
            e.setEnabled(not running)

    def closeEvent(self, e) -> None:
        self.stop()
        super().closeEvent(e)
