"""The prompt inspector: the exact text the chat template produced, token by token, with token
boundaries, ids on hover, and the special tokens picked out."""

from __future__ import annotations

import html

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import QTextBrowser

HINT = QT_TRANSLATE_NOOP("PromptView", "The prompt the model reads, token by token, appears here once a conversation has a reply.")


class PromptView(QTextBrowser):
    def __init__(self):
        super().__init__()
        self.setObjectName("promptView")
        self.setPlaceholderText(self.tr(HINT))

    def show_prompt(self, ids: list[int], label, is_special) -> None:
        parts = []
        for i, t in enumerate(ids):
            special = is_special(t)
            bg = "#ffcc80" if special else ("#e3f2fd" if i % 2 else "#f1f8e9")
            text = html.escape(label(t)).replace("↵", "↵<br>")
            weight = "bold" if special else "normal"
            parts.append(f'<span style="background:{bg}; color:black; font-weight:{weight}" title="id {t}">{text}</span>')
        self.setHtml(f"<p>{len(ids)} tokens; special tokens in orange, hover for ids.</p><p style='font-family:monospace'>"
                     + "".join(parts) + "</p>")
