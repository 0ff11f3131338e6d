"""The chat pane fits whatever room the docks leave it: a message's buttons wrap onto a second
line and its text wraps, instead of running past the pane's right edge (or widening the window)."""

from __future__ import annotations

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
