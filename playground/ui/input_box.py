"""The message box under the chat: Enter sends, Shift+Enter adds a line."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QPlainTextEdit


class InputBox(QPlainTextEdit):
    sendRequested = Signal()

    def keyPressEvent(self, e) -> None:
        if e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not e.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.sendRequested.emit()
            return
        super().keyPressEvent(e)
