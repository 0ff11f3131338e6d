"""The main window: conversations on the left, the chat in the middle, sampling on the right.

It holds the conversation state (pure `Conversation` objects), sends requests to the engine
worker and applies its events. Tokens arriving from the worker are appended to the reply's
text at once, but the screen is refreshed by a frame timer, so a fast model never floods the
event loop with repaints.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ..conversation import Conversation, Message
from .chat_view import ChatView
from .sampling_panel import SamplingPanel

if TYPE_CHECKING:  # the window is handed an Engine; it never imports the worker's module
    from ..engine.worker import Engine, ModelInfo

FRAME_MS = 16


class InputBox(QPlainTextEdit):
    """Enter sends, Shift+Enter adds a line."""

    sendRequested = Signal()

    def keyPressEvent(self, e) -> None:
        if e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not e.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.sendRequested.emit()
            return
        super().keyPressEvent(e)


class MainWindow(QMainWindow):
    replyFinished = Signal(object)  # the Message, once its last token and stats are applied
    modelReady = Signal(object)  # ModelInfo, once the window shows it
    loadFailed = Signal(str)  # the message shown to the user
    fetchProgress = Signal(int, int)  # from the download thread
    fetchDone = Signal(str, str)  # path, error

    def __init__(self, engine: Engine, settings: QSettings | None = None):
        super().__init__()
        self.engine = engine
        self.settings = settings or QSettings()
        self.setWindowTitle("Playground")
        self.resize(1280, 800)
        self.model: ModelInfo | None = None
        self.conversations: list[Conversation] = [Conversation()]
        self.conv = self.conversations[0]
        self.pending: dict[int, Message] = {}  # request id → the reply being written
        self.current_request: int | None = None
        self._dirty: set[int] = set()
        self._last_params: dict[int, object] = {}
        self._build()
        self._wire()
        self.frame = QTimer(self)
        self.frame.setInterval(FRAME_MS)
        self.frame.timeout.connect(self._paint_frame)
        self.frame.start()
        self.chat.set_conversation(self.conv)
        self._refresh_history()
        self._update_buttons()

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("mainToolbar")
        self.addToolBar(tb)
        self.model_button = QPushButton("No model")
        self.model_button.setToolTip("Choose the model to chat with")
        tb.addWidget(self.model_button)
        self.load_progress = QProgressBar()
        self.load_progress.setRange(0, 0)
        self.load_progress.setMaximumWidth(160)
        self.load_progress.setVisible(False)
        tb.addWidget(self.load_progress)
        self.new_action = QAction("New chat", self)
        self.new_action.setShortcut(QKeySequence("Ctrl+N"))
        tb.addAction(self.new_action)
        self.system_action = QAction("System prompt…", self)
        self.system_action.setToolTip("Instructions the model sees before the conversation")
        tb.addAction(self.system_action)

        self.history = QListWidget()
        self.history.setObjectName("history")
        self.chat = ChatView()
        self.banner = QWidget()
        bl = QHBoxLayout(self.banner)
        self.banner_label = QLabel()
        self.fetch_button = QPushButton("Download SmolLM2-135M (94 MB)")
        self.open_button = QPushButton("Open a model…")
        self.fetch_progress = QProgressBar()
        self.fetch_progress.setVisible(False)
        for w in (self.banner_label, self.fetch_button, self.open_button, self.fetch_progress):
            bl.addWidget(w)
        bl.addStretch(1)
        self.banner.setVisible(False)
        self.input = InputBox()
        self.input.setPlaceholderText("Message the model (Enter to send, Shift+Enter for a new line)")
        self.input.setMaximumHeight(110)
        self.send_button = QPushButton("Send")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the reply (Esc)")
        self.counter = QLabel()
        self.counter.setStyleSheet("color: gray;")
        center = QWidget()
        cl = QVBoxLayout(center)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.banner)
        cl.addWidget(self.chat, 1)
        row = QHBoxLayout()
        row.addWidget(self.input, 1)
        col = QVBoxLayout()
        col.addWidget(self.send_button)
        col.addWidget(self.stop_button)
        row.addLayout(col)
        cl.addLayout(row)
        cl.addWidget(self.counter)
        self.splitter = QSplitter()
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.history)
        self.splitter.addWidget(center)
        self.splitter.setSizes([220, 1060])
        self.setCentralWidget(self.splitter)
        self.sampling = SamplingPanel(self.settings)
        self.sampling_dock = QDockWidget("Sampling", self)
        self.sampling_dock.setObjectName("samplingDock")
        self.sampling_dock.setWidget(self.sampling)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.sampling_dock)
        self.statusBar().showMessage("Starting…")
        geo = self.settings.value("window/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        sizes = self.settings.value("window/splitter")
        if sizes is not None:
            self.splitter.restoreState(sizes)

    def _wire(self) -> None:
        w = self.engine.worker
        w.modelLoading.connect(self._on_model_loading)
        w.modelLoaded.connect(self._on_model_loaded)
        w.modelLoadFailed.connect(self._on_model_load_failed)
        w.generationStarted.connect(self._on_generation_started)
        w.tokenGenerated.connect(self._on_token)
        w.generationFinished.connect(self._on_finished)
        w.generationFailed.connect(self._on_failed)
        self.sampling.paramsChanged.connect(self._on_params_changed)
        self.engine.live.set(self.sampling.params())
        self.send_button.clicked.connect(self.send)
        self.input.sendRequested.connect(self.send)
        self.stop_button.clicked.connect(self.stop)
        self.input.textChanged.connect(self._count_later)
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(200)
        self._count_timer.timeout.connect(self._update_counter)
        self.chat.copyRequested.connect(lambda m: QApplication.clipboard().setText(m.text))
        self.chat.regenerateRequested.connect(self.regenerate)
        self.chat.editRequested.connect(self._ask_edit)
        self.chat.versionRequested.connect(self.switch_version)
        self.model_button.clicked.connect(self.pick_model)
        self.open_button.clicked.connect(self.pick_model)
        self.fetch_button.clicked.connect(self.fetch_default)
        self.new_action.triggered.connect(self.new_chat)
        self.system_action.triggered.connect(self._ask_system_prompt)
        self.history.currentRowChanged.connect(self._on_history_row)
        QShortcut(QKeySequence("Esc"), self, activated=self.stop)
        QShortcut(QKeySequence("Ctrl+R"), self, activated=self._regenerate_last)
        QShortcut(QKeySequence("Ctrl+L"), self, activated=lambda: self.input.setFocus())
        self.fetchProgress.connect(self._on_fetch_progress)
        self.fetchDone.connect(self._on_fetch_done)

    # -- model --------------------------------------------------------------------------------
    def load_model(self, path: str, device: str = "cpu", dtype: str = "auto") -> None:
        self.engine.load(path, device, dtype)

    def show_no_model(self) -> None:
        self.banner_label.setText("No model is installed yet.")
        self.banner.setVisible(True)
        self.statusBar().showMessage("No model: download the default one or open a model file.")

    def pick_model(self) -> None:
        from .model_picker import ModelPicker

        dlg = ModelPicker(self, self.model.path if self.model else "")
        if dlg.exec() and dlg.chosen:
            self.load_model(*dlg.chosen)

    def _on_model_loading(self, path: str) -> None:
        self.load_progress.setVisible(True)
        self.statusBar().showMessage(f"Loading {path} …")

    def _on_model_loaded(self, info: ModelInfo) -> None:
        self.model = info
        self.load_progress.setVisible(False)
        self.banner.setVisible(False)
        self.model_button.setText(f"{info.name} ▾")
        self.model_button.setToolTip(f"{info.path}\n{info.quantization}, {info.n_params / 1e6:.0f} M parameters, "
                                     f"context {info.context}, {info.backend}")
        self.statusBar().showMessage(f"Loaded {info.name} in {info.load_s:.1f} s ({info.backend})")
        self.settings.setValue("model/last", info.path)
        self._update_counter()
        self._update_buttons()
        self.modelReady.emit(info)

    def _on_model_load_failed(self, path: str, message: str) -> None:
        self.load_progress.setVisible(False)
        still = f"\n\n{self.model.name} is still loaded." if self.model else ""
        self.statusBar().showMessage("The model could not be loaded.")
        if self.model is None:
            self.show_no_model()
        text = f"{path}\n\n{message}{still}"
        self.loadFailed.emit(text)
        QMessageBox.warning(self, "Could not load the model", text)

    def fetch_default(self) -> None:
        self.fetch_button.setEnabled(False)
        self.fetch_progress.setVisible(True)

        def run():
            from ..loading.fetch import FetchError, fetch

            try:
                path = fetch("smollm2", progress=lambda d, t: self.fetchProgress.emit(d, t))
                self.fetchDone.emit(str(path), "")
            except (FetchError, OSError) as e:
                self.fetchDone.emit("", str(e))

        threading.Thread(target=run, daemon=True).start()

    def _on_fetch_progress(self, done: int, total: int) -> None:
        self.fetch_progress.setRange(0, max(total, 1))
        self.fetch_progress.setValue(done)

    def _on_fetch_done(self, path: str, error: str) -> None:
        self.fetch_button.setEnabled(True)
        self.fetch_progress.setVisible(False)
        if error:
            QMessageBox.warning(self, "Download failed", error)
        else:
            self.load_model(path)

    # -- chatting -------------------------------------------------------------------------------
    @property
    def generating(self) -> bool:
        return self.current_request is not None

    def send(self) -> None:
        text = self.input.toPlainText().strip()
        if not text or self.generating:
            return
        if self.model is None:
            self.statusBar().showMessage("Load a model first.")
            return
        self.input.clear()
        self.conv.add("user", text)
        self._start_reply(self.conv.add("assistant", ""))

    def _start_reply(self, reply: Message) -> None:
        self.chat.set_conversation(self.conv)
        self._refresh_history()
        req = self.engine.generate(self.conv.messages_for_model(upto=reply))
        self.pending[req] = reply
        self.current_request = req
        reply.meta.update(model=self.model.name if self.model else "", model_path=self.model.path if self.model else "")
        self._update_buttons()

    def stop(self) -> None:
        if self.generating:
            self.engine.stop()

    def regenerate(self, reply: Message) -> None:
        if self.generating or reply.role != "assistant":
            return
        self._start_reply(self.conv.regenerate(reply))

    def _regenerate_last(self) -> None:
        last = self.conv.last()
        if last.role == "assistant":
            self.regenerate(last)

    def edit_and_resend(self, message: Message, text: str) -> None:
        if self.generating or not text.strip():
            return
        new = self.conv.edit(message, text.strip())
        self._start_reply(self.conv.add("assistant", "", parent=new))

    def _ask_edit(self, message: Message) -> None:
        text, ok = QInputDialog.getMultiLineText(self, "Edit message", "New text (the old version is kept):", message.text)
        if ok:
            self.edit_and_resend(message, text)

    def switch_version(self, message: Message, index: int) -> None:
        if self.generating:
            return
        self.conv.switch(message, index)
        self.chat.set_conversation(self.conv)

    def new_chat(self) -> None:
        if self.generating:
            return
        self.conv = Conversation(system_prompt=self.conv.system_prompt)
        self.conversations.insert(0, self.conv)
        self.chat.set_conversation(self.conv)
        self._refresh_history()
        self.input.setFocus()

    def _ask_system_prompt(self) -> None:
        text, ok = QInputDialog.getMultiLineText(self, "System prompt", "Instructions for the model:",
                                                 self.conv.system_prompt)
        if ok:
            self.conv.system_prompt = text
            self._update_counter()

    # -- engine events ------------------------------------------------------------------------------
    def _on_generation_started(self, req: int, prompt_tokens: int, dropped: int) -> None:
        reply = self.pending.get(req)
        if reply is not None:
            reply.meta["prompt_tokens"] = prompt_tokens
            if dropped:
                self.statusBar().showMessage(f"The {dropped} oldest messages no longer fit the context and were left out.")

    def _on_token(self, req: int, ev) -> None:
        reply = self.pending.get(req)
        if reply is None:
            return
        last = self._last_params.get(req)
        if last is not None and ev.params != last:
            changed = [k for k, v in ev.params.to_dict().items() if v != last.to_dict()[k]]
            label = ", ".join(f"{k}={getattr(ev.params, k)}" for k in changed)
            reply.meta.setdefault("param_marks", []).append((len(reply.text), label))
        self._last_params[req] = ev.params
        reply.text += ev.text
        reply.meta.setdefault("events", []).append(ev)
        self._dirty.add(req)

    def _on_finished(self, req: int, fin) -> None:
        reply = self.pending.pop(req, None)
        self._last_params.pop(req, None)
        if reply is not None:
            reply.text += fin.tail
            reply.meta.update(tokens=fin.generated_tokens, tok_s=fin.decode_tok_s, ttft_ms=fin.ttft_s * 1000,
                              finish=fin.reason, seed=fin.seed)
            self.chat.refresh(reply)
        self._dirty.discard(req)
        self._end_request(req)
        if reply is not None:
            self.replyFinished.emit(reply)

    def _on_failed(self, req: int, message: str) -> None:
        reply = self.pending.pop(req, None)
        if reply is not None:
            reply.meta["error"] = message
            self.chat.refresh(reply)
        self.statusBar().showMessage(message)
        self._end_request(req)
        if reply is not None:
            self.replyFinished.emit(reply)

    def _end_request(self, req: int) -> None:
        if self.current_request == req:
            self.current_request = None
        self._update_buttons()
        self._update_counter()

    def _paint_frame(self) -> None:
        """At most one repaint per frame, whatever the token rate. The frame stretches to twenty
        times what the last repaint cost (16 to 100 ms), so rendering a long reply never takes
        more than 5% of the GUI thread, or of the interpreter the worker shares with it (measured:
        at 60 repaints a second the worker decoded 30% slower)."""
        if not self._dirty:
            return
        t0 = time.perf_counter()
        for req in list(self._dirty):
            reply = self.pending.get(req)
            if reply is not None:
                self.chat.refresh(reply)
        self._dirty.clear()
        cost_ms = (time.perf_counter() - t0) * 1000
        self.frame.setInterval(int(min(100, max(FRAME_MS, 20 * cost_ms))))

    def _on_params_changed(self, params) -> None:
        self.engine.live.set(params)

    # -- bits ---------------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        self.send_button.setEnabled(not self.generating)
        self.stop_button.setEnabled(self.generating)

    def _count_later(self) -> None:
        self._count_timer.start()

    def _update_counter(self) -> None:
        if self.model is None or self.model.tokenizer is None:
            self.counter.setText("")
            return
        tok = self.model.tokenizer
        draft = len(tok.encode(self.input.toPlainText())) if self.input.toPlainText() else 0
        try:
            conv = len(tok.encode_chat(self.conv.messages_for_model())) if self.conv.path() else 0
        except ValueError:
            conv = 0
        self.counter.setText(f"draft {draft} tokens · conversation {conv} of {self.model.context} tokens")

    def _refresh_history(self) -> None:
        self.history.blockSignals(True)
        self.history.clear()
        for c in self.conversations:
            QListWidgetItem(c.title or "New chat", self.history)
        self.history.setCurrentRow(self.conversations.index(self.conv))
        self.history.blockSignals(False)

    def _on_history_row(self, row: int) -> None:
        if self.generating or not 0 <= row < len(self.conversations):
            self._refresh_history()
            return
        self.conv = self.conversations[row]
        self.chat.set_conversation(self.conv)
        self._update_counter()

    def closeEvent(self, e) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.frame.stop()
        self.engine.shutdown()
        super().closeEvent(e)
