"""A layout that places its items left to right and wraps onto the next line when the width runs
out (Qt's Flow Layout example), so a row of buttons fits a narrow pane instead of widening it.

A `stretch_after` index pushes the items after it to the right edge of the first line while
they fit there (a label on the left, buttons on the right, as a QHBoxLayout with a stretch)."""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget


class FlowLayout(QLayout):
    def __init__(self, parent: QWidget | None = None, spacing: int = 4):
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.stretch_after = -1  # items after this index sit at the right of the first line when they fit
        # heights by width until the layout is invalidated: one layout pass asks a nested layout for
        # its height many times (py-spy on bench_gui: 9% of the GUI thread while a reply streamed)
        self._heights: dict[int, int] = {}
        self._placed: QRect | None = None  # the rect the items were last moved into
        self.placements = 0  # how many times the items were placed to answer a height (tests read it)
        self.setContentsMargins(QMargins(0, 0, 0, 0))

    def invalidate(self) -> None:
        """Qt calls it each time the layout above activates (a child that changes invalidates that
        layout, not this one), so the heights kept never outlive a layout pass."""
        self._heights.clear()
        self._placed = None
        super().invalidate()

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 (Qt's name)
        self._items.append(item)
        self.invalidate()

    def addStretch(self) -> None:  # noqa: N802 (as QBoxLayout's)
        self.stretch_after = len(self._items) - 1
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        self.invalidate()
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        h = self._heights.get(width)
        if h is None:
            self.placements += 1
            h = self._heights[width] = self._place(QRect(0, 0, width, 0), move=False)
        return h

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        if rect != self._placed:  # (a message that grows sets its header's same rect every frame)
            self._place(rect, move=True)
            self._placed = QRect(rect)

    def sizeHint(self) -> QSize:  # noqa: N802
        w = sum(i.sizeHint().width() for i in self._visible()) + self._spacing * max(0, len(self._visible()) - 1)
        h = max((i.sizeHint().height() for i in self._visible()), default=0)
        m = self.contentsMargins()
        return QSize(w + m.left() + m.right(), h + m.top() + m.bottom())

    def minimumSize(self) -> QSize:  # noqa: N802
        size = QSize()
        for item in self._visible():
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _visible(self) -> list[QLayoutItem]:
        return [i for i in self._items if not (i.widget() is not None and i.widget().isHidden())]

    def _place(self, rect: QRect, move: bool) -> int:
        """Lay the items out in `rect` (moving them when `move`); the height used."""
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        items = self._visible()
        lines: list[list[QLayoutItem]] = [[]]
        x = 0
        for item in items:
            w = item.sizeHint().width()
            if lines[-1] and x + w > area.width():
                lines.append([])
                x = 0
            lines[-1].append(item)
            x += w + self._spacing
        y = area.y()
        # the items left of the stretch, counting only those shown (hidden ones have no place)
        left_count = sum(1 for i in items if self._items.index(i) <= self.stretch_after)
        for n, line in enumerate(lines):
            height = max((i.sizeHint().height() for i in line), default=0)
            if move:
                widths = [i.sizeHint().width() for i in line]
                used = sum(widths) + self._spacing * max(0, len(line) - 1)
                spare = area.width() - used
                x = area.x()
                for k, (item, w) in enumerate(zip(line, widths)):
                    if n == 0 and k == left_count and 0 < left_count < len(line):
                        x += max(0, spare)  # the stretch: what follows sits at the right edge
                    item.setGeometry(QRect(QPoint(x, y + (height - item.sizeHint().height()) // 2),
                                           QSize(min(w, area.width()), item.sizeHint().height())))
                    x += w + self._spacing
            y += height + (self._spacing if n + 1 < len(lines) else 0)
        return y - area.y() + m.top() + m.bottom()

