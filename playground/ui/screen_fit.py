"""Top-level windows that fit the screen they open on: the whole frame (title bar and borders
included) inside the screen's available geometry (QScreen.availableGeometry: the screen less its
panels and docks), on a 1280×800 or 1366×768 laptop as on a large monitor.

A window is sized to fit when it opens; it never grows past the screen afterwards because each
part of it can shrink (text wraps, rows of controls flow onto a second line, splitters give way):
tests/gui/test_screen_fit.py checks that on offscreen laptop screens."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QWidget


def frame_extra(window: QWidget, like: QWidget | None = None) -> QSize:
    """What the window system's frame adds to `window`'s own size. Before a window is shown the
    frame is not known yet: then that of `like` (a window already on screen) stands in for it."""
    for w in (window, like):
        if w is not None and w.isVisible():
            outer, inner = w.frameGeometry(), w.geometry()
            return QSize(outer.width() - inner.width(), outer.height() - inner.height())
    return QSize(0, 0)


def fit_into(window: QWidget, area: QRect, like: QWidget | None = None, size: QSize | None = None) -> None:
    """Resize `window` (to `size`, or to its present size) no larger than `area` allows for it and
    its frame, then move it so that the frame lies inside `area` (as near its present place as
    that allows)."""
    extra = frame_extra(window, like)
    want = size if size is not None else window.size()
    fitted = want.boundedTo(area.size() - extra).expandedTo(window.minimumSize())
    window.resize(fitted)
    outer = QSize(fitted.width() + extra.width(), fitted.height() + extra.height())
    pos = window.frameGeometry().topLeft() if window.isVisible() else window.pos()
    x = max(area.left(), min(pos.x(), area.left() + area.width() - outer.width()))
    y = max(area.top(), min(pos.y(), area.top() + area.height() - outer.height()))
    window.move(QPoint(x, y))  # (a window's pos is its frame's top left)


def fit_to_screen(window: QWidget, like: QWidget | None = None) -> None:
    """`window` inside the available geometry of its screen (or that of `like`); a maximized or
    full-screen window is the platform's to place (resizing it would undo that state)."""
    if window.windowState() & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
        return
    screen = (like or window).screen()
    if screen is not None:
        fit_into(window, screen.availableGeometry(), like)
