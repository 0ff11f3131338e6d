"""The pieces of the A/B window: one side's parameters (`SideEditor`), one side's streamed reply
(`side_html`), and the table of what each side chose between where they part (`DivergenceTable`).
They show what the session's `Comparison` holds; nothing here runs the model."""

from __future__ import annotations

import html
import math
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
)

from ..records import TokenRecord
from ..sampling_params import PRESETS, SamplingParams
from ..texts import translate
from .sampling_panel import preset_title

SIDE_NAMES = "ABCD"
SIDE_COLORS = ("#1e88e5", "#e53935", "#43a047", "#8e24aa")  # one colour per side, in every view
MAX_SIDES = len(SIDE_NAMES)


class SideEditor(QGroupBox):
    """The parameters of one side: a preset to start from, and the few that change decoding most."""

    changed = Signal()

    def __init__(self, index: int, params: SamplingParams):
        super().__init__()
        self.index = index
        self.setTitle(self.tr("Side %1").replace("%1", SIDE_NAMES[index]))
        self.setObjectName(f"compareSide{index}")
        self.setStyleSheet(f"QGroupBox#compareSide{index} {{ border: 2px solid {SIDE_COLORS[index]}; "
                           "border-radius: 4px; margin-top: 1.2em; padding-top: 4px; }"
                           f"QGroupBox#compareSide{index}::title {{ color: {SIDE_COLORS[index]}; "
                           "subcontrol-origin: margin; left: 8px; }")
        self._base = params
        form = QFormLayout(self)
        self.preset = QComboBox()
        self.preset.addItem(self.tr("(custom)"), "")
        for name in PRESETS:
            self.preset.addItem(preset_title(name), name)
        self.preset.setToolTip(self.tr("Start from a named set of parameters"))
        self.preset.activated.connect(self._on_preset)
        form.addRow(self.tr("Preset"), self.preset)
        self.temperature = self._double(0.0, 2.0, 0.05, self.tr(
            "Divides the logits before softmax; 0 always takes the most likely token"))
        self.top_k = self._int(0, 200, self.tr("Keep only the k most likely tokens; 0 turns it off"))
        self.top_p = self._double(0.0, 1.0, 0.01, self.tr("Keep the most likely tokens up to this much probability; 1 turns it off"))
        self.min_p = self._double(0.0, 1.0, 0.01, self.tr("Drop tokens less likely than this times the top token; 0 turns it off"))
        self.seed = self._int(0, 2**31 - 1, self.tr("The random seed: the same seed and parameters give the same reply"))
        self.max_tokens = self._int(1, 2048, self.tr("Each side stops after this many tokens"))
        for label, w, name in ((self.tr("Temperature"), self.temperature, "Temperature"),
                               (self.tr("Top-k"), self.top_k, "TopK"), (self.tr("Top-p"), self.top_p, "TopP"),
                               (self.tr("Min-p"), self.min_p, "MinP"), (self.tr("Seed"), self.seed, "Seed"),
                               (self.tr("Max new tokens"), self.max_tokens, "MaxTokens")):
            w.setObjectName(f"compareSide{index}{name}")
            form.addRow(label, w)
        self.set_params(params)

    def _double(self, lo, hi, step, tip) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setRange(lo, hi)
        s.setSingleStep(step)
        s.setDecimals(2)
        s.setToolTip(tip)
        s.valueChanged.connect(self._on_edit)
        return s

    def _int(self, lo, hi, tip) -> QSpinBox:
        s = QSpinBox()
        s.setRange(lo, hi)
        s.setToolTip(tip)
        s.valueChanged.connect(self._on_edit)
        return s

    def set_params(self, p: SamplingParams) -> None:
        self._base = p
        self._updating = True
        try:
            self.temperature.setValue(p.temperature)
            self.top_k.setValue(min(p.top_k, 200))
            self.top_p.setValue(p.top_p)
            self.min_p.setValue(p.min_p)
            self.seed.setValue(p.seed if p.seed is not None else 42)
            self.max_tokens.setValue(min(p.max_tokens, 2048))
        finally:
            self._updating = False
        self._show_preset()

    def params(self) -> SamplingParams:
        """This side's parameters: the edited fields over the ones it started from (penalties, stop
        strings and the rest as the chat has them). The seed is always fixed, so a run repeats."""
        return self._base.replace(temperature=self.temperature.value(), top_k=self.top_k.value(),
                                  top_p=self.top_p.value(), min_p=self.min_p.value(), seed=self.seed.value(),
                                  max_tokens=self.max_tokens.value())

    def _on_preset(self, i: int) -> None:
        name = self.preset.itemData(i)
        if name:
            p = PRESETS[name]
            self.set_params(p.replace(seed=self.seed.value(), max_tokens=self.max_tokens.value()))
            self.changed.emit()

    def _on_edit(self) -> None:
        if not getattr(self, "_updating", False):
            self._show_preset()
            self.changed.emit()

    def _show_preset(self) -> None:
        p = self.params()
        keys = ("temperature", "top_k", "top_p", "min_p")
        match = next((i for i in range(1, self.preset.count())
                      if all(getattr(PRESETS[self.preset.itemData(i)], k) == getattr(p, k) for k in keys)), 0)
        self.preset.setCurrentIndex(match)


