"""The chat pane: one widget per visible message, rendered from the conversation tree.

Only the message being streamed is re-rendered while a reply arrives (the window calls
`refresh(message)` at most once per frame), so a long conversation costs nothing per token.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..conversation import Conversation, Message
from .markdown import to_html

_MARK = "\ue010"  # where the sampling parameters changed, inside a reply's text


def is_dark() -> bool:
    app = QGuiApplication.instance()
    return bool(app) and app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def stats_line(meta: dict) -> str:
    bits = []
    if "tokens" in meta:
        bits.append(f"{meta['tokens']} tokens")
    if meta.get("tok_s"):
        bits.append(f"{meta['tok_s']:.1f} tok/s")
    if meta.get("ttft_ms") is not None:
        bits.append(f"first token {meta['ttft_ms']:.0f} ms")
    if meta.get("model"):
        bits.append(meta["model"])
    if meta.get("finish") == "cancelled":
        bits.append("stopped")
    elif meta.get("finish") == "length":
        bits.append("hit the token limit")
    if meta.get("error"):
        bits.append(f"error: {meta['error']}")
    return " · ".join(bits)


def token_records(msg: Message) -> list[dict]:
    """Per-token records of a reply: live TokenEvents while in memory, else the saved record."""
    events = msg.meta.get("_events")
    if events:
        return [{"id": e.token_id, "text": e.text, "p": e.prob, "raw_p": e.raw_prob, "entropy": e.entropy,
                 "top": e.top, "top_final": e.top_final, "removed_by": e.removed_by,
                 "params": e.params.to_dict()} for e in events]
    return list(msg.meta.get("token_record") or [])


class MessageWidget(QFrame):
    copyRequested = Signal(object)
    tokenClicked = Signal(object, int)  # message, token index
    replayRequested = Signal(object)
    regenerateRequested = Signal(object)
    editRequested = Signal(object)
    versionRequested = Signal(object, int)

    def __init__(self, conv: Conversation, msg: Message):
        super().__init__()
        self.msg = msg
        self.conv = conv
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("assistantMessage" if msg.role == "assistant" else "userMessage")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        head = QHBoxLayout()
        self.role = QLabel(f"<b>{'You' if msg.role == 'user' else 'Assistant'}</b>")
        head.addWidget(self.role)
        head.addStretch(1)
        self.prev = self._button("◀", "Previous version", lambda: self.versionRequested.emit(msg, self._index() - 2))
        self.version = QLabel()
        self.next = self._button("▶", "Next version", lambda: self.versionRequested.emit(msg, self._index()))
        for w in (self.prev, self.version, self.next):
            head.addWidget(w)
        self.copy = self._button("Copy", "Copy this message's text", lambda: self.copyRequested.emit(msg))
        head.addWidget(self.copy)
        self.replay = self._button("Replay", "Generate this reply again from its seed and parameter timeline "
                                   "and check that every token is the same", lambda: self.replayRequested.emit(msg))
        head.addWidget(self.replay)
        self.tokens = self._button("Tokens", "Show the reply token by token, coloured by surprisal (−log p); "
                                   "click a token to inspect it", self.refresh)
        self.tokens.setCheckable(True)
        head.addWidget(self.tokens)
        if msg.role == "assistant":
            self.action = self._button("Regenerate", "Write a new version of this reply (Ctrl+R)",
                                       lambda: self.regenerateRequested.emit(msg))
        else:
            self.action = self._button("Edit", "Change this message and send it again; the old branch is kept",
                                       lambda: self.editRequested.emit(msg))
        head.addWidget(self.action)
        lay.addLayout(head)
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.body.linkActivated.connect(self._on_link)
        self.body.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        lay.addWidget(self.body)
        self.stats = QLabel()
        self.stats.setObjectName("stats")
        self.stats.setStyleSheet("color: gray; font-size: small;")
        self.stats.setWordWrap(True)  # a narrow chat pane wraps it rather than scrolling sideways
        lay.addWidget(self.stats)
        self.refresh()

    def _button(self, text, tip, fn) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.clicked.connect(fn)
        return b

    def _index(self) -> int:
        return self.conv.versions(self.msg)[0]

    def _on_link(self, href: str) -> None:
        if href.startswith("tok:"):
            self.tokenClicked.emit(self.msg, int(href[4:]))

    def token_html(self) -> str:
        from .inside import surprisal_color

        parts = []
        for i, rec in enumerate(token_records(self.msg)):
            text = rec.get("text")
            if text is None:  # a saved record: the text of each token is not stored, only its id
                text = f"[{rec['id']}]"
            shown = html.escape(text).replace("\n", "↵<br>") or "∅"
            parts.append(f'<a href="tok:{i}" style="text-decoration:none; color:black; '
                         f'background:{surprisal_color(rec.get("raw_p", 1.0))}">{shown}</a>')
        return "".join(parts)

    def refresh(self) -> None:
        has_tokens = self.msg.role == "assistant" and bool(token_records(self.msg))
        self.tokens.setVisible(has_tokens)
        if has_tokens and self.tokens.isChecked():
            self.body.setText(self.token_html() or "<i>…</i>")
            self.stats.setText(stats_line(self.msg.meta) + " · surprisal: white = expected, red = surprising")
            self._refresh_versions()
            return
        text = self.msg.text
        marks = self.msg.meta.get("param_marks", [])
        if marks:  # insert markers from the end so offsets stay valid
            for off, _ in sorted(marks, reverse=True):
                text = text[:off] + _MARK + text[off:]
        body = to_html(text, is_dark()) if text else "<i>…</i>"
        for _, label in marks:
            body = body.replace(
                html.escape(_MARK), f'<span style="background:#ffd54f; color:black;" title="{html.escape(label)}">'
                f"&nbsp;⚙ {html.escape(label)}&nbsp;</span>", 1)
        self.body.setText(body)
        self.stats.setText(stats_line(self.msg.meta))
        self.stats.setVisible(bool(self.stats.text()))
        self.replay.setVisible(self.msg.role == "assistant" and bool(self.msg.meta.get("token_record")))
        self._refresh_versions()

    def _refresh_versions(self) -> None:
        i, n = self.conv.versions(self.msg)
        self.version.setText(f"{i}/{n}")
        for w in (self.prev, self.version, self.next):
            w.setVisible(n > 1)
        self.prev.setEnabled(i > 1)
        self.next.setEnabled(i < n)


class ChatView(QScrollArea):
    copyRequested = Signal(object)
    tokenClicked = Signal(object, int)
    replayRequested = Signal(object)
    regenerateRequested = Signal(object)
    editRequested = Signal(object)
    versionRequested = Signal(object, int)

    def __init__(self):
        super().__init__()
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # messages wrap to the width
        self._inner = QWidget()
        self._layout = QVBoxLayout(self._inner)
        self._layout.addStretch(1)
        self.setWidget(self._inner)
        self.widgets: dict[int, MessageWidget] = {}
        self.conv: Conversation | None = None
        self.placeholder = QLabel("Ask the model something. Enter sends, Shift+Enter adds a line.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: gray;")
        self._layout.insertWidget(0, self.placeholder)

    def set_conversation(self, conv: Conversation) -> None:
        self.conv = conv
        for w in self.widgets.values():
            w.setParent(None)
            w.deleteLater()
        self.widgets.clear()
        for m in conv.path():
            self._add(m)
        self.placeholder.setVisible(not self.widgets)
        self.scroll_to_end()

    def _add(self, m: Message) -> MessageWidget:
        w = MessageWidget(self.conv, m)
        w.copyRequested.connect(self.copyRequested)
        w.replayRequested.connect(self.replayRequested)
        w.tokenClicked.connect(self.tokenClicked)
        w.regenerateRequested.connect(self.regenerateRequested)
        w.editRequested.connect(self.editRequested)
        w.versionRequested.connect(self.versionRequested)
        self._layout.insertWidget(self._layout.count() - 1, w)
        self.widgets[m.id] = w
        return w

    def refresh(self, m: Message) -> None:
        w = self.widgets.get(m.id)
        if w is not None:
            at_end = self.verticalScrollBar().value() >= self.verticalScrollBar().maximum() - 40
            w.refresh()
            if at_end:
                self.scroll_to_end()

    def scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())
        # the range grows only after the next layout pass; follow it there too
        QTimer.singleShot(0, lambda: bar.setValue(bar.maximum()))
