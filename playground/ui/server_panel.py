"""Serving the loaded model from the app: a toggle that starts the OpenAI-compatible server on the
app's own asyncio loop (qasync), its address, and copyable curl and Python examples.

The server drives its own chat sessions over the window's engine backend (requests and the
window's replies take turns on the one model, first come first served) and writes them to the
window's history, where they appear titled "API · …". Safe by default: 127.0.0.1, and any other
address only with an API key.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from ..server import ApiServer, BindRefused, ModelService

if TYPE_CHECKING:
    from .main_window import MainWindow


def examples(url: str, model: str, api_key: str | None) -> tuple[str, str]:
    """A curl command and a Python snippet (the `openai` package) that call this server."""
    auth = f" \\\n  -H 'Authorization: Bearer {api_key}'" if api_key else ""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Hello!"}], "stream": True})
    curl = f"curl {url}/chat/completions{auth} \\\n  -H 'Content-Type: application/json' \\\n  -d '{body}'"
    py = (f"from openai import OpenAI\n\n"
          f"client = OpenAI(base_url=\"{url}\", api_key=\"{api_key or 'not-needed'}\")\n"
          f"stream = client.chat.completions.create(\n"
          f"    model=\"{model}\",\n"
          f"    messages=[{{\"role\": \"user\", \"content\": \"Hello!\"}}],\n"
          f"    stream=True,\n)\n"
          f"for chunk in stream:\n"
          f"    print(chunk.choices[0].delta.content or \"\", end=\"\", flush=True)\n")
    return curl, py


class ServerPanel(QDialog):
    """The toggle, the address and the examples."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("API server"))
        self.resize(620, 460)
        lay = QVBoxLayout(self)
        intro = QLabel(self.tr("Serve the loaded model over an OpenAI-compatible API, so editors, notebooks and "
                               "agents can use it. Requests appear in the history as “API · …”."))
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.host = QLineEdit("127.0.0.1")
        self.host.setToolTip(self.tr("127.0.0.1: this computer only. Any other address needs an API key."))
        form.addRow(self.tr("Address"), self.host)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(8000)
        form.addRow(self.tr("Port"), self.port)
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText(self.tr("optional on 127.0.0.1; required on any other address"))
        form.addRow(self.tr("API key"), self.key)
        lay.addLayout(form)
        row = QHBoxLayout()
        self.toggle = QPushButton(self.tr("Start serving"))
        self.toggle.setCheckable(True)
        row.addWidget(self.toggle)
        self.status = QLabel(self.tr("Not serving."))
        self.status.setWordWrap(True)
        row.addWidget(self.status, 1)
        lay.addLayout(row)
        self.curl = QPlainTextEdit()
        self.curl.setReadOnly(True)
        self.python = QPlainTextEdit()
        self.python.setReadOnly(True)
        for title, view in (("curl", self.curl), ("Python", self.python)):
            head = QHBoxLayout()
            head.addWidget(QLabel(title))
            head.addStretch(1)
            copy = QPushButton(self.tr("Copy {what}").format(what=title))
            copy.clicked.connect(lambda _=False, v=view: QGuiApplication.clipboard().setText(v.toPlainText()))
            head.addWidget(copy)
            lay.addLayout(head)
            lay.addWidget(view, 1)

    def settings(self) -> tuple[str, int, str | None]:
        return self.host.text().strip() or "127.0.0.1", self.port.value(), self.key.text().strip() or None

    def show_running(self, url: str, model: str, api_key: str | None) -> None:
        self.toggle.setChecked(True)
        self.toggle.setText(self.tr("Stop serving"))
        self.status.setText(self.tr("Serving {model} at {url}").format(model=model, url=url))
        self.curl.setPlainText(examples(url, model, api_key)[0])
        self.python.setPlainText(examples(url, model, api_key)[1])
        for w in (self.host, self.port, self.key):
            w.setEnabled(False)

    def show_stopped(self, why: str | None = None) -> None:
        self.toggle.setChecked(False)
        self.toggle.setText(self.tr("Start serving"))
        self.status.setText(self.tr("Not serving.") if why is None else why)
        for w in (self.host, self.port, self.key):
            w.setEnabled(True)


class ServerController(QObject):
    """Starts and stops the server on the running loop, for the window's engine and history."""

    started = Signal(str)  # the server's base URL
    stopped = Signal(str)  # why ("" when asked to)
    apiReplyFinished = Signal(object)  # an API request's reply (a Message), once its record is complete

    def __init__(self, win: MainWindow, backend):
        super().__init__(win)
        self.win = win
        self.backend = backend  # the engine worker's backend (the local model), shared with the window
        self.server: ApiServer | None = None
        self.panel = ServerPanel(win)
        self.panel.toggle.clicked.connect(self._on_toggle)
        self.address = QLabel()
        self.address.setVisible(False)
        win.statusBar().addPermanentWidget(self.address)

    @property
    def running(self) -> bool:
        return self.server is not None and self.server.running

    def open_panel(self) -> ServerPanel:
        self.panel.show()
        self.panel.raise_()
        return self.panel

    def _on_toggle(self, checked: bool) -> None:
        if checked:
            self.start(*self.panel.settings())
        else:
            self.stop()

    def start(self, host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None) -> asyncio.Future | None:
        """Start serving (the result arrives as `started` or `stopped`)."""
        if self.server is not None:
            return None
        if self.backend.model is None:
            self.panel.show_stopped(self.tr("Load a model first: the server serves the loaded model."))
            self.stopped.emit("no model")
            return None
        try:
            service = ModelService(self.backend, self.win.session.store)
            self.server = ApiServer(service, host, port, api_key)
        except BindRefused as e:
            self.panel.show_stopped(str(e))
            self.stopped.emit(str(e))
            return None
        service.request_started.connect(lambda reply, rid: self.win.history_ctl.refresh())
        service.reply_finished.connect(self._on_api_reply)
        self.panel.status.setText(self.tr("Starting on {host}:{port} …").format(host=host, port=port))
        return asyncio.ensure_future(self._start())

    async def _start(self) -> None:
        server = self.server
        try:
            await server.start()
        except OSError as e:
            self.server = None
            server.service.close()
            why = self.tr("Cannot listen on {host}:{port}: {error}").format(host=server.host, port=server.port,
                                                                            error=e.strerror or e)
            self.panel.show_stopped(why)
            self.stopped.emit(why)
            return
        model = server.service.models()[0]
        self.panel.show_running(server.url, model, server.api_key)
        self.address.setText(self.tr("API: {url}").format(url=server.url))
        self.address.setVisible(True)
        self.started.emit(server.url)

    def stop(self) -> asyncio.Future | None:
        server, self.server = self.server, None
        self.panel.show_stopped()
        self.address.setVisible(False)
        if server is None:
            return None
        return asyncio.ensure_future(self._stop(server))

    async def _stop(self, server: ApiServer) -> None:
        await server.stop()
        server.service.close()
        self.stopped.emit("")

    def _on_api_reply(self, reply, rid: str) -> None:
        self.win.history_ctl.refresh()
        self.win.statusBar().showMessage(self.tr("Served API request {id} ({n} tokens).").format(id=rid, n=len(reply.record.tokens)))
        self.apiReplyFinished.emit(reply)
