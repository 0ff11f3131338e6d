"""The chat pane: one widget per visible message, rendered from the conversation tree.

Only the message being streamed is re-rendered while a reply arrives (the window calls
`refresh(message)` at most once per frame), and of it only the growing tail (`MarkdownStream`):
its settled blocks sit in a column of labels (`ChunkedRichText`: a block that completes is added
to the last one) and the tail in a `GrowingText` laid out once per change, so neither a long
conversation nor a long reply costs more per frame (rich_text.py says why QLabel alone did).
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..conversation import Conversation, Message
from ..records import TokenRecord, stats_line
from .flow_layout import FlowLayout
from .markdown import MarkdownStream
from .param_marks import param_marks
from .rich_text import ChunkedRichText, GrowingText
from .token_tint import mark_span, token_html

_MARK = "\ue010"  # where the sampling parameters changed, inside a reply's text


_LAYOUT_LEVELS = 12  # passes at most: label → chunks → message → column → scroll area, twice if the scroll bar appears


def is_dark() -> bool:
    app = QGuiApplication.instance()
    return bool(app) and app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def token_records(msg: Message) -> list[TokenRecord]:
    """A reply's tokens as recorded (live while it streams, or as saved)."""
    return msg.record.tokens if msg.record is not None else []


def _with_marks(body: str, labels) -> str:
    """Each parameter-change marker in the HTML becomes a small yellow label saying what changed."""
    while _MARK in body:
        body = body.replace(_MARK, mark_span(next(labels, "")), 1)
    return body


