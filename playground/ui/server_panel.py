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
        self.setWindowTitle("API server")
        self.resize(620, 460)
        lay = QVBoxLayout(self)
        intro = QLabel("Serve the loaded model over an OpenAI-compatible API, so editors, notebooks and agents "
                       "can use it. Requests appear in the history as “API · …”.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.host = QLineEdit("127.0.0.1")
        self.host.setToolTip("127.0.0.1: this computer only. Any other address needs an API key.")
        form.addRow("Address", self.host)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(8000)
        form.addRow("Port", self.port)
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("optional on 127.0.0.1; required on any other address")
        form.addRow("API key", self.key)
        lay.addLayout(form)
        row = QHBoxLayout()
        self.toggle = QPushButton("Start serving")
        self.toggle.setCheckable(True)
        row.addWidget(self.toggle)
        self.status = QLabel("Not serving.")
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
            copy = QPushButton(f"Copy {title}")
            copy.clicked.connect(lambda _=False, v=view: QGuiApplication.clipboard().setText(v.toPlainText()))
            head.addWidget(copy)
            lay.addLayout(head)
            lay.addWidget(view, 1)

    def settings(self) -> tuple[str, int, str | None]:
        return self.host.text().strip() or "127.0.0.1", self.port.value(), self.key.text().strip() or None

    def show_running(self, url: str, model: str, api_key: str | None) -> None:
        self.toggle.setChecked(True)
        self.toggle.setText("Stop serving")
        self.status.setText(f"Serving {model} at {url}")
        self.curl.setPlainText(examples(url, model, api_key)[0])
        self.python.setPlainText(examples(url, model, api_key)[1])
        for w in (self.host, self.port, self.key):
            w.setEnabled(False)

    def show_stopped(self, why: str = "Not serving.") -> None:
        self.toggle.setChecked(False)
        self.toggle.setText("Start serving")
        self.status.setText(why)
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
            self.panel.show_stopped("Load a model first: the server serves the loaded model.")
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
        self.panel.status.setText(f"Starting on {host}:{port} …")
        return asyncio.ensure_future(self._start())

    async def _start(self) -> None:
        server = self.server
        try:
            await server.start()
        except OSError as e:
            self.server = None
            server.service.close()
            why = f"Cannot listen on {server.host}:{server.port}: {e.strerror or e}"
            self.panel.show_stopped(why)
            self.stopped.emit(why)
            return
        model = server.service.models()[0]
        self.panel.show_running(server.url, model, server.api_key)
        self.address.setText(f"API: {server.url}")
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
        self.win.statusBar().showMessage(f"Served API request {rid} ({len(reply.record.tokens)} tokens).")
        self.apiReplyFinished.emit(reply)
