"""The window on a laptop screen (1280×800, 1366×768; tests/fixtures/screens.json gives the
offscreen platform those screens): with the Lessons dock open beside "Inside the model", in English
and in Chinese, the window's frame lies inside the screen's available geometry, no part of it runs
past the window's right edge or its own container's, and no one-line label is cut; the Studio opened
from there lies inside the screen too, beside the dock, and its charts' titles wrap to fit."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractScrollArea, QLabel, QToolBar, QWidget

from playground.app import build_window
from playground.engine.training_worker import TrainingEngine
from playground.engine.worker import Engine
from playground.ui import i18n
from playground.ui.inside import TABS
from tests.gui.test_i18n import qm_dir  # noqa: F401 (a fixture: the zh_CN translation compiled)

LEFT = Qt.MouseButton.LeftButton


def laptop(name: str):
    screen = next((s for s in QGuiApplication.screens() if s.name() == name), None)
    if screen is None:
        if os.name == "nt":
            pytest.skip("the offscreen laptop screens are not configured on Windows (tests/conftest.py)")
        pytest.fail(f"no offscreen screen {name!r}: QT_QPA_PLATFORM must be tests/conftest.py's")
    return screen


@pytest.fixture(params=["en", "zh_CN"])
def language(request, qapp):
    if request.param == "zh_CN":
        folder = request.getfixturevalue("qm_dir")
        assert i18n.install("zh_CN", qapp, folder=folder)
        i18n.use_cjk_font(qapp)
    yield request.param
    if request.param == "zh_CN":
        i18n.install("en", qapp)


def _open_on(screen_name: str, qtbot, tmp_path):
    """The window as a student has it on that screen: lesson 1 open in the Lessons dock (its
    teaching model loaded, its sentence in the message box) beside the Attention tab."""
    engine, studio = Engine(), TrainingEngine()
    w = build_window(engine, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), studio_engine=studio)
    qtbot.addWidget(w)
    screen = laptop(screen_name)
    w.setScreen(screen)
    w.move(screen.availableGeometry().topLeft())
    w.show()
    qtbot.waitExposed(w)
    tb = w.findChild(QToolBar, "mainToolbar")
    qtbot.mouseClick(tb.widgetForAction(w.inside_action), LEFT)
    qtbot.mouseClick(tb.widgetForAction(w.lessons_ctl.action), LEFT)
    panel = w.lessons_ctl.panel
    with qtbot.waitSignal(panel.runner.stepReady, timeout=20000):
        panel.open_lesson("tokens")
    bar = w.inside.tabBar()
    qtbot.mouseClick(bar, LEFT, pos=bar.tabRect([t[0] for t in TABS].index("attention")).center())
    qtbot.waitUntil(lambda: w.inside.attention.isVisible() and w.counter.text() != "")
    return w, screen, (engine, studio)


def _cut_parts(win: QWidget) -> list[str]:
    """Visible parts that run past the window's right edge or out of their container, and one-line
    labels narrower than their text."""
    bad = []
    for w in win.findChildren(QWidget):
        if not w.isVisible() or w.isWindow():
            continue
        where = f"{type(w).__name__}#{w.objectName() or '?'}"
        right = w.mapTo(win, w.rect().topRight()).x()
        if right >= win.width():
            bad.append(f"{where} ends at x={right}, the window at {win.width()}")
        parent = w.parentWidget()
        scroller = parent.parentWidget() if parent is not None else None
        sideways = (isinstance(scroller, QAbstractScrollArea) and parent is scroller.viewport()
                    and scroller.horizontalScrollBarPolicy() != Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        if parent is not None and not sideways and w.x() + w.width() > parent.width():
            bad.append(f"{where} is {w.width()} px wide at x={w.x()} in a {parent.width()}-px {type(parent).__name__}")
        if isinstance(w, QLabel) and w.text() and not w.wordWrap() and w.width() < w.minimumSizeHint().width():
            bad.append(f"{where} {w.text()[:40]!r} is {w.width()} px, its text {w.minimumSizeHint().width()}")
    return bad


@pytest.mark.parametrize("screen_name", ["laptop-1280x800", "laptop-1366x768"])
def test_the_window_with_lessons_and_inside_fits_a_laptop_screen(language, screen_name, qtbot, tmp_path):
    w, screen, engines = _open_on(screen_name, qtbot, tmp_path)
    try:
        area = screen.availableGeometry()
        assert area.contains(w.frameGeometry()), (w.frameGeometry(), area, w.minimumSizeHint())
        assert w.lessons_ctl.dock.isVisible() and w.inside.isVisible() and w.chat.isVisible()
        assert w.minimumSizeHint().width() <= screen.availableGeometry().width() * 0.6, w.minimumSizeHint()
        assert not _cut_parts(w), "\n".join(_cut_parts(w))
    finally:
        for e in engines:
            e.shutdown()


def test_the_studio_opens_beside_the_lessons_inside_the_screen(qtbot, tmp_path):
    w, screen, engines = _open_on("laptop-1280x800", qtbot, tmp_path)
    try:
        studio = w.open_studio()
        qtbot.waitExposed(studio)
        area: QRect = screen.availableGeometry()
        assert area.contains(studio.frameGeometry()), (studio.frameGeometry(), area)
        dock_right = w.lessons_ctl.dock.mapToGlobal(w.lessons_ctl.dock.rect().topRight()).x()
        assert studio.frameGeometry().left() > dock_right  # beside the lesson, not over it
        for plot in (studio.plot, studio.ppl_plot):
            item = plot.getPlotItem()
            title = item.titleLabel
            assert title.fits(), title.text
            assert item.geometry().width() <= plot.viewport().width() + 0.5  # the plot is not cut at the right
            assert title.mapRectToScene(title.itemRect()).right() <= plot.viewport().width() + 0.5
        assert studio.ppl_plot.getPlotItem().titleLabel.itemRect().height() > 30  # its long title wrapped
    finally:
        if w.studio is not None:
            w.studio.close()
        for e in engines:
            e.shutdown()


def test_a_flowing_row_keeps_what_follows_its_stretch_at_the_right_edge_with_hidden_items_before_it(qtbot):
    """The attention controls: Compute and Export sit at the right end of the first line when they fit,
    though the page buttons before the stretch are hidden; in a narrow row they go onto a second line."""
    from PySide6.QtWidgets import QPushButton

    from playground.ui.flow_layout import FlowLayout

    box = QWidget()
    qtbot.addWidget(box)
    row = FlowLayout(box)
    left, hidden, right = QPushButton("Layer"), QPushButton("◀"), QPushButton("Compute")
    row.addWidget(left)
    row.addWidget(hidden)
    hidden.setVisible(False)
    row.addStretch()
    row.addWidget(right)
    box.resize(600, 40)
    box.show()
    qtbot.waitExposed(box)
    assert right.geometry().right() == box.width() - 1 and right.y() == left.y()
    box.resize(left.sizeHint().width() + 10, 80)
    qtbot.waitUntil(lambda: right.y() > left.y())
    assert right.x() == 0


def test_a_flowing_row_places_its_items_once_per_width_until_one_of_them_changes(qtbot):
    """A message's header row (nested in its column, as in the chat): a layout pass asks it for its
    height at one width many times, and it places its items once; a button that grows or a hidden
    one shown is measured again at the next pass, not answered from the old height."""
    from PySide6.QtWidgets import QPushButton, QVBoxLayout

    from playground.ui.flow_layout import FlowLayout

    box = QWidget()
    qtbot.addWidget(box)
    column = QVBoxLayout(box)
    row = FlowLayout()
    column.addLayout(row)
    buttons = [QPushButton(f"b{i}") for i in range(4)]
    for b in buttons:
        row.addWidget(b)
    box.resize(400, 200)
    box.show()
    qtbot.waitExposed(box)
    width = sum(b.sizeHint().width() for b in buttons) + 40  # all on one line
    one_line = row.heightForWidth(width)
    before = row.placements
    assert [row.heightForWidth(width) for _ in range(5)] == [one_line] * 5 and row.placements == before
    buttons[0].setText("a much longer label " * 3)  # wider than the row: the rest wrap below it
    column.activate()
    wrapped, before = row.heightForWidth(width), row.placements
    assert wrapped > one_line and row.heightForWidth(width) == wrapped and row.placements == before
    buttons[0].setText("b0")
    buttons[1].setVisible(False)
    column.activate()
    assert row.heightForWidth(width) == one_line



def test_a_maximized_window_is_left_maximized(qtbot):
    """A window restored maximized is the platform's to place: fitting it (here against the
    smaller laptop screen, as a window moved there would be) must not resize it out of that state.
    (On Windows a maximized frame overhangs its screen a little, so fitting always would.)"""
    from playground.ui.screen_fit import fit_to_screen

    w, small = QWidget(), QWidget()
    qtbot.addWidget(w)
    qtbot.addWidget(small)
    small.setScreen(laptop("laptop-1280x800"))
    w.resize(1800, 1000)  # the offscreen platform keeps a maximized window's size as it was
    w.showMaximized()
    qtbot.waitExposed(w)
    size = w.size()
    assert w.isMaximized() and size.width() > 1280
    fit_to_screen(w, like=small)
    assert w.isMaximized() and w.size() == size
