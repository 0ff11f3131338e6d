"""The main window: conversations on the left, the chat in the middle, sampling on the right.

It holds the conversation state (pure `Conversation` objects), sends requests to the engine
worker and applies its events. Tokens arriving from the worker are appended to the reply's
text at once, but the screen is refreshed by a frame timer, so a fast model never floods the
event loop with repaints.
"""

from __future__ import annotations

import os
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
from ..storage import BatchedWriter, Store, StoreError, conversation_to_markdown, write_atomically
from .chat_view import ChatView
from .history_panel import HistoryPanel
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
    replayDone = Signal(object, object)  # the Message, ReplayResult
    attentionShown = Signal(object)  # the AttentionMap now in the viewer
    lensShown = Signal(object)  # the logit-lens rows now shown
    fetchProgress = Signal(int, int)  # from the download thread
    fetchDone = Signal(str, str)  # path, error

    def __init__(self, engine: Engine, settings: QSettings | None = None, store: Store | None = None,
                 studio_engine=None):
        super().__init__()
        try:
            self._setup(engine, settings, store, studio_engine)
        except BaseException:
            # a window that fails to build must not leave worker threads running: Qt aborts the
            # whole process when a QThread object is destroyed while its thread still runs
            engine.shutdown()
            if studio_engine is not None:
                studio_engine.shutdown()
            raise

    def _setup(self, engine, settings, store, studio_engine) -> None:
        self.engine = engine
        self.studio_engine = studio_engine  # a TrainingEngine; the studio opens only when there is one
        self.studio = None
        self.settings = settings or QSettings()
        self.store = store or Store(":memory:")
        self.writer = BatchedWriter(self.store, interval_s=0.25)
        self._store_error_shown = False
        self.setWindowTitle("Playground")
        self.resize(1280, 800)
        self.model: ModelInfo | None = None
        self.conv = Conversation()
        self.pending: dict[int, Message] = {}  # request id → the reply being written
        self._replays: dict[int, Message] = {}
        self.current_request: int | None = None
        self._dirty: set[int] = set()
        self._last_params: dict[int, object] = {}
        self._build()
        self._wire()
        self.frame = QTimer(self)
        self.frame.setInterval(FRAME_MS)
        self.frame.timeout.connect(self._paint_frame)
        self.frame.start()
        self.save_timer = QTimer(self)
        self.save_timer.setInterval(250)  # a streaming reply reaches the disk at least this often
        self.save_timer.timeout.connect(lambda: self._persist(self.writer.maybe_flush))
        self.save_timer.start()
        recent = self.store.list_conversations()
        if recent:
            self.open_conversation(recent[0].id)
        else:
            self.chat.set_conversation(self.conv)
        self._refresh_history()
        self._update_buttons()
        if self.store.problems:
            self.statusBar().showMessage(f"{len(self.store.problems)} damaged message(s) were set aside: "
                                         + "; ".join(self.store.problems[:3]))

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
        self.studio_action = QAction("Studio", self)
        self.studio_action.setToolTip("Build, pretrain, fine-tune and evaluate a small model")
        tb.addAction(self.studio_action)
        self.system_action = QAction("System prompt…", self)
        self.system_action.setToolTip("Instructions the model sees before the conversation")
        tb.addAction(self.system_action)

        self.history = HistoryPanel(self.store)
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
        from .inside import InsidePanel

        self.inside = InsidePanel()
        self.inside_dock = QDockWidget("Inside the model", self)
        self.inside_dock.setObjectName("insideDock")
        self.inside_dock.setWidget(self.inside)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.inside_dock)
        self.tabifyDockWidget(self.sampling_dock, self.inside_dock)
        self.sampling_dock.raise_()
        self.statusBar().showMessage("Starting…")
        geo = self.settings.value("window/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        else:  # first start: the chat gets most of the width, the panel on the right about a third
            QTimer.singleShot(0, lambda: self.resizeDocks([self.sampling_dock], [max(360, self.width() // 3)],
                                                          Qt.Orientation.Horizontal))
        sizes = self.settings.value("window/splitter")
        if sizes is not None:
            self.splitter.restoreState(sizes)

    def _wire(self) -> None:
        w = self.engine.worker
        w.modelLoading.connect(self._on_model_loading)
        w.modelLoadProgress.connect(self._on_model_load_progress)
        w.modelLoaded.connect(self._on_model_loaded)
        w.modelLoadFailed.connect(self._on_model_load_failed)
        w.generationStarted.connect(self._on_generation_started)
        w.tokenGenerated.connect(self._on_token)
        w.generationFinished.connect(self._on_finished)
        w.generationFailed.connect(self._on_failed)
        w.replayFinished.connect(self._on_replay_finished)
        w.attentionReady.connect(self._on_attention)
        w.lensReady.connect(self._on_lens)
        w.inspectFailed.connect(lambda req, msg: self.statusBar().showMessage(f"Could not look inside: {msg}"))
        self.chat.tokenClicked.connect(self.inspect_token)
        self.inside.token.branchRequested.connect(lambda t: self.branch_from(*self._inspected, t))
        self.inside.token.lensRequested.connect(self.lens_at_inspected)
        self.inside.token.attendRequested.connect(self.attend_inspected)
        self.inside.attention.computeRequested.connect(self.compute_attention)
        self._inspected = (None, 0)
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
        self.chat.replayRequested.connect(self.replay)
        self.chat.editRequested.connect(self._ask_edit)
        self.chat.versionRequested.connect(self.switch_version)
        self.model_button.clicked.connect(self.pick_model)
        self.open_button.clicked.connect(self.pick_model)
        self.fetch_button.clicked.connect(self.fetch_default)
        self.new_action.triggered.connect(self.new_chat)
        self.system_action.triggered.connect(self._ask_system_prompt)
        self.studio_action.triggered.connect(self.open_studio)
        self.history.openRequested.connect(self.open_conversation)
        self.history.renameRequested.connect(self._ask_rename)
        self.history.pinRequested.connect(lambda cid, on: (self._persist(self.store.pin, cid, on), self._refresh_history()))
        self.history.deleteRequested.connect(self.delete_conversation)
        self.history.exportRequested.connect(self._ask_export)
        self.history.importRequested.connect(self._ask_import)
        self.history.exportAllRequested.connect(lambda: self._ask_export(None, "json"))
        self.undo_button = QPushButton("Undo delete")
        self.undo_button.setVisible(False)
        self.undo_button.clicked.connect(self.undo_delete)
        self.statusBar().addPermanentWidget(self.undo_button)
        self._deleted: int | None = None
        QShortcut(QKeySequence("Esc"), self, activated=self.stop)
        QShortcut(QKeySequence("Ctrl+R"), self, activated=self._regenerate_last)
        QShortcut(QKeySequence("Ctrl+L"), self, activated=lambda: self.input.setFocus())
        self.fetchProgress.connect(self._on_fetch_progress)
        self.fetchDone.connect(self._on_fetch_done)

    # -- model --------------------------------------------------------------------------------
    def open_studio(self):
        if self.studio_engine is None:
            self.statusBar().showMessage("The studio is not available in this window.")
            return None
        if self.studio is None:
            from .studio import StudioWindow

            self.studio = StudioWindow(self.studio_engine)
            self.studio.checkpointReady.connect(lambda path: path and self.load_model(path))
        self.studio.show()
        self.studio.raise_()
        return self.studio

    def load_model(self, path: str, device: str = "auto", dtype: str = "auto") -> None:
        self.engine.load(path, device, dtype)

    def show_no_model(self) -> None:
        self.banner_label.setText("No model is installed yet.")
        self.banner.setVisible(True)
        self.statusBar().showMessage("No model: download the default one or open a model file.")

    def pick_model(self) -> None:
        from .model_picker import ModelPicker

        dlg = ModelPicker(self, self.model.path if self.model else "",
                          f"{self.model.name}: {self.model.weights_line()}" if self.model and self.model.weights else "")
        # Kept until the next picker replaces it: its discovery thread may still report after it closes,
        # and a queued signal to a picker whose Python side is gone crashes PySide (QMetaMethod::name).
        self._picker = dlg
        if dlg.exec() and dlg.chosen:
            self.load_model(*dlg.chosen)

    def _on_model_loading(self, path: str) -> None:
        self.load_progress.setRange(0, 0)  # busy until the loader reports how far it is
        self.load_progress.setVisible(True)
        self.statusBar().showMessage(f"Loading {path} …")

    def _on_model_load_progress(self, percent: int) -> None:
        self.load_progress.setRange(0, 100)
        self.load_progress.setValue(percent)

    def _on_model_loaded(self, info: ModelInfo) -> None:
        self.model = info
        self.load_progress.setVisible(False)
        self.banner.setVisible(False)
        self.model_button.setText(f"{info.name} ▾")
        self.model_button.setToolTip(f"{info.path}\n{info.quantization}, {info.n_params / 1e6:.0f} M parameters, "
                                     f"context {info.context}, {info.backend}\n{info.weights_line()}".rstrip())
        weights = f" · {info.weights_line()}" if info.weights else ""
        self.statusBar().showMessage(f"Loaded {info.name} in {info.load_s:.1f} s ({info.backend}){weights}")
        self.settings.setValue("model/last", info.path)
        self.inside.architecture.show_model(info)
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
        user = self.conv.add("user", text)
        self._persist(self.store.add_message, self.conv, user)  # committed before generation starts
        self._start_reply(self.conv.add("assistant", ""))

    def _start_reply(self, reply: Message, prefix: list[int] | None = None) -> None:
        self.conv.meta["params"] = self.sampling.params().to_dict()
        if self.model:
            self.conv.meta["model_path"] = self.model.path
        if self.model:
            reply.meta.update(model=self.model.name, model_path=self.model.path, model_sha256=self.model.sha256,
                              template_sha256=self.model.template_sha256)
        self._persist(self.store.add_message, self.conv, reply)
        self._persist(self.store.update_conversation, self.conv)
        self.chat.set_conversation(self.conv)
        self._refresh_history()
        req = self.engine.generate(self.conv.messages_for_model(upto=reply), prefix)
        self.pending[req] = reply
        self._pending_conv = self.conv
        self.current_request = req
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
        self._persist(self.store.add_message, self.conv, new)
        self._start_reply(self.conv.add("assistant", "", parent=new))

    def replay(self, reply: Message) -> None:
        """Regenerate a reply from its record and report whether every token matches."""
        if self.generating or reply.role != "assistant":
            return
        req = self.engine.replay(self.conv.messages_for_model(upto=reply), dict(reply.meta))
        self._replays[req] = reply
        self.statusBar().showMessage("Replaying…")

    # -- inside the model -------------------------------------------------------------------------
    def _label(self, token_id: int) -> str:
        return self.model.tokenizer.label(token_id) if self.model and self.model.tokenizer else str(token_id)

    def inspect_token(self, reply: Message, index: int) -> None:
        from .chat_view import token_records

        records = token_records(reply)
        if not 0 <= index < len(records):
            return
        self._inspected = (reply, index)
        self.inside.token.show_token(records[index], self._label)
        self.inside_dock.raise_()
        self.inside.setCurrentWidget(self.inside.token)

    def branch_from(self, reply: Message, index: int, token_id: int) -> None:
        """Cut the reply at token `index`, put `token_id` there, and let the model go on: a new
        version of the reply beside the old one."""
        from .chat_view import token_records

        if self.generating or reply is None or self.model is None:
            return
        events = list(reply.meta.get("_events") or [])
        records = token_records(reply)
        prefix = [r["id"] for r in records[:index]] + [int(token_id)]
        new = self.conv.regenerate(reply)
        new.text = self.model.tokenizer.decode(prefix, skip_special=True)
        new.meta.update(prefix_ids=prefix, branched_at=index)
        if len(events) > index:  # the kept tokens, and the chosen one as the user's pick
            from dataclasses import replace

            was = events[index]
            raw_p = dict(was.top).get(int(token_id), 0.0)
            chosen = replace(was, token_id=int(token_id), text=new.text[len(
                self.model.tokenizer.decode(prefix[:-1], skip_special=True)):], prob=1.0, raw_prob=raw_p,
                top_final=[(int(token_id), 1.0)], removed_by={})
            new.meta["_events"] = events[:index] + [chosen]
        self._start_reply(new, prefix)

    def _prompt_ids(self, upto: Message | None = None) -> list[int]:
        msgs = self.conv.messages_for_model(upto=upto)
        tok = self.model.tokenizer
        if upto is None:
            return tok.encode_chat(msgs, add_generation_prompt=False)
        return tok.encode_chat(msgs, add_generation_prompt=True)

    def lens_at_inspected(self) -> None:
        from .chat_view import token_records

        reply, index = self._inspected
        if reply is None or self.model is None or self.generating:
            return
        ids = self._prompt_ids(upto=reply) + [r["id"] for r in token_records(reply)[:index]]
        self._lens_title = f"Logit lens before token {index} of the reply: what each layer predicts next"
        self.engine.lens(ids, -1)

    def _on_lens(self, req: int, rows) -> None:
        self.inside.lens.set_rows(rows, getattr(self, "_lens_title", ""))
        self.inside.setCurrentWidget(self.inside.lens)
        self.inside_dock.raise_()
        self.lensShown.emit(rows)

    def compute_attention(self) -> None:
        if self.model is None or self.generating or not self.conv.path():
            self.statusBar().showMessage("Attention needs a loaded model and a conversation.")
            return
        ids = self._prompt_ids()
        self.inside.prompt.show_prompt(ids, self._label, self.model.tokenizer.is_special)
        self.statusBar().showMessage(f"Computing attention over {len(ids)} tokens…")
        self.engine.attention(ids)

    def attend_inspected(self) -> None:
        """Show what the inspected token attended to: its row, over the conversation's text."""
        from .chat_view import token_records

        reply, index = self._inspected
        if reply is None or self.model is None or self.generating:
            return
        ids = self._prompt_ids(upto=reply) + [r["id"] for r in token_records(reply)]
        self._pending_row = len(self._prompt_ids(upto=reply)) + index
        amap = self.inside.attention.map
        if amap is not None and list(amap.token_ids[: len(ids)]) == ids[: len(amap.token_ids)] and \
                self._pending_row < len(amap.token_ids):
            self._show_pending_row()
            return
        self.statusBar().showMessage(f"Computing attention over {len(ids)} tokens…")
        self.engine.attention(ids)

    def _show_pending_row(self) -> None:
        r = getattr(self, "_pending_row", None)
        if r is not None and self.inside.attention.map is not None and r < self.inside.attention.map.shape[2]:
            self.inside.attention.show_row(r)
            self.inside.setCurrentWidget(self.inside.attention)
        self._pending_row = None

    def _on_attention(self, req: int, amap) -> None:
        self.inside.attention.set_map(amap)
        self._show_pending_row()
        self.inside.setCurrentWidget(self.inside.attention)
        self.inside_dock.raise_()
        L, H, T, _ = amap.shape
        self.statusBar().showMessage(f"Attention: {L} layers × {H} heads over {T} tokens.")
        self.attentionShown.emit(amap)

    def _on_replay_finished(self, req: int, res) -> None:
        reply = self._replays.pop(req, None)
        if reply is None:
            return
        if not res.possible:
            text = f"Cannot replay: {res.reason}"
        elif res.identical:
            text = f"Replayed: all {len(res.tokens)} tokens are identical."
        else:
            text = f"Replayed, but {res.reason}."
        self.statusBar().showMessage(text)
        self.replayDone.emit(reply, res)

    def _ask_edit(self, message: Message) -> None:
        text, ok = QInputDialog.getMultiLineText(self, "Edit message", "New text (the old version is kept):", message.text)
        if ok:
            self.edit_and_resend(message, text)

    def switch_version(self, message: Message, index: int) -> None:
        if self.generating:
            return
        chosen = self.conv.switch(message, index)
        self._persist(self.store.save_active, self.conv, chosen.parent)
        self.chat.set_conversation(self.conv)

    def new_chat(self) -> None:
        if self.generating:
            return
        self.conv = Conversation(system_prompt=self.conv.system_prompt)
        self.chat.set_conversation(self.conv)
        self._refresh_history()
        self.input.setFocus()

    def _ask_system_prompt(self) -> None:
        text, ok = QInputDialog.getMultiLineText(self, "System prompt", "Instructions for the model:",
                                                 self.conv.system_prompt)
        if ok:
            self.conv.system_prompt = text
            if self.conv.path():
                self._persist(self.store.update_conversation, self.conv)
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
        reply.meta.setdefault("_events", []).append(ev)  # in memory only; a compact record is saved at the end
        self._dirty.add(req)
        self.writer.touch(self._pending_conv, reply)

    def _on_finished(self, req: int, fin) -> None:
        reply = self.pending.pop(req, None)
        self._last_params.pop(req, None)
        if reply is not None:
            reply.text += fin.tail
            reply.meta.update(tokens=fin.generated_tokens, tok_s=fin.decode_tok_s, ttft_ms=fin.ttft_s * 1000,
                              finish=fin.reason, seed=fin.seed, token_record=_token_record(reply.meta.get("_events", [])))
            self.chat.refresh(reply)
            self.writer.touch(self._pending_conv, reply)
            self._persist(self.writer.flush)
            self._refresh_history()
        self._dirty.discard(req)
        self._end_request(req)
        if reply is not None:
            self.replyFinished.emit(reply)

    def _on_failed(self, req: int, message: str) -> None:
        reply = self.pending.pop(req, None)
        if reply is not None:
            reply.meta["error"] = message
            self.chat.refresh(reply)
            self.writer.touch(self._pending_conv, reply)
            self._persist(self.writer.flush)
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
        self.history.refresh(self.conv.meta.get("db_id"))

    # -- history ------------------------------------------------------------------------------------
    def _persist(self, fn, *args):
        """Run a store write; on failure tell the user once, keep everything on screen."""
        try:
            return fn(*args)
        except StoreError as e:
            self.statusBar().showMessage(f"History not saved: {e}")
            if not self._store_error_shown:
                self._store_error_shown = True
                QMessageBox.warning(self, "History not saved",
                                    f"{e}\n\nThe conversation stays on screen; export it to keep a copy.")
            return None

    def open_conversation(self, cid: int) -> None:
        if self.generating:
            return
        try:
            conv = self.store.load(cid)
        except StoreError as e:
            self.statusBar().showMessage(str(e))
            return
        self.conv = conv
        self.chat.set_conversation(conv)
        self._refresh_history()
        params = conv.meta.get("params")
        if params:
            from .sampling_panel import _params_from_dict

            p = _params_from_dict(params)
            if p is not None:
                self.sampling.set_params(p)
        needed = conv.meta.get("model_path")
        if needed and self.model and needed != self.model.path:
            if os.path.exists(needed):  # continue with the model the conversation was held with
                self.statusBar().showMessage(f"Loading {os.path.basename(needed)}, the model of this conversation…")
                self.load_model(needed)
            else:
                self.statusBar().showMessage(f"This conversation was with {needed}, which is not on this computer; "
                                             f"{self.model.name} will answer instead.")
        self._update_counter()

    def delete_conversation(self, cid: int) -> None:
        if self.generating and cid == self.conv.meta.get("db_id"):
            self.stop()
        self._persist(self.store.delete, cid)
        self._deleted = cid
        self.undo_button.setVisible(True)
        self.statusBar().showMessage("Conversation deleted.")
        if cid == self.conv.meta.get("db_id") and not self.generating:
            self.conv = Conversation(system_prompt=self.conv.system_prompt)
            self.chat.set_conversation(self.conv)
        self._refresh_history()

    def undo_delete(self) -> None:
        if self._deleted is not None:
            self._persist(self.store.undelete, self._deleted)
            self._deleted = None
        self.undo_button.setVisible(False)
        self._refresh_history()

    def _ask_rename(self, cid: int) -> None:
        title, ok = QInputDialog.getText(self, "Rename", "Title:")
        if ok and title.strip():
            self._persist(self.store.rename, cid, title.strip())
            if cid == self.conv.meta.get("db_id"):
                self.conv.title = title.strip()
            self._refresh_history()

    def export_conversation(self, cid: int | None, path: str, kind: str) -> None:
        """Export one conversation (or all of them, with cid None, as JSON)."""
        import json

        try:
            if cid is None:
                text = json.dumps(self.store.export_all(), indent=1, ensure_ascii=False)
            elif kind == "json":
                text = json.dumps(self.store.export_json(cid), indent=1, ensure_ascii=False)
            else:
                text = conversation_to_markdown(self.store.load(cid))
            write_atomically(path, text)
        except StoreError as e:
            QMessageBox.warning(self, "Export failed", str(e))
            return
        self.statusBar().showMessage(f"Exported to {path}")

    def _ask_export(self, cid: int | None, kind: str) -> None:
        from PySide6.QtWidgets import QFileDialog

        filt = "JSON (*.json)" if kind == "json" else "Markdown (*.md)"
        path, _ = QFileDialog.getSaveFileName(self, "Export conversation", f"conversation.{kind}", filt)
        if path:
            self.export_conversation(cid, path, kind)

    def import_conversation(self, path: str) -> int | None:
        import json

        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            cid = self.store.import_json(data)
        except (OSError, ValueError, StoreError) as e:
            QMessageBox.warning(self, "Import failed", f"{path}\n\n{e}")
            return None
        self._refresh_history()
        self.open_conversation(cid)
        return cid

    def _ask_import(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Import conversation", "", "JSON (*.json)")
        if path:
            self.import_conversation(path)

    def closeEvent(self, e) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.frame.stop()
        self.engine.shutdown()
        if self.studio_engine is not None:
            self.studio_engine.shutdown()
        if self.studio is not None:
            self.studio.close()
        self._persist(self.writer.flush)
        super().closeEvent(e)


def _token_record(events) -> list:
    """What is saved per generated token: id, probability, the top alternatives, and the
    sampling parameters whenever they changed (a timeline, not a copy per token)."""
    out, last = [], None
    for ev in events:
        rec = {"id": ev.token_id, "text": ev.text, "p": round(ev.prob, 5), "raw_p": round(ev.raw_prob, 5),
               "entropy": round(ev.entropy, 4), "top": [[t, round(p, 5)] for t, p in ev.top],
               "top_final": [[t, round(p, 5)] for t, p in ev.top_final[:5]]}
        if ev.removed_by:
            rec["removed_by"] = ev.removed_by
        if ev.params != last:
            rec["params"] = ev.params.to_dict()
            last = ev.params
        out.append(rec)
    return out
