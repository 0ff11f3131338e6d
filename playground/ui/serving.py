"""Serve and be served, attached to a built window: the "API server" toolbar toggle (the
server on the app's loop) and the remote model source in the model picker. Kept apart from the
window's own layout; `app.build_window` attaches it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QToolBar

from ..texts import translate
from .remote_controller import RemoteController
from .server_panel import ServerController

if TYPE_CHECKING:
    from .main_window import MainWindow


def attach_serving(win: MainWindow) -> None:
    local = win.session.backend
    win.server_ctl = ServerController(win, local)
    win.remote_ctl = RemoteController(win)
    win.model_ctl.remote_source = win.remote_ctl.open_dialog
    action = QAction(translate("Serving", "API server…"), win)
    action.setToolTip(translate("Serving", "Serve the loaded model over an OpenAI-compatible API (for editors, "
                                          "notebooks, agents)"))
    action.triggered.connect(win.server_ctl.open_panel)
    win.server_action = action
    win.findChild(QToolBar, "mainToolbar").addAction(action)
