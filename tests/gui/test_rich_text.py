"""The chat's rich-text widgets: a streaming reply lays out only what changed (rich_text.py)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from playground.ui.markdown import to_html
from playground.ui.rich_text import CHUNK_CHARS, ChunkedRichText, GrowingText, RichLabel

TABLE = to_html("| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |")
CODE = to_html("```python\ndef f(x):\n    return x * 2\n```")


def test_a_rich_label_lays_its_text_out_once_per_text_and_width(qtbot):
    label = RichLabel()
    qtbot.addWidget(label)
    plain = QLabel()
    qtbot.addWidget(plain)
    plain.setWordWrap(True)
    plain.setText(TABLE)
    label.setText(TABLE)
    for _ in range(3):  # what every layout pass asks
        assert label.heightForWidth(300) == plain.heightForWidth(300)
        assert label.sizeHint() == plain.sizeHint() and label.minimumSizeHint() == plain.minimumSizeHint()
    assert label.layouts == 3  # height at 300, size hint, minimum size hint: each once
    label.setText(TABLE + CODE)
    plain.setText(TABLE + CODE)
    assert label.heightForWidth(300) == plain.heightForWidth(300) > plain.heightForWidth(300) - 1
    assert label.layouts == 4


def test_growing_text_is_appended_to_the_last_chunk_and_earlier_chunks_stay_untouched(qtbot):
    view = ChunkedRichText()
    qtbot.addWidget(view)
    clicked = []
    view.linkActivated.connect(clicked.append)
    view.show()
    html = ""
    for _ in range(3 * CHUNK_CHARS // len(TABLE + CODE) + 3):  # a reply that settles block by block
        html += TABLE + CODE + '<p><a href="tok:1">link</a></p>'
        view.extend_to(html)
        qtbot.waitUntil(lambda: view.chunks[-1].height() > 0)
    assert len(view.chunks) >= 3
    assert view.text() == html
    assert all(len(t) >= CHUNK_CHARS for t in view._texts[:-1])
    first, done = view.chunks[0], view.chunks[0].layouts
    first_text = first.text()
    view.extend_to(html + CODE)  # another block settles
    assert first.text() == first_text and first.layouts == done  # not laid out again
    assert view.chunks[-1].text().endswith(CODE) and view.text() == html + CODE
    view.chunks[1].linkActivated.emit("tok:1")
    assert clicked == ["tok:1"]
    view.extend_to("<p>something else</p>")  # not a continuation: shown from scratch, in one label
    assert len(view.chunks) == 1 and view.text() == "<p>something else</p>"


def test_the_growing_tail_is_laid_out_once_per_change_and_as_tall_as_a_label(qtbot):
    """The tail of a streaming reply, in a column as in the chat: each new text is laid out once, at
    the width the tail has, and layout passes (which ask for the column's minimum size too) do not
    lay it out again at other widths; its height is the document's, as a word-wrapped label's."""
    box = QWidget()
    qtbot.addWidget(box)
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    tail = GrowingText()
    column.addWidget(tail)
    column.addStretch(1)
    label = QLabel()
    qtbot.addWidget(label)
    label.setWordWrap(True)
    label.setText(TABLE + CODE)
    tail.setText(TABLE + CODE)
    box.resize(320, 900)
    box.show()
    qtbot.waitExposed(box)
    qtbot.waitUntil(lambda: tail.width() == 320 and tail.height() > 0)
    assert tail.layouts == 1
    assert abs(tail.height() - label.heightForWidth(320)) <= 2
    laid_out = []  # the document's layout reports each pass over it (setHtml's own included)
    tail.doc.documentLayout().update.connect(lambda *_: laid_out.append(1))
    height = tail.height()
    tail.setText(TABLE + CODE + CODE)  # laid out here, at the width it has (320)
    passes = len(laid_out)
    assert passes >= 1
    for _ in range(3):
        column.activate()
        box.minimumSizeHint()
        column.totalMinimumSize()
        box.heightForWidth(200)
    qtbot.waitUntil(lambda: tail.height() > height)
    assert tail.layouts == 1 and len(laid_out) == passes  # not again, at this width or another
    assert tail.text() == TABLE + CODE + CODE
    words = "<p>" + "words that wrap " * 40 + "</p>"
    label.setText(words)
    tail.setText(words)
    qtbot.waitUntil(lambda: abs(tail.height() - label.heightForWidth(320)) <= 2)
    wide = tail.height()
    box.resize(120, 900)
    qtbot.waitUntil(lambda: tail.width() == 120)
    qtbot.waitUntil(lambda: tail.height() > wide)
    assert tail.layouts == 2  # a new width is laid out once


def test_a_label_in_a_column_hints_the_column_width_and_is_laid_out_once_per_text(qtbot):
    """A settled chunk's size hint is its column's width and the height there, so a text that
    grows is laid out at that width and for its minimum size (the widest word) only: QLabel's own
    hint laid it out again at a width of its choosing, and the layout asked the height there too."""
    column = ChunkedRichText()
    qtbot.addWidget(column)
    column.resize(300, 400)
    column.show()
    qtbot.waitExposed(column)
    column.setText(TABLE)
    label = column.chunks[0]
    column.layout().activate()
    before = label.layouts
    column.setText(TABLE + CODE)
    hint = label.sizeHint()
    column.layout().activate()
    assert hint.width() == 300 and hint.height() == label.heightForWidth(300) <= label.height()
    assert label.layouts == before + 2  # the height at 300, the minimum size
