"""A remote model in the window: switches the chat session between the local engine and a remote
OpenAI-compatible endpoint (`RemoteBackend`, streaming on the app's qasync loop), and says what
differs: parameters apply per request, and the model's insides cannot be looked at."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

from ..remote import RemoteBackend

if TYPE_CHECKING:
    from .main_window import MainWindow

class RemoteController(QObject):
    remoteReady = Signal(object)  # the RemoteModelInfo now chatted with

    def __init__(self, win: MainWindow):
        super().__init__(win)
        self.win = win
        self.local = win.session.backend  # the engine worker's backend, back when a local model loads
        self.remote: RemoteBackend | None = None
        self.dialog = None
        self.note = QLabel(self.tr("Remote model: the server reads the parameters once per request, so a change "
                                   "applies from the next reply, not the one being written."))
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #a15c00;")
        self.note.setVisible(False)
        win.sampling.layout().insertWidget(0, self.note)
        win.engine.worker.modelLoaded.connect(self._on_local_loaded)
        win.sampling.paramsChanged.connect(self._on_params_changed)

    @property
    def active(self) -> bool:
        return self.remote is not None and self.win.session.backend is self.remote

    def open_dialog(self):
        from .remote_dialog import RemoteDialog

        self.dialog = RemoteDialog(self.win, **({"url": self.remote.url} if self.remote else {}))
        self.dialog.chosen.connect(self.use)
        self.dialog.open()
        return self.dialog

    def use(self, url: str, api_key: str, model: str) -> bool:
        """Chat with `model` at `url` from the next message on (not while a reply is written)."""
        win = self.win
        if win.session.generating:
            win.statusBar().showMessage(self.tr("Wait for the reply to finish (or stop it) before switching models."))
            return False
        self._close_remote()
        self.remote = RemoteBackend(url, model, api_key or None, live=win.engine.live)
        info = self.remote.model
        win.session.backend = self.remote
        win.model = info
        win.model_button.setText(self.tr("{name} ▾ (remote)").format(name=info.name))
        win.model_button.setToolTip(self.tr("{name} at {url}\nruns on that server; parameters apply per request")
                                    .format(name=info.name, url=info.path))
        self.note.setVisible(True)
        self._say_no_insides(info)
        win.statusBar().showMessage(self.tr("Chatting with {name} at {url}.").format(name=info.name, url=info.path))
        win.update_counter()
        win.update_buttons()
        self.remoteReady.emit(info)
        win.modelReady.emit(info)
        return True

    def _say_no_insides(self, info) -> None:
        inside = self.win.inside
        inside.attention.hover.setText(info.unavailable("attention"))
        inside.lens.caption.setText(info.unavailable("the logit lens"))
        inside.architecture.setPlainText(f"{info.name}\n\n{info.unavailable('its architecture view')}")

    def unavailable(self, what: str) -> str:
        """Why a view of the insides cannot run now ('' with a local model)."""
        return self.remote.model.unavailable(what) if self.active else ""

    def _on_local_loaded(self, info) -> None:
        """A local model loaded: the session goes back to the engine."""
        if self.remote is None:
            return
        if self.active and self.win.session.generating:
            self.win.session.stop()  # the remote reply ends "cancelled"; the next one is local
        self.win.session.backend = self.local
        self.note.setVisible(False)
        self._close_remote()

    def _on_params_changed(self, params) -> None:
        if self.active and self.win.session.generating:
            self.win.statusBar().showMessage(self.tr("Remote model: this change applies from the next reply."))

    def _close_remote(self) -> None:
        old, self.remote = self.remote, None
        if old is not None:
            try:
                asyncio.ensure_future(old.aclose())
            except RuntimeError:  # no loop any more (the app is closing)
                pass
