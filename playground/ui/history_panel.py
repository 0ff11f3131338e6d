"""The conversations sidebar: newest first, pinned on top, search over all text, rename, pin,
delete (with undo in the window), export and import."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..session import History


class HistoryPanel(QWidget):
    openRequested = Signal(int)  # a stored conversation's id
    renameRequested = Signal(int)
    deleteRequested = Signal(int)
    pinRequested = Signal(int, bool)
    exportRequested = Signal(int, str)  # id, "md" | "json"
    importRequested = Signal()
    exportAllRequested = Signal()

    def __init__(self, history: History):
        super().__init__()
        self.history = history
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Search conversations"))
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _: self.refresh())
        lay.addWidget(self.search)
        self.list = QListWidget()
        self.list.setObjectName("history")
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # long titles end in "…"
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemActivated.connect(self._open_item)
        self.list.itemClicked.connect(self._open_item)
        lay.addWidget(self.list, 1)
        row = QHBoxLayout()
        imp = QPushButton(self.tr("Import…"))
        imp.setToolTip(self.tr("Import a conversation exported as JSON"))
        imp.clicked.connect(self.importRequested)
        row.addWidget(imp)
        exp = QPushButton(self.tr("Export all…"))
        exp.setToolTip(self.tr("Every conversation, with everything recorded, in one JSON file"))
        exp.clicked.connect(self.exportAllRequested)
        row.addWidget(exp)
        lay.addLayout(row)
        self.current_id: int | None = None

    def refresh(self, current_id: int | None = None) -> None:
        if current_id is not None:
            self.current_id = current_id
        self.list.blockSignals(True)
        self.list.clear()
        for s in self.history.list(self.search.text()):
            item = QListWidgetItem(("📌 " if s.pinned else "") + (s.title or self.tr("New chat")))
            item.setData(Qt.ItemDataRole.UserRole, s.id)
            item.setData(Qt.ItemDataRole.UserRole + 1, s.pinned)
            item.setToolTip(s.title)
            self.list.addItem(item)
            if s.id == self.current_id:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def ids(self) -> list[int]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def _open_item(self, item: QListWidgetItem) -> None:
        cid = item.data(Qt.ItemDataRole.UserRole)
        if cid != self.current_id:
            self.openRequested.emit(cid)

    def _menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        cid = item.data(Qt.ItemDataRole.UserRole)
        pinned = item.data(Qt.ItemDataRole.UserRole + 1)
        menu = QMenu(self)
        menu.addAction(self.tr("Rename…"), lambda: self.renameRequested.emit(cid))
        menu.addAction("Unpin" if pinned else "Pin", lambda: self.pinRequested.emit(cid, not pinned))
        menu.addAction(self.tr("Export as Markdown…"), lambda: self.exportRequested.emit(cid, "md"))
        menu.addAction(self.tr("Export as JSON…"), lambda: self.exportRequested.emit(cid, "json"))
        menu.addSeparator()
        menu.addAction(self.tr("Delete"), lambda: self.deleteRequested.emit(cid))
        menu.exec(self.list.mapToGlobal(pos))
