"""The history side of the window: the sidebar's requests (open, rename, pin, delete with undo,
export, import) go to the session's history; opening a conversation restores its sampling
parameters and, when it is on this computer, its model."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from ..session import HistoryError

if TYPE_CHECKING:
    from .main_window import MainWindow


class HistoryController(QObject):
    def __init__(self, win: MainWindow):
        super().__init__(win)
        self.win = win
        self.session = win.session
        self.deleted: int | None = None  # the conversation Undo brings back
        p = win.history
        p.openRequested.connect(self.open)
        p.renameRequested.connect(self._ask_rename)
        p.pinRequested.connect(lambda cid, on: (self.session.history.pin(cid, on), self.refresh()))
        p.deleteRequested.connect(self.delete)
        p.exportRequested.connect(self._ask_export)
        p.importRequested.connect(self._ask_import)
        p.exportAllRequested.connect(lambda: self._ask_export(None, "json"))
        win.undo_button.clicked.connect(self.undo_delete)

    def refresh(self) -> None:
        self.win.history.refresh(self.session.conv.meta.get("db_id"))

    def open(self, cid: int) -> None:
        win = self.win
        conv = self.session.open(cid)
        if conv is None:
            return
        params = self.session.saved_params()
        if params is not None:
            win.sampling.set_params(params)
        needed = conv.meta.get("model_path")
        model = win.model
        if needed and model and needed != model.path:
            if os.path.exists(needed):  # continue with the model the conversation was held with
                win.statusBar().showMessage(self.tr("Loading {model}, the model of this conversation…").format(
                    model=os.path.basename(needed)))
                win.load_model(needed)
            else:
                win.statusBar().showMessage(self.tr("This conversation was with {model}, which is not on this computer; "
                                                    "{name} will answer instead.").format(model=needed, name=model.name))

    def delete(self, cid: int) -> None:
        self.session.delete(cid)
        self.deleted = cid
        self.win.undo_button.setVisible(True)
        self.win.statusBar().showMessage(self.tr("Conversation deleted."))
        self.refresh()

    def undo_delete(self) -> None:
        if self.deleted is not None:
            self.session.history.undelete(self.deleted)
            self.deleted = None
        self.win.undo_button.setVisible(False)
        self.refresh()

    def _ask_rename(self, cid: int) -> None:
        title, ok = QInputDialog.getText(self.win, self.tr("Rename"), self.tr("Title:"))
        if ok and title.strip():
            self.session.rename(cid, title.strip())
            self.refresh()

    def export(self, cid: int | None, path: str, kind: str) -> None:
        """One conversation as JSON or Markdown, or all of them (cid None) as JSON."""
        try:
            self.session.history.export(cid, path, kind)
        except HistoryError as e:
            QMessageBox.warning(self.win, self.tr("Export failed"), str(e))
            return
        self.win.statusBar().showMessage(self.tr('Exported to {path}').format(path=path))

    def _ask_export(self, cid: int | None, kind: str) -> None:
        filt = "JSON (*.json)" if kind == "json" else "Markdown (*.md)"
        path, _ = QFileDialog.getSaveFileName(self.win, self.tr("Export conversation"),
                                              f"conversation.{kind}", filt)  # i18n: keep
        if path:
            self.export(cid, path, kind)

    def import_file(self, path: str) -> int | None:
        try:
            cid = self.session.history.import_file(path)
        except HistoryError as e:
            QMessageBox.warning(self.win, self.tr("Import failed"), f"{path}\n\n{e}")
            return None
        self.refresh()
        self.open(cid)
        return cid

    def _ask_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.win, self.tr("Import conversation"), "", self.tr("JSON (*.json)"))
        if path:
            self.import_file(path)
