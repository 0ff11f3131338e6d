"""The window's Lessons and Settings: two toolbar entries, the Lessons dock (built on first use,
with its runner), and the Settings dialog whose language choice the app acts on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QToolBar

from . import i18n
from .screen_fit import fit_into, frame_extra

if TYPE_CHECKING:
    from .lesson_panel import LessonPanel
    from .main_window import MainWindow


class LessonsController(QObject):
    languageChosen = Signal(str)  # saved in the settings; the app rebuilds its window in it

    def __init__(self, win: MainWindow):
        super().__init__(win)
        self.win = win
        self.panel: LessonPanel | None = None
        self.runner = None
        self.dock: QDockWidget | None = None
        tb = win.findChild(QToolBar, "mainToolbar")
        self.action = QAction(self.tr("Lessons"), win)
        self.action.setObjectName("lessonsAction")
        self.action.setCheckable(True)
        self.action.setToolTip(self.tr("Guided lessons that walk the tutorial on the live model"))
        self.action.toggled.connect(self.show)
        self.settings_action = QAction(self.tr("Settings…"), win)
        self.settings_action.setObjectName("settingsAction")
        self.settings_action.setToolTip(self.tr("The interface's language"))
        self.settings_action.triggered.connect(self.open_settings)
        if tb is not None:
            tb.addAction(self.action)
            tb.addAction(self.settings_action)
        if win.settings.value("lessons/open", False) in (True, "true"):
            self.action.setChecked(True)

    def open(self) -> LessonPanel:
        """The Lessons dock, shown (built the first time)."""
        if self.panel is None:
            from .lesson_panel import LessonPanel
            from .lesson_runner import LessonRunner

            self.runner = LessonRunner(self.win, i18n.current_language)
            self.panel = LessonPanel(self.runner)
            self.dock = QDockWidget(self.tr("Lessons"), self.win)
            self.dock.setObjectName("lessonsDock")
            self.dock.setWidget(self.panel)
            self.win.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)
            self.win.resizeDocks([self.dock], [380], Qt.Orientation.Horizontal)
            self.dock.visibilityChanged.connect(self._on_visibility)
        self.dock.show()
        self.dock.raise_()
        self.action.setChecked(True)
        return self.panel

    def show(self, on: bool) -> None:
        if on:
            self.open()
        elif self.dock is not None:
            self.dock.hide()
        self.win.settings.setValue("lessons/open", on)

    def _on_visibility(self, visible: bool) -> None:
        if not visible and self.dock is not None and not self.dock.isVisible():
            self.action.setChecked(False)
            if self.runner is not None:
                self.runner.highlighter.clear()
            self.win.model_ctl.end_lesson()

    def place_beside(self, window) -> None:
        """A window a lesson drives (the Studio) opens inside the screen's available geometry,
        sized to fit it; with the Lessons dock open, to the right of the dock (all the room there),
        so the lesson's text and its check stay in view. Where the window cannot shrink to that
        room it takes the whole screen's, over the dock, but never runs past the screen's edge."""
        screen = self.win.screen()
        if screen is None:
            return
        area = screen.availableGeometry()
        window.ensurePolished()
        size = window.size()
        if self.dock is not None and self.dock.isVisible():
            left = self.dock.mapToGlobal(self.dock.rect().topRight()).x() + 8
            beside = QRect(left, area.top(), area.left() + area.width() - left, area.height())
            if beside.width() - frame_extra(window, self.win).width() >= window.minimumSizeHint().width():
                area, size = beside, beside.size()
        window.move(area.center() - QPoint(size.width() // 2, size.height() // 2))
        fit_into(window, area, like=self.win, size=size)

    def open_settings(self):
        from .settings_dialog import SettingsDialog

        dlg = SettingsDialog(self.win.settings, self.win)
        dlg.languageChosen.connect(self.languageChosen)
        dlg.open()
        return dlg
