"""The remote model source: an OpenAI-compatible endpoint's address and optional key, its model
list fetched (async, on the app's loop), and the model to chat with."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from ..remote import RemoteError, list_models


class RemoteDialog(QDialog):
    chosen = Signal(str, str, str)  # url, api key ("" for none), model id
    modelsFetched = Signal(list)  # the ids the endpoint listed (also after an error: [])

    def __init__(self, parent=None, url: str = "http://127.0.0.1:8080/v1", api_key: str = ""):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Remote model"))
        self.resize(520, 200)
        lay = QVBoxLayout(self)
        intro = QLabel(self.tr("Chat with a model served elsewhere through an OpenAI-compatible API "
                               "(vLLM, llama.cpp's server, Ollama, LM Studio, another Playground)."))
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.url = QLineEdit(url)
        self.url.setToolTip(self.tr("The endpoint's base address, e.g. http://127.0.0.1:8080/v1 (/v1 is added when "
                                    "the address has no path)"))
        form.addRow(self.tr("Address"), self.url)
        self.key = QLineEdit(api_key)
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText(self.tr("optional"))
        self.key.setToolTip(self.tr("Sent as 'Authorization: Bearer <key>' when the server needs one"))
        form.addRow(self.tr("API key"), self.key)
        row = QHBoxLayout()
        self.models = QComboBox()
        self.models.setMinimumWidth(260)
        self.fetch_button = QPushButton(self.tr("Fetch models"))
        self.fetch_button.setToolTip(self.tr("Ask the endpoint which models it serves (GET /models)"))
        row.addWidget(self.models, 1)
        row.addWidget(self.fetch_button)
        form.addRow(self.tr("Model"), row)
        lay.addLayout(form)
        self.status = QLabel(self.tr("Fetch the endpoint's models, then choose one."))
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.use_button = QPushButton(self.tr("Use this model"))
        self.use_button.setEnabled(False)
        cancel = QPushButton(self.tr("Cancel"))
        buttons.addWidget(self.use_button)
        buttons.addWidget(cancel)
        lay.addLayout(buttons)
        self.fetch_button.clicked.connect(self.fetch)
        self.use_button.clicked.connect(self._use)
        cancel.clicked.connect(self.reject)
        self._task: asyncio.Future | None = None

    def fetch(self) -> None:
        """Fetch the model list on the running loop (the window stays responsive)."""
        self.fetch_button.setEnabled(False)
        self.status.setText(self.tr("Asking {url} …").format(url=self.url.text().strip()))
        self._task = asyncio.ensure_future(self._fetch(self.url.text(), self.key.text().strip() or None))

    async def _fetch(self, url: str, key: str | None) -> None:
        try:
            ids = await list_models(url, key)
        except RemoteError as e:
            ids = []
            self.status.setText(self.tr("Could not list the models: {error}").format(error=e))
        else:
            self.status.setText(self.tr("{n} model(s) served there.").format(n=len(ids)) if ids
                                else self.tr("The endpoint lists no models."))
        self.models.clear()
        self.models.addItems(ids)
        self.use_button.setEnabled(bool(ids))
        self.fetch_button.setEnabled(True)
        self.modelsFetched.emit(ids)

    def _use(self) -> None:
        if self.models.currentText():
            self.chosen.emit(self.url.text().strip(), self.key.text().strip(), self.models.currentText())
            self.accept()
