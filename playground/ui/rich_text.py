"""Rich-text labels that keep a streaming reply cheap to lay out.

A word-wrapped rich-text `QLabel` lays its whole document out again (twice: at no width, then at
the asked one) on every `heightForWidth`, `sizeHint` and `minimumSizeHint`, and every layout pass
asks all of them. While a reply streams, its tail changes size every frame, so each frame re-laid
out the whole settled reply, tables and highlighted code included: measured with py-spy on
bench_gui, that layout was most of the GUI thread's time, and the gaps in its event loop.

`RichLabel` answers those three from a cache kept until its text (or font, or style) changes.
`ChunkedRichText` holds a growing HTML text in a column of such labels: text that only grows is
appended to the last label until it holds about CHUNK_CHARS characters, then to a new one, so a
block that settles costs a layout of one chunk, never of the whole reply. `GrowingText` shows the
tail that changes every frame: its document is laid out once per change (a QLabel does it about
seven times), at the width the widget has.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QAbstractTextDocumentLayout, QPainter, QPalette, QTextDocument, QTextOption
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

# of HTML per label: a block that settles lays out the last label again, this much and itself; a small
# label is cheap to lay out and paint: GUI time per streamed reply at 1500 / 400 / 0 was 230 / 175 / 165 ms
# (bench_gui's reply, its whole time on the GUI thread; 4000 cost 25% more than 1500)
CHUNK_CHARS = 300
_WIDTHS_KEPT = 16  # heights remembered per text (a window being resized asks for many widths)


class RichLabel(QLabel):
    """A selectable, word-wrapped rich-text label whose size answers are cached per text."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                     | Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self._heights: dict[int, int] = {}
        self._hint: QSize | None = None
        self._min_hint: QSize | None = None
        self.layouts = 0  # how many times the document was laid out for a size (tests read it)

    def _forget(self) -> None:
        self._heights.clear()
        self._hint = self._min_hint = None

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self._forget()
        super().setText(text)

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        h = self._heights.get(width)
        if h is None:
            if len(self._heights) >= _WIDTHS_KEPT:
                self._heights.clear()
            self.layouts += 1
            h = self._heights[width] = super().heightForWidth(width)
        return h

    def sizeHint(self) -> QSize:  # noqa: N802
        """In a column: the column's width, and the height there (the height the column's layout
        asks for next). QLabel's own hint lays the text out twice for a width of its choosing, and
        the layout then asked the label's height at that width too: three layouts of a label each
        time a block settled into it, where one is needed."""
        column = self.parentWidget()
        if column is not None and column.width() > 1 and column.testAttribute(Qt.WidgetAttribute.WA_Resized):
            width = column.contentsRect().width()
            return QSize(width, self.heightForWidth(width))
        if self._hint is None:
            self.layouts += 1
            self._hint = super().sizeHint()
        return QSize(self._hint)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        if self._min_hint is None:
            self.layouts += 1
            self._min_hint = super().minimumSizeHint()
        return QSize(self._min_hint)

    def changeEvent(self, e: QEvent) -> None:  # noqa: N802
        if e.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange, QEvent.Type.ContentsRectChange):
            self._forget()
        super().changeEvent(e)


