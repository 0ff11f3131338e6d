"""Guards against Qt binding bugs the app cannot survive."""

import sys


def test_item_calls_do_not_leak_references_to_none(qtbot):
    # PySide6 6.12.0 drops a reference to None on each setData/addItem/setCurrentItem; after a
    # few thousand calls (a long history sidebar) the interpreter aborts.
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QListWidget, QListWidgetItem

    lw = QListWidget()
    qtbot.addWidget(lw)
    before = sys.getrefcount(None)
    for i in range(200):
        item = QListWidgetItem("x")
        item.setData(Qt.ItemDataRole.UserRole, i)
        lw.addItem(item)
        lw.setCurrentItem(item)
    assert sys.getrefcount(None) >= before - 20
