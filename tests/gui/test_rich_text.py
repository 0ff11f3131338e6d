"""The chat's rich-text widgets: a streaming reply lays out only what changed (rich_text.py)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

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
    tail = GrowingText()
    qtbot.addWidget(tail)
    label = QLabel()
    qtbot.addWidget(label)
    label.setWordWrap(True)
    tail.setText(TABLE + CODE)
    label.setText(TABLE + CODE)
    for _ in range(3):
        height = tail.heightForWidth(320)
        tail.sizeHint()
        tail.minimumSizeHint()
    assert tail.layouts == 1
    assert abs(height - label.heightForWidth(320)) <= 2
    tail.setText(TABLE + CODE + CODE)
    assert tail.heightForWidth(320) > height and tail.layouts == 2
    assert tail.text() == TABLE + CODE + CODE
