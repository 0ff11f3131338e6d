"""Guards against Qt binding bugs the app cannot survive.

PySide6 6.12.0 drops a reference to None on each QListWidgetItem.setData/addItem/setCurrentItem;
after a few thousand calls (a long history sidebar) the interpreter aborts. On Python 3.12+ None is
immortal, so its reference count cannot show the leak there (and the decrements are harmless);
what can be checked everywhere is that the installed binding is not the broken release."""

import sys

import pytest

BROKEN = {(6, 12, 0)}  # PySide6 releases with the None reference leak (pyproject.toml excludes them)


def test_the_installed_binding_is_not_a_known_broken_release():
    import PySide6

    version = tuple(int(x) for x in PySide6.__version__.split(".")[:3])
    assert version not in BROKEN, f"PySide6 {PySide6.__version__} leaks references to None; install another release"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal on Python 3.12+: its count never moves")
def test_item_calls_do_not_leak_references_to_none(qtbot):
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
