"""Pointing at a widget: a lesson names the widget to look at by its Qt objectName; this finds it in
any of the app's windows, brings it into view (its window raised, its dock shown, its tab in
front) and draws a bright frame around it that follows it as the layout changes."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QApplication, QDockWidget, QStackedWidget, QTabWidget, QWidget

COLOR = QColor("#ff6d00")
WIDTH = 4


def find_widget(name: str) -> QWidget | None:
    """The widget with this objectName, preferring one that is visible (a hidden window's copy
    last); searched through every top-level window of the application."""
    found: list[QWidget] = []
    for top in QApplication.topLevelWidgets():
        if top.objectName() == name:
            found.append(top)
        found += top.findChildren(QWidget, name)
    if not found:
        return None
    found.sort(key=lambda w: (not w.window().isVisible(), not w.isVisible()))
    return found[0]


def bring_into_view(w: QWidget) -> None:
    """Show the window, dock and tab that hold w."""
    node: QWidget | None = w
    while node is not None:
        parent = node.parentWidget()
        if isinstance(parent, QStackedWidget) and isinstance(parent.parentWidget(), QTabWidget):
            parent.parentWidget().setCurrentWidget(node)
        if isinstance(node, QDockWidget):
            node.show()
            node.raise_()
        node = parent
    win = w.window()
    if not win.isVisible():
        win.show()
    win.raise_()


class _Frame(QWidget):
    """The frame itself: a child of the target's window, on top, letting clicks through."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setObjectName("lessonHighlight")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)

    def paintEvent(self, e) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(COLOR, WIDTH))
        p.drawRoundedRect(self.rect().adjusted(WIDTH // 2, WIDTH // 2, -WIDTH // 2, -WIDTH // 2), 6, 6)


class Highlighter(QObject):
    """Keeps one widget framed at a time."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.target: QWidget | None = None
        self._frame: _Frame | None = None
        self._watched: list[QWidget] = []

    def show(self, name: str) -> QWidget | None:
        """Frame the widget called `name` (bringing it into view); None if there is no such widget."""
        self.clear()
        w = find_widget(name) if name else None
        if w is None:
            return None
        bring_into_view(w)
        self.target = w
        self._frame = _Frame(w.window())
        self._watched = [w, w.window()]
        node = w.parentWidget()
        while node is not None and node is not w.window():  # a parent that scrolls, splits or hides moves it too
            self._watched.append(node)
            node = node.parentWidget()
        for obj in self._watched:
            obj.installEventFilter(self)
        w.destroyed.connect(self.clear)
        self._place()
        return w

    def clear(self, *_) -> None:
        for obj in self._watched:
            try:
                obj.removeEventFilter(self)
            except RuntimeError:  # already deleted
                pass
        self._watched = []
        if self._frame is not None:
            try:
                self._frame.deleteLater()
            except RuntimeError:
                pass
        self._frame = None
        self.target = None

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() in (QEvent.Type.Move, QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.Hide,
                         QEvent.Type.LayoutRequest):
            self._place()
        return False

    def _place(self) -> None:
        w, frame = self.target, self._frame
        if w is None or frame is None:
            return
        try:
            visible = w.isVisible()
        except RuntimeError:
            self.clear()
            return
        if not visible:
            frame.hide()
            return
        top_left = w.mapTo(w.window(), w.rect().topLeft())
        r = QRect(top_left, w.size()).adjusted(-WIDTH, -WIDTH, WIDTH, WIDTH)
        frame.setGeometry(r.intersected(w.window().rect()))
        frame.show()
        frame.raise_()