def side_html(side, index: int, divergence: int | None, label: Callable[[int], str]) -> str:
    """A side's reply so far, token by token: the tokens every side shares in plain text, the one
    where the sides part boxed in the side's colour, the rest after it tinted."""
    color = SIDE_COLORS[index]
    parts = []
    for i, rec in enumerate(side.tokens):
        text = html.escape(rec.text).replace("\n", "↵<br>") or html.escape(label(rec.token_id))
        tip = f"#{i} · p={rec.raw_prob:.3f}"
        if divergence is not None and i == divergence:
            parts.append(f'<span style="background:{color}; color:white; font-weight:bold" title="{tip}">'
                         f"▶{text}</span>")
        elif divergence is not None and i > divergence:
            parts.append(f'<span style="color:{color}" title="{tip}">{text}</span>')
        else:
            parts.append(f'<span title="{tip}">{text}</span>')
    if side.error:
        parts.append(f'<p style="color:#c62828">{html.escape(side.error)}</p>')
    elif side.finish is not None:
        n = len(side.tokens)
        parts.append('<p style="color:gray">' + html.escape(
            translate("Compare", "— %1 tokens, ended: %2").replace("%1", str(n)).replace("%2", reason_text(side.finish.reason)))
            + "</p>")
    return "".join(parts) or '<i style="color:gray">…</i>'


def reason_text(reason: str) -> str:
    return {"eos": translate("Compare", "end of text"), "length": translate("Compare", "token limit"), "stop": translate("Compare", "stop string"),
            "cancelled": translate("Compare", "stopped"), "context": translate("Compare", "context full")}.get(reason, reason)


class DivergenceTable(QTableWidget):
    """Where the sides part: the model's probabilities for the most likely next tokens (the same on
    every side: the same prefix), each side's probability after its own sampler, and its choice."""

    def __init__(self):
        super().__init__(0, 2)
        self.setObjectName("compareProbabilities")
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.rows: list[int] = []

    def show_tokens(self, records: list[TokenRecord | None], label: Callable[[int], str], rows: int = 8) -> None:
        n = len(records)
        self.setColumnCount(2 + n)
        self.setHorizontalHeaderLabels([self.tr("token"), self.tr("model p")]
                                       + [self.tr("p on side %1").replace("%1", SIDE_NAMES[i]) for i in range(n)])
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        first = next((r for r in records if r is not None), None)
        if first is None:
            self.setRowCount(0)
            self.rows = []
            return
        raw = dict(first.top)
        ids = [t for t, _ in first.top[:rows]]
        for r in records:  # a side's choice is always shown, even when it is not among the most likely
            if r is not None and r.token_id not in ids:
                ids.append(r.token_id)
                raw.setdefault(r.token_id, r.raw_prob)
        self.rows = ids
        self.setRowCount(len(ids))
        for row, t in enumerate(ids):
            self.setItem(row, 0, QTableWidgetItem(label(t)))
            self.setItem(row, 1, QTableWidgetItem(f"{raw.get(t, 0.0):.4f}"))
            for c, rec in enumerate(records):
                if rec is None:
                    item = QTableWidgetItem("—")
                else:
                    final = dict(rec.top_final)
                    p = final.get(t, 0.0)
                    mark = "  ◀" if t == rec.token_id else ""
                    item = QTableWidgetItem(f"{p:.4f}{mark}" if p > 0 or mark else "0")
                    if t == rec.token_id:
                        item.setBackground(QColor(SIDE_COLORS[c]))
                        item.setForeground(QColor("white"))
                self.setItem(row, 2 + c, item)


def surprisal(p: float) -> float:
    return -math.log(max(p, 1e-12))
