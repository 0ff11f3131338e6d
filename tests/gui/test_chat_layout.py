"""The chat pane fits whatever room the docks leave it: a message's buttons wrap onto a second
line and its text wraps, instead of running past the pane's right edge (or widening the window)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint

from playground.conversation import Conversation
from playground.ui.chat_view import ChatView


def test_a_narrow_chat_pane_shows_every_button_and_wraps_the_text(qtbot):
    conv = Conversation()
    q = conv.add("user", "Why is the sky blue? Explain it to a student in a few sentences.")
    a = conv.add("assistant", "Sunlight is scattered by the molecules of the air, and blue light is scattered "
                 "much more than red light, so the sky looks blue from every direction. " * 3, parent=q)
    q2 = conv.add("user", "Write a Python function that reverses a string.", parent=a)
    conv.add("assistant", "Here it is:\n\n```python\ndef reverse_string(s):\n    return s[::-1]\n\n"
             'print(reverse_string("Hello, World!"))  # Output: "!dlroW ,olleH" (the characters in reverse order)\n'
             "```\n", parent=q2)  # a code line longer than the pane is wide
    view = ChatView()
    qtbot.addWidget(view)
    view.set_conversation(conv)
    for width in (900, 380, 300):
        view.resize(width, 600)
        view.show()
        qtbot.waitExposed(view)
        qtbot.waitUntil(lambda: view.widget().width() <= view.viewport().width())
        for w in view.widgets.values():
            right = w.mapTo(view.viewport(), QPoint(w.width(), 0)).x()
            assert right <= view.viewport().width(), (width, right)
            buttons = [b for b in (w.copy, w.replay, w.tokens, w.action) if not b.isHidden()]
            for b in buttons:
                assert b.geometry().right() < w.width() and b.geometry().bottom() < w.height(), (width, b.text())
                assert b.width() >= b.sizeHint().width(), (width, b.text())  # never cut ("Regene")
            for part in (w.body, w.tail, w.stats):
                assert part.isHidden() or part.geometry().right() < w.width(), (width, part.text()[:40])
        if width == 300:  # the buttons took a second line rather than the pane's width
            tops = {b.geometry().top() for b in (w.copy, w.action)}
            assert len(tops) == 2 or w.copy.geometry().right() < w.width()


def test_tokens_view_shows_every_boundary_and_keeps_the_parameter_mark(qtbot):
    """Turning Tokens on: expected tokens next to each other still read as separate tokens, and the
    ⚙ mark of a mid-reply change stays, before the first token sampled under the new setting."""
    import re

    from PySide6.QtCore import Qt

    from playground.records import ReplyRecord, TokenRecord
    from playground.sampling_params import SamplingParams

    pieces = ["The", " sky", " is", " blue", " because", " of", " scattering", "."]
    temps = [0.7] * 4 + [1.5] * 4
    toks = [TokenRecord(index=i, token_id=i, text=t, prob=0.99, raw_prob=0.99, entropy=0.0,
                        params=SamplingParams(temperature=temp), elapsed_s=i * 0.05)
            for i, (t, temp) in enumerate(zip(pieces, temps))]
    conv = Conversation()
    q = conv.add("user", "Why is the sky blue?")
    a = conv.add("assistant", "".join(pieces), parent=q)
    a.record = ReplyRecord(tokens=toks, finish="stop")
    view = ChatView()
    qtbot.addWidget(view)
    view.set_conversation(conv)
    view.resize(700, 400)
    view.show()
    w = view.widgets[a.id]
    assert "⚙ temperature 0.7 → 1.5" in w.body.text()  # the plain view's mark
    qtbot.mouseClick(w.tokens, Qt.MouseButton.LeftButton)
    shown = w.body.text()
    assert w.tokens.isChecked() and 'href="tok:7"' in shown
    backgrounds = re.findall(r'href="tok:\d+"[^>]*background:(rgb\([^)]*\))', shown)
    assert len(backgrounds) == len(pieces)
    assert all(x != y for x, y in zip(backgrounds, backgrounds[1:]))  # "The" | "sky": each edge shows
    mark = shown.index("⚙ temperature 0.7 → 1.5")  # kept, between " blue" and " because"
    assert shown.index('href="tok:3"') < mark < shown.index('href="tok:4"')


@pytest.mark.parametrize("height", [3000, 300])  # all of it in view; scrolling to follow it
def test_a_streaming_reply_is_laid_out_in_full_before_it_is_painted(qtbot, height):
    """Each frame refreshes the growing reply and Qt paints what changed: by then every settled
    label must be shown and as tall as its text. (The column above a label that grew caught up a
    level per event-loop pass, and a new label was shown a pass late: a third of the labels
    painted while a reply streamed were cut off.)"""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from playground.records import ReplyRecord

    section = ("## Part {n}\n\nA *short* explanation with `code`.\n\n```python\ndef mean(v):\n"
               "    return sum(v) / len(v)\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n1. first\n   - nested\n2. second\n\n")
    text = "".join(section.format(n=i) for i in range(3))
    conv = Conversation()
    q = conv.add("user", "Explain a mean.")
    reply = conv.add("assistant", "", parent=q)
    reply.record = ReplyRecord(model="test")
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(400, height)
    view.set_conversation(conv)
    view.show()
    qtbot.waitExposed(view)
    w = view.widgets[reply.id]
    painted, cut = [], []

    class Paints(QObject):
        def eventFilter(self, obj, e):  # noqa: N802 (Qt's name)
            if e.type() == QEvent.Type.Paint and obj in w.body.chunks:
                painted.append(obj)
                if obj.height() < obj.heightForWidth(obj.width()) - 1:
                    cut.append(obj.text()[-60:])
            return False

    watcher = Paints()
    QApplication.instance().installEventFilter(watcher)
    try:
        for end in range(60, len(text) + 60, 60):
            reply.text = text[:end]
            view.refresh(reply)  # the frame; then what Qt does after it, paint included
            assert all(label.isVisible() for label in w.body.chunks if label.text())
            for label in w.body.chunks:
                if label.text():
                    assert label.height() >= label.heightForWidth(label.width()) - 1, (end, label.text()[-60:])
            QApplication.processEvents()
    finally:
        QApplication.instance().removeEventFilter(watcher)
    assert len(w.body.chunks) > 2 and len(painted) > 5
    assert not cut
