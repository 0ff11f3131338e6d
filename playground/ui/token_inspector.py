"""The token inspector: for one token of a reply, what the model chose between and how the
sampler narrowed it down — a funnel from the whole vocabulary through each stage to the token
drawn, with the alternatives each stage removed, then the alternatives as a table that fits
the panel's width. Ten alternatives come with the reply's record; "Show 50" asks the worker to
recompute the position (engine/funnel.py)."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..texts import translate

HINT = QT_TRANSLATE_NOOP("TokenInspector", "Click a token of a reply (turn on Tokens under it) to see what the model chose between.")
STAGE_NAMES = {"penalties": QT_TRANSLATE_NOOP("TokenInspector", "penalties"), "top_k": "top-k",
               "typical_p": "typical-p", "top_p": "top-p", "min_p": "min-p",
               "temperature": QT_TRANSLATE_NOOP("TokenInspector", "temperature")}


def stage_name(stage: str) -> str:
    return translate("TokenInspector", STAGE_NAMES.get(stage, stage))
STAGE_HELP = {  # (translated where shown)
    "penalties": QT_TRANSLATE_NOOP("TokenInspector", "rescores tokens already used; removes none"),
    "top_k": QT_TRANSLATE_NOOP("TokenInspector", "keeps the k most likely"),
    "typical_p": QT_TRANSLATE_NOOP("TokenInspector", "keeps the tokens of typical surprise, up to mass p"),
    "top_p": QT_TRANSLATE_NOOP("TokenInspector", "keeps the most likely until their probabilities add up to p"),
    "min_p": QT_TRANSLATE_NOOP("TokenInspector", "drops tokens below min-p × the most likely one's probability"),
    "temperature": QT_TRANSLATE_NOOP("TokenInspector", "reshapes what is left; removes none"),
}
CHOSEN_BG = "#fff59d"
SHOWN_REMOVED = 4  # removed alternatives named per stage in the funnel (all are in the table)
BAR_BLOCKS, BAR_COLOR = 12, "#42a5f5"  # the whole vocabulary's bar, in characters


def stage_setting(stage: str, params) -> str:
    """The stage with its setting, e.g. 'top-k (k = 40)'; '' when the stage is switched off."""
    if params is None:
        return stage_name(stage)
    if stage == "top_k":
        return f"top-k (k = {params.top_k})" if params.top_k > 0 else ""
    if stage == "top_p":
        return f"top-p (p = {params.top_p:g})" if params.top_p < 1 else ""
    if stage == "min_p":
        return f"min-p ({params.min_p:g})" if params.min_p > 0 else ""
    if stage == "typical_p":
        return f"typical-p ({params.typical_p:g})" if params.typical_p < 1 else ""
    if stage == "temperature":
        return (translate("TokenInspector", "greedy (temperature 0)") if params.temperature <= 0
                else translate("TokenInspector", "temperature {t:g}").format(t=params.temperature))
    if stage == "penalties":
        on = params.repeat_penalty != 1 or params.presence_penalty or params.frequency_penalty
        return stage_name("penalties") if on else ""
    return stage


def _p(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else "<0.001"


class TokenInspector(QWidget):
    branchRequested = Signal(int)  # continue the reply with this token instead
    lensRequested = Signal()
    attendRequested = Signal()  # show what this token attended to
    funnelRequested = Signal()  # recompute this position: 50 alternatives and every stage's count

    def __init__(self):
        super().__init__()
        self.setObjectName("tokenInspector")
        self.record = None
        self.funnel = None
        self.ids: list[int] = []
        lay = QVBoxLayout(self)
        self.header = QLabel(self.tr(HINT))
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.header)
        self.funnel_view = QTextBrowser()
        self.funnel_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.funnel_view.setLineWrapMode(QTextBrowser.LineWrapMode.WidgetWidth)
        self.funnel_view.setPlaceholderText(self.tr("How the sampler narrowed the vocabulary down to this token."))
        lay.addWidget(self.funnel_view, 2)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels([self.tr("token"), self.tr("model p"), self.tr("sampled p"), self.tr("what happened")])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # the lesson stays in view
        self.table.setWordWrap(True)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2):
            head.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        lay.addWidget(self.table, 3)
        more = QHBoxLayout()
        self.more = QPushButton(self.tr("Show 50 alternatives"))
        self.more.setToolTip(self.tr("Compute this position again: the 50 most likely tokens and how many candidates "
                             "each sampler stage left"))
        self.more.clicked.connect(self._ask_funnel)
        more.addWidget(self.more)
        self.more_status = QLabel()
        more.addWidget(self.more_status, 1)
        lay.addLayout(more)
        self.branch = QPushButton(self.tr("Continue with the selected token"))
        self.branch.setToolTip(self.tr("Cut the reply here, put this token in its place, and let the model go on: "
                               "a new version of the reply"))
        self.branch.clicked.connect(self._branch)
        lay.addWidget(self.branch)
        row = QHBoxLayout()
        self.lens_button = QPushButton(self.tr("Logit lens here"))
        self.lens_button.setToolTip(self.tr("What each layer would have predicted at this position"))
        self.lens_button.clicked.connect(self.lensRequested)
        self.attend_button = QPushButton(self.tr("What it attended to"))
        self.attend_button.setToolTip(self.tr("This token's row of attention, over the conversation's text"))
        self.attend_button.clicked.connect(self.attendRequested)
        row.addWidget(self.lens_button)
        row.addWidget(self.attend_button)
        lay.addLayout(row)
        self.params = QLabel()
        self.params.setWordWrap(True)
        self.params.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        lay.addWidget(self.params)
        self._enable(False)

    def _enable(self, on: bool) -> None:
        for w in (self.more, self.branch, self.lens_button, self.attend_button):
            w.setEnabled(on)

    # -- showing ---------------------------------------------------------------------------------
    def clear(self, hint: str = HINT) -> None:
        self.record = self.funnel = None
        self.ids = []
        self.header.setText(html.escape(self.tr(hint)))
        self.funnel_view.clear()
        self.table.setRowCount(0)
        self.params.setText("")
        self.more_status.setText("")
        self._enable(False)

    def show_token(self, record, label) -> None:
        """What the model chose between at one token of a reply (its TokenRecord)."""
        self.record, self.funnel, self.label = record, None, label
        chosen, raw_p = record.token_id, record.raw_prob
        self.header.setText(
            self.tr(
                "<b>{token}</b> (id {id}) — model p {raw_p:.3f}, sampled p {prob:.3f}, surprisal {surprisal:.2f} "
                "nats, entropy {entropy:.2f} nats"
            ).format(token=html.escape(label(chosen)), id=chosen, raw_p=raw_p, prob=record.prob,
                     surprisal=-math.log(max(raw_p, 1e-12)), entropy=record.entropy)
            + (self.tr(" — <i>chosen by you</i>") if getattr(record, "chosen", False) else "")
        )
        removed = {t: stage for stage, toks in record.removed_by.items() for t in toks}
        final = dict(record.top_final)
        rows = [(t, p, final.get(t), removed.get(t, "")) for t, p in record.top]
        self._fill(rows, chosen)
        self._draw_funnel(getattr(record, "survivors", None) or [], rows, chosen, record.params)
        p = record.params
        self.params.setText(
            self.tr("Sampled under: ")
            + " · ".join(
                f"{k.replace('_', ' ')} {'random' if v is None else f'{v:g}' if isinstance(v, float) else v}"
                for k, v in p.to_dict().items()
                if k not in ("order", "logit_bias", "stop")
            )
            if p is not None
            else ""
        )
        self.more_status.setText("")
        self._enable(True)
        self.more.setEnabled(not getattr(record, "chosen", False))

    def show_funnel(self, funnel) -> None:
        """The recomputed position: 50 alternatives and every stage's count."""
        if self.record is None:
            return
        self.funnel = funnel
        # what the reply recorded is exact; the recomputed pass (another kernel path, one-shot rather
        # than cached) can differ in the last digits, amplified by a low temperature: keep the
        # record's numbers where it has them, the recomputation's for the other alternatives
        rec = self.record
        raw, final = dict(rec.top), dict(rec.top_final)
        rows = [
            (
                a.token_id,
                raw.get(a.token_id, a.raw_p),
                final[a.token_id] if a.token_id in final else (a.final_p or None),
                a.removed_by,
            )
            for a in funnel.alternatives
        ]
        self._fill(rows, rec.token_id)
        self._draw_funnel(rec.survivors or funnel.survivors, rows, rec.token_id, rec.params)
        self.more_status.setText(
            self.tr("{rows} alternatives, recomputed for this position.").format(rows=len(rows))
        )

    def _fill(self, rows, chosen: int) -> None:
        self.ids = [t for t, *_ in rows]
        self.table.setRowCount(len(rows))
        for r, (t, p, fp, stage) in enumerate(rows):
            fate = (
                self.tr("← chosen")
                if t == chosen
                else (
                    self.tr("removed by {stage}").format(stage=stage_name(stage))
                    if stage
                    else self.tr("kept")
                    if fp is not None
                    else ""
                )
            )
            cells = [self.label(t), f"{p:.4f}", f"{fp:.4f}" if fp is not None else "—", fate]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setToolTip(f"id {t}")
                if t == chosen:
                    item.setBackground(QColor(CHOSEN_BG))
                    item.setForeground(QColor("black"))
                self.table.setItem(r, c, item)
        self.table.resizeRowsToContents()

    def _draw_funnel(self, survivors, rows, chosen: int, params) -> None:
        """The stages in order, each with the candidates it left (when known) as a bar on a log
        scale, and the named alternatives it removed."""
        counts = dict(survivors)
        vocab = counts.get("vocabulary")
        order = params.order if params is not None else tuple(STAGE_NAMES)
        lines = []
        if vocab:
            lines.append(self._stage_row(self.tr("the whole vocabulary"), vocab, vocab, ""))
        for stage in order:
            name = stage_setting(stage, params)
            if not name:
                continue
            gone = [(t, p) for t, p, _, s in rows if s == stage]
            named = ", ".join(f"{html.escape(self.label(t))} {_p(p)}" for t, p in gone[:SHOWN_REMOVED])
            if len(gone) > SHOWN_REMOVED:
                named += self.tr(" and {n} more of those listed").format(n=len(gone) - SHOWN_REMOVED)
            note = (
                self.tr("removed {named}").format(named=named)
                if named
                else self.tr(STAGE_HELP.get(stage, ""))
            )
            lines.append(self._stage_row(name, counts.get(stage), vocab, note))
        p_final = self.record.prob if self.record is not None else None
        drawn = self.tr("took the most likely") if params is not None and params.greedy else self.tr("drew")
        lines.append(
            f"<tr><td><b>{drawn}</b></td><td colspan=2><b>{html.escape(self.label(chosen))}</b>"
            + (f" (p {p_final:.3f})" if p_final else "")
            + "</td></tr>"
        )
        intro = (
            "<p>"
            + (
                self.tr("How the sampler narrowed the candidates down (bars on a log scale):")
                if vocab
                else self.tr(
                    "Ten alternatives were recorded with the reply; “Show 50 alternatives” counts every "
                    "stage's candidates."
                )
            )
            + "</p>"
        )
        self.funnel_view.setHtml(
            f"{intro}<table cellspacing=2 cellpadding=2 width='100%'>{''.join(lines)}</table>"
        )

    def _stage_row(self, name: str, count, vocab, note: str) -> str:
        """One stage: its name, a bar of the candidates it left (log scale, as text so it never
        wraps), their number, and what it removed."""
        if count is not None and vocab:
            frac = math.log10(max(count, 1)) / max(math.log10(vocab), 1e-9)
            blocks = "█" * max(1, round(BAR_BLOCKS * frac))
            bar = f"<span style='color:{BAR_COLOR}'>{blocks}</span>&nbsp;{count:,}"
        else:
            bar = ""
        return (
            f"<tr><td valign=top><b>{html.escape(name)}</b></td><td valign=top nowrap>{bar}</td>"
            f"<td valign=top>{note}</td></tr>"
        )

    # -- actions ---------------------------------------------------------------------------------------
    def _ask_funnel(self) -> None:
        self.more_status.setText(self.tr("Computing…"))
        self.more.setEnabled(False)
        self.funnelRequested.emit()

    def funnel_failed(self, message: str) -> None:
        self.more_status.setText(message)
        self.more.setEnabled(True)

    def _branch(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.branchRequested.emit(self.ids[rows[0].row()])