class MessageWidget(QFrame):
    copyRequested = Signal(object)
    tokenClicked = Signal(object, int)  # message, token index
    replayRequested = Signal(object)
    regenerateRequested = Signal(object)
    editRequested = Signal(object)
    versionRequested = Signal(object, int)
    compareRequested = Signal(object)  # a reply: answer its prefix under other parameters (A/B)

    def __init__(self, conv: Conversation, msg: Message):
        super().__init__()
        self.msg = msg
        self.conv = conv
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("assistantMessage" if msg.role == "assistant" else "userMessage")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        head = FlowLayout()  # the buttons wrap onto a second line in a narrow pane, never past its edge
        who = self.tr("You") if msg.role == "user" else self.tr("Assistant")  # outside the f-string: lupdate sees it
        self.role = QLabel(f"<b>{who}</b>")
        head.addWidget(self.role)
        head.addStretch()
        self.prev = self._button("◀", self.tr("Previous version"), lambda: self.versionRequested.emit(msg, self._index() - 2))
        self.version = QLabel()
        self.next = self._button("▶", self.tr("Next version"), lambda: self.versionRequested.emit(msg, self._index()))
        for w in (self.prev, self.version, self.next):
            head.addWidget(w)
        self.copy = self._button(self.tr("Copy"), self.tr("Copy this message's text"), lambda: self.copyRequested.emit(msg))
        head.addWidget(self.copy)
        self.replay = self._button(self.tr("Replay"), self.tr("Generate this reply again from its seed and parameter "
                                                              "timeline and check that every token is the same"), lambda: self.replayRequested.emit(msg))
        head.addWidget(self.replay)
        self.tokens = self._button(self.tr("Tokens"), self.tr("Show the reply token by token, coloured by surprisal "
                                                              "(−log p); click a token to inspect it"), self.refresh)
        self.tokens.setCheckable(True)
        head.addWidget(self.tokens)
        if msg.role == "assistant":
            self.compare = self._button(self.tr("Compare…"), self.tr("Compare with other settings…: the same question "
                                                                     "answered under two or more sets of sampling "
                                                                     "parameters, side by side"),
                                        lambda: self.compareRequested.emit(msg))
            self.compare.setObjectName("compareReply")
            head.addWidget(self.compare)
            self.action = self._button(self.tr("Regenerate"), self.tr("Write a new version of this reply (Ctrl+R)"),
                                       lambda: self.regenerateRequested.emit(msg))
        else:
            self.action = self._button(self.tr("Edit"), self.tr("Change this message and send it again; the old branch is kept"),
                                       lambda: self.editRequested.emit(msg))
        head.addWidget(self.action)
        lay.addLayout(head)
        self.body = ChunkedRichText()  # the reply's settled Markdown (or its tokens)
        self.body.linkActivated.connect(self._on_link)
        self.tail = GrowingText()  # the part still growing: the only part re-rendered per frame
        self._stream: MarkdownStream | None = None
        self._showing_tokens = False
        self.current_token: int | None = None  # the token the Token tab shows, marked in the Tokens view
        lay.addWidget(self.body)
        lay.addWidget(self.tail)
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
        elif href.startswith(("http://", "https://", "mailto:")):
            QDesktopServices.openUrl(QUrl(href))

    def token_html(self) -> str:
        """The reply token by token (token_tint.py): boundaries visible, the ⚙ marks kept."""
        marks = param_marks(self.msg.record, self.msg.text, self._previous_start())
        return token_html(token_records(self.msg), marks, self.current_token)

    def mark_token(self, index: int | None) -> None:
        """Mark token `index` as the one the Token tab shows (None: none of this reply's)."""
        if index != self.current_token:
            self.current_token = index
            if self._showing_tokens:
                self.refresh()

    def refresh(self) -> None:
        rec = self.msg.record
        has_tokens = self.msg.role == "assistant" and bool(token_records(self.msg))
        self.tokens.setVisible(has_tokens)
        if has_tokens and self.tokens.isChecked():
            self._showing_tokens = True
            self.body.setText(self.token_html() or "<i>…</i>")
            self.body.setVisible(True)
            self.tail.setVisible(False)
            self.stats.setText(stats_line(rec) + self.tr(" · surprisal: white = expected, red = surprising; every other "
                                                         "token a shade darker, so each one's edges show")
                               + (self.tr(" · blue, lined above and below: the token the Token tab shows")
                                  if self.current_token is not None else ""))
            self._refresh_versions()
            return
        text = self.msg.text
        marks = param_marks(rec, text, self._previous_start()) if self.msg.role == "assistant" else []
        for m in sorted(marks, key=lambda m: m.offset, reverse=True):  # from the end, so offsets hold
            text = text[: m.offset] + _MARK + text[m.offset:]
        labels = iter([m.label for m in sorted(marks, key=lambda m: m.offset)])
        final = self.msg.role != "assistant" or (rec is not None and bool(rec.finish))
        dark = is_dark()
        if self._stream is None or self._stream.dark != dark:
            self._stream = MarkdownStream(dark)
        settled, tail, changed = self._stream.update(text, final)
        marks_settled = settled.count(_MARK)
        if changed or self._showing_tokens:
            self.body.extend_to(_with_marks(settled, labels))  # lays out only what settled now
        else:
            for _ in range(marks_settled):
                next(labels, None)
        self.body.setVisible(bool(settled))
        self.tail.setText(_with_marks(tail, labels) if text else "<i>…</i>")
        self.tail.setVisible(bool(tail) or not text)
        self._showing_tokens = False
        self.stats.setText(stats_line(rec))
        self.stats.setVisible(bool(self.stats.text()))
        self.replay.setVisible(self.msg.role == "assistant" and rec is not None and bool(rec.finish)
                               and rec.replayable)
        self._refresh_versions()

    def _previous_start(self):
        """The parameters the reply before this one (on the shown path) started with."""
        before = None
        for m in self.conv.path():
            if m is self.msg:
                return before
            if m.role == "assistant" and m.record is not None and m.record.params is not None:
                before = m.record.params
        return None

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
    compareRequested = Signal(object)

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
        self.marked: tuple[int, int] | None = None  # (message id, token index) the Token tab shows
        self.placeholder = QLabel(self.tr("Ask the model something. Enter sends, Shift+Enter adds a line."))
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)  # wraps in a narrow chat column instead of being cut
        self.placeholder.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._layout.insertWidget(0, self.placeholder)
        # Follow a streaming reply to its end unless the user has scrolled up to read: `follow` is
        # True while the view sits at the bottom; a user's scroll sets it, the growing range keeps it
        self.follow = True
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        bar.valueChanged.connect(self._on_scrolled)
        self._moving = False

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
        w.compareRequested.connect(self.compareRequested)
        self._layout.insertWidget(self._layout.count() - 1, w)
        self.widgets[m.id] = w
        if self.marked is not None and self.marked[0] == m.id:
            w.mark_token(self.marked[1])
        return w

    def mark_token(self, msg: Message | None, index: int = 0) -> None:
        """Mark the token the Token tab shows in its reply's Tokens view (msg None: no token)."""
        if self.marked is not None and self.marked[0] in self.widgets:
            self.widgets[self.marked[0]].mark_token(None)
        self.marked = (msg.id, index) if msg is not None else None
        if msg is not None and msg.id in self.widgets:
            self.widgets[msg.id].mark_token(index)

    def refresh(self, m: Message) -> None:
        w = self.widgets.get(m.id)
        if w is not None:
            w.refresh()  # the range grows with it; _on_range_changed follows when following
            # lay the change out now, from the label up to the scroll area, before anything paints:
            # left to the event queue, a label that grew was painted at its old height (cut off)
            # in a third of the frames while the column above it caught up, a level a pass
            # (label → chunks → message → column → scroll area; each pass posts the next)
            for _ in range(_LAYOUT_LEVELS):
                QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)

    def scroll_to_end(self) -> None:
        """Jump to the end and follow from there (a new conversation, a new reply)."""
        self.follow = True
        self._to_bottom()
        # the range grows only after the next layout pass; follow it there too
        QTimer.singleShot(0, self._on_range_changed)

    def _to_bottom(self) -> None:
        bar = self.verticalScrollBar()
        self._moving = True
        try:
            bar.setValue(bar.maximum())
        finally:
            self._moving = False

    def _on_range_changed(self, *_) -> None:
        if self.follow:
            self._to_bottom()

    def _on_scrolled(self, value: int) -> None:
        if not self._moving:  # the user (wheel, drag, keys): follow only from the very end
            bar = self.verticalScrollBar()
            self.follow = value >= bar.maximum() - 4