class ChunkedRichText(QWidget):
    """One rich text shown in as many `RichLabel`s as it takes (one for a short text).

    `setText(html)` shows `html` in one label. `extend_to(html)` shows `html` too, but when it only
    adds to what is shown, the addition goes to the last label (or a new one once that is full), so
    the labels before it are not laid out again. The text is cut only where the caller's additions
    end: each addition must be whole HTML blocks (settled Markdown blocks are)."""

    linkActivated = Signal(str)  # a link in any of the labels was clicked

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.chunks: list[RichLabel] = []
        self._texts: list[str] = []  # each chunk's HTML (not read back from Qt: that copies it)
        self._new_chunk()

    def text(self) -> str:
        return "".join(self._texts)

    def setText(self, html: str) -> None:  # noqa: N802 (QLabel's name: callers treat this as a label)
        while len(self.chunks) > 1:
            label = self.chunks.pop()
            self._texts.pop()
            self._layout.removeWidget(label)
            label.deleteLater()
        self._set(0, html)

    def extend_to(self, html: str) -> None:
        """Show `html`; when it starts with the text shown, lay out only the part it adds."""
        if not self._starts_with_all(html):
            self.setText(html)
            return
        added = html[sum(len(t) for t in self._texts):]
        if not added:
            return
        if self._texts[-1] and len(self._texts[-1]) >= CHUNK_CHARS:
            self._new_chunk()
        self._set(len(self.chunks) - 1, self._texts[-1] + added)

    def _starts_with_all(self, html: str) -> bool:
        at = 0
        for t in self._texts:
            if not html.startswith(t, at):
                return False
            at += len(t)
        return True

    def _set(self, i: int, html: str) -> None:
        self._texts[i] = html
        self.chunks[i].setText(html)

    def _new_chunk(self) -> None:
        label = RichLabel()
        label.linkActivated.connect(self.linkActivated)
        self._layout.addWidget(label)
        label.show()  # now, not in a later pass of the event loop (as a layout shows it): laid out with the rest
        self.chunks.append(label)
        self._texts.append("")


class GrowingText(QWidget):
    """Rich text that changes every frame, shown read-only (no selection, no links: it is the part
    of a reply still being written, and moves to a `ChunkedRichText` once it settles).

    One `QTextDocument`, laid out only when its text or its width changes. Its height is fixed to
    that layout's rather than answered per width: a layout pass asks a height-for-width widget for
    its height at the column's minimum width too (for the minimum size), and bench_gui's frames laid
    the tail out at three widths each (354, 214 and 200 px) and back, a fifth of the GUI thread's
    time. A new width (the pane resized) lays it out again and sets the height the pass after."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._html = ""
        self.doc = QTextDocument(self)
        self.doc.setDocumentMargin(0)
        self.doc.setUndoRedoEnabled(False)
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WordWrap)
        self.doc.setDefaultTextOption(option)
        self.doc.setDefaultFont(self.font())
        self._width: int | None = None  # the width the document is laid out at (None: not laid out)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.layouts = 0  # how many times the document was laid out for a new width (tests read it)

    def text(self) -> str:
        return self._html

    def setText(self, html: str) -> None:  # noqa: N802 (QLabel's name)
        if html == self._html:
            return
        self._html = html
        self.doc.setHtml(html)  # laid out at the width it had: setting that width again would lay it out twice
        self._fit()
        self.update()

    def _laid_out(self, width: int) -> QTextDocument:
        width = max(1, width)
        if width != self._width:
            self.doc.setTextWidth(width)
            self._width = width
            self.layouts += 1
        return self.doc

    def _fit(self) -> None:
        """The height the document takes at the width it is laid out at."""
        height = math.ceil(self.doc.size().height()) if self._html else 0
        if height != self.minimumHeight() or height != self.maximumHeight():
            self.setFixedHeight(height)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self._width or 400, self.minimumHeight())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, self.minimumHeight())  # any width wraps

    def resizeEvent(self, e) -> None:  # noqa: N802
        if e.size().width() != self._width:
            self._laid_out(e.size().width())
            self._fit()
        super().resizeEvent(e)

    def paintEvent(self, e) -> None:  # noqa: N802
        doc = self._laid_out(self.width())
        ctx = QAbstractTextDocumentLayout.PaintContext()
        ctx.palette = self.palette()
        ctx.palette.setColor(QPalette.ColorRole.Text, self.palette().color(QPalette.ColorRole.WindowText))
        ctx.clip = e.rect().toRectF()
        painter = QPainter(self)
        doc.documentLayout().draw(painter, ctx)

    def changeEvent(self, e: QEvent) -> None:  # noqa: N802
        if e.type() == QEvent.Type.FontChange:
            self.doc.setDefaultFont(self.font())
            self._fit()
        super().changeEvent(e)
