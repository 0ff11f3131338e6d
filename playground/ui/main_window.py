"""The main window: conversations on the left, the chat in the middle, sampling on the right;
or, in the "Inside the model" mode, the chat beside a workspace of the teaching views (the
token inspector, attention, the logit lens, the prompt, the architecture). Layout and wiring only.

Every chat action goes to the `ChatSession` (session/, no Qt), which the window is handed; the
session reports back through its hooks, on the GUI thread. The history sidebar, the model chooser
and the inspector have their own small controllers. Tokens are applied to the reply at once by the
session, but the screen is refreshed by a frame clock (frame_clock.py), so a fast model never floods the event
loop with repaints.
"""

from __future__ import annotations

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
    QProgressBar,
    QPushButton,
    QSplitter,
    QStatusBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ..conversation import Message
from ..session import ChatSession
from .chat_view import ChatView, is_dark
from .frame_clock import FrameClock
from .history_controller import HistoryController
from .history_panel import HistoryPanel
from .input_box import InputBox
from .inside import InsideWorkspace
from .inspect_controller import InspectController
from .lessons_controller import LessonsController
from .markdown import warm_up
from .model_controller import ModelController
from .sampling_panel import SamplingPanel
from .screen_fit import fit_to_screen

if TYPE_CHECKING:  # the window is handed an Engine; it never imports the worker's module
    from ..engine.model_info import ModelInfo
    from ..engine.worker import Engine

CHAT_SHARE = 0.32  # of the width, for the chat beside the workspace: 410 px at 1280, 614 at 1920
CHAT_MIN_PX = 380
STATUS_SECONDS = 10  # a status message expires after this long unless it says otherwise


class ExpiringStatusBar(QStatusBar):
    """Status messages go away after STATUS_SECONDS, so an old "could not load" never sits
    beside a model that is working."""

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 (Qt's name)
        super().showMessage(text, timeout or int(STATUS_SECONDS * 1000))


class MainWindow(QMainWindow):
    replyFinished = Signal(object)  # the Message, once its last token and stats are applied
    modelReady = Signal(object)  # ModelInfo, once the window shows it
    loadFailed = Signal(str)  # the message shown to the user
    replayDone = Signal(object, object)  # the Message, ReplayResult
    attentionShown = Signal(object)  # the AttentionMap now in the viewer
    lensShown = Signal(object)  # the logit-lens rows now shown
    fetchProgress = Signal(int, int)  # from the download thread
    fetchDone = Signal(str, str)  # path, error
    storeFailed = Signal(object)  # a history write failed (the writer thread's, delivered here)

    def __init__(self, engine: Engine, session: ChatSession, settings: QSettings | None = None, studio_engine=None):
        super().__init__()
        try:
            self._setup(engine, session, settings, studio_engine)
        except BaseException:
            # a window that fails to build must not leave worker threads running: Qt aborts the
            # whole process when a QThread object is destroyed while its thread still runs
            engine.shutdown()
            if studio_engine is not None:
                studio_engine.shutdown()
            raise

    def _setup(self, engine, session, settings, studio_engine) -> None:
        self.engine = engine
        self.session = session
        self.store = session.store  # the window never writes it; tests and the app reach it here
        self.studio_engine = studio_engine  # a TrainingEngine; the studio opens only when there is one
        self.studio = None
        self.settings = settings or QSettings()
        self._store_error_shown = False
        self.setWindowTitle("Playground")
        self.resize(1280, 800)
        self.model: ModelInfo | None = None
        self._build()
        self._wire()
        self.clock = FrameClock(self, self._show_changes)  # repaints a streaming reply, a frame at a time
        QTimer.singleShot(0, lambda: warm_up(is_dark()))  # the first code block shown would pay for it
        recent = session.history.list()
        if recent:
            self.history_ctl.open(recent[0].id)
        else:
            self.chat.set_conversation(session.conv)
        self.history_ctl.refresh()
        self.update_buttons()
        problems = session.history.problems
        if problems:
            self.statusBar().showMessage(self.tr("{n} damaged message(s) were set aside: {which}").format(
                n=len(problems), which="; ".join(problems[:3])))

    @property
    def conv(self):
        return self.session.conv

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        tb = QToolBar(self.tr("Main"))
        tb.setObjectName("mainToolbar")
        self.addToolBar(tb)
        self.model_button = QPushButton(self.tr("No model"))
        self.model_button.setToolTip(self.tr("Choose the model to chat with"))
        tb.addWidget(self.model_button)
        self.load_progress = QProgressBar()
        self.load_progress.setRange(0, 0)
        self.load_progress.setMaximumWidth(160)
        self.load_progress.setVisible(False)
        tb.addWidget(self.load_progress)
        self.new_action = QAction(self.tr("New chat"), self)
        self.new_action.setShortcut(QKeySequence("Ctrl+N"))
        tb.addAction(self.new_action)
        self.studio_action = QAction(self.tr("Studio"), self)
        self.studio_action.setToolTip(self.tr("Build, pretrain, fine-tune and evaluate a small model"))
        tb.addAction(self.studio_action)
        self.compare_action = QAction(self.tr("Compare settings…"), self)
        self.compare_action.setObjectName("compareAction")
        self.compare_action.setToolTip(self.tr("A/B decoding: the same question under two or more sets of sampling "
                                       "parameters, side by side"))
        tb.addAction(self.compare_action)
        self.compare_window = None
        self.system_action = QAction(self.tr("System prompt…"), self)
        self.system_action.setToolTip(self.tr("Instructions the model sees before the conversation"))
        tb.addAction(self.system_action)
        self.inside_action = QAction(self.tr("Inside the model"), self)
        self.inside_action.setCheckable(True)
        self.inside_action.setShortcut(QKeySequence("Ctrl+I"))
        self.inside_action.setToolTip(self.tr("Beside the chat: what the model chose between at each token, its attention, "
                                      "the logit lens, the prompt and the architecture (Ctrl+I)"))
        tb.addAction(self.inside_action)

        self.history = HistoryPanel(self.session.history)
        self.chat = ChatView()
        self.chat.setObjectName("chatView")
        self.banner = QWidget()
        bl = QHBoxLayout(self.banner)
        self.banner_label = QLabel()
        self.fetch_button = QPushButton(self.tr("Download SmolLM2-135M (94 MB)"))
        self.open_button = QPushButton(self.tr("Open a model…"))
        self.fetch_progress = QProgressBar()
        self.fetch_progress.setVisible(False)
        for w in (self.banner_label, self.fetch_button, self.open_button, self.fetch_progress):
            bl.addWidget(w)
        bl.addStretch(1)
        self.banner.setVisible(False)
        self.input = InputBox()
        self.input.setObjectName("messageInput")
        self.input.setPlaceholderText(self.tr("Message the model (Enter to send, Shift+Enter for a new line)"))
        self.input.setMaximumHeight(110)
        self.send_button = QPushButton(self.tr("Send"))
        self.send_button.setObjectName("sendButton")
        self.stop_button = QPushButton(self.tr("Stop"))
        self.stop_button.setToolTip(self.tr("Stop the reply (Esc)"))
        self.counter = QLabel()
        self.counter.setObjectName("tokenCounter")
        self.counter.setStyleSheet("color: gray;")
        self.counter.setWordWrap(True)  # two lines in a narrow chat column, never a wider window
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
        self.inside = InsideWorkspace()  # a main area beside the chat, shown in the "Inside the model" mode
        self.inside.setVisible(False)
        self.splitter = QSplitter()
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(True)
        self.splitter.addWidget(self.history)
        self.splitter.addWidget(center)
        self.splitter.addWidget(self.inside)
        self.splitter.setCollapsible(1, False)  # the chat stays in sight
        self.splitter.setSizes([220, 1060, 0])
        self.setCentralWidget(self.splitter)
        self.sampling = SamplingPanel(self.settings)
        self.sampling_dock = self._dock(self.tr("Sampling"), "samplingDock", self.sampling)
        self.setStatusBar(ExpiringStatusBar())
        self.undo_button = QPushButton(self.tr("Undo delete"))
        self.undo_button.setVisible(False)
        self.statusBar().addPermanentWidget(self.undo_button)
        self.statusBar().showMessage(self.tr("Starting…"))
        self._restore_layout()

    def _dock(self, title: str, name: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    def _restore_layout(self) -> None:
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
        s = self.session
        s.reply_started.connect(self._on_reply_started)
        s.token_applied.connect(lambda reply, ev: self.clock.mark(reply.id))
        s.reply_finished.connect(self._on_reply_finished)
        s.replay_finished.connect(self._on_replay_finished)
        s.notice.connect(self.statusBar().showMessage)
        s.store_failed.connect(self.storeFailed.emit)  # queued when it comes from the writer thread
        s.conversation_changed.connect(self._on_conversation_changed)
        self.storeFailed.connect(self._show_store_error)
        self.history_ctl = HistoryController(self)
        self.model_ctl = ModelController(self)
        self.inspect_ctl = InspectController(self)
        self.lessons_ctl = LessonsController(self)
        self.sampling.paramsChanged.connect(self.engine.live.set)
        self.engine.live.set(self.sampling.params())
        self.send_button.clicked.connect(self.send)
        self.input.sendRequested.connect(self.send)
        self.stop_button.clicked.connect(self.stop)
        self.input.textChanged.connect(lambda: self._count_timer.start())
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(200)
        self._count_timer.timeout.connect(self.update_counter)
        self.chat.copyRequested.connect(lambda m: QApplication.clipboard().setText(m.text))
        self.chat.regenerateRequested.connect(s.regenerate)
        self.chat.replayRequested.connect(self.replay)
        self.chat.editRequested.connect(self._ask_edit)
        self.chat.versionRequested.connect(s.switch)
        self.new_action.triggered.connect(self.new_chat)
        self.system_action.triggered.connect(self._ask_system_prompt)
        self.studio_action.triggered.connect(self.open_studio)
        self.compare_action.triggered.connect(lambda: self.open_compare())
        self.chat.compareRequested.connect(self.open_compare)
        self.inside_action.toggled.connect(self.show_inside)
        QShortcut(QKeySequence("Esc"), self, activated=self.stop)
        QShortcut(QKeySequence("Ctrl+R"), self, activated=self._regenerate_last)
        QShortcut(QKeySequence("Ctrl+L"), self, activated=lambda: self.input.setFocus())

    # -- actions ------------------------------------------------------------------------------------
    def load_model(self, path: str, device: str = "auto", dtype: str = "auto") -> None:
        self.engine.load(path, device, dtype)

    def show_no_model(self) -> None:
        self.model_ctl.show_none()

    def send(self) -> None:
        text = self.input.toPlainText()
        if text.strip() and not self.session.generating and self.session.send(text) is not None:
            self.input.clear()

    def stop(self) -> None:
        self.session.stop()

    def replay(self, reply: Message) -> None:
        """Regenerate a reply from its record and report whether every token matches."""
        if reply.role == "assistant" and not self.session.generating:
            self.statusBar().showMessage(self.tr("Replaying…"))
            self.session.replay(reply)

    def _regenerate_last(self) -> None:
        last = self.session.conv.last()
        if last.role == "assistant":
            self.session.regenerate(last)

    def _ask_edit(self, message: Message) -> None:
        text, ok = QInputDialog.getMultiLineText(self, self.tr("Edit message"),
                                                 self.tr("New text (the old version is kept):"), message.text)
        if ok:
            self.session.edit(message, text)

    def new_chat(self) -> None:
        if self.session.new_conversation():
            self.input.setFocus()

    def _ask_system_prompt(self) -> None:
        text, ok = QInputDialog.getMultiLineText(self, self.tr("System prompt"), self.tr("Instructions for the model:"),
                                                 self.session.conv.system_prompt)
        if ok:
            self.session.set_system_prompt(text)
            self.update_counter()

    def open_studio(self):
        if self.studio_engine is None:
            self.statusBar().showMessage(self.tr("The studio is not available in this window."))
            return None
        if self.studio is None:
            from .studio import StudioWindow

            self.studio = StudioWindow(self.studio_engine)
            self.studio.checkpointReady.connect(lambda path: path and self.load_model(path))
            self.lessons_ctl.place_beside(self.studio)
        self.studio.show()
        self.studio.raise_()
        return self.studio

    def open_compare(self, reply: Message | None = None):
        """The A/B window: what `reply` answered, or (from the toolbar) the draft in the message box
        after the conversation so far."""
        from .compare_window import CompareWindow

        if self.compare_window is None:
            self.compare_window = CompareWindow(self.session, self._token_label, self)
        win = self.compare_window
        if reply is not None and reply.role == "assistant":
            win.set_prefix(upto=reply)
        else:
            win.set_prefix(draft=self.input.toPlainText().strip())
        win.show()
        win.raise_()
        return win

    def _token_label(self, token_id: int) -> str:
        m = self.model
        return m.tokenizer.label(token_id) if m is not None and m.tokenizer is not None else str(token_id)

    def show_inside(self, on: bool) -> None:
        """The "Inside the model" mode: the workspace takes most of the width beside the chat (the
        conversation list and the sampling panel make room), or back to chatting."""
        self.inside_action.setChecked(on)  # (no-op when it came from the action)
        if on == self.inside.isVisible():
            return
        if on:
            self._chat_layout = (self.splitter.sizes(), self.sampling_dock.isVisible())
            self.sampling_dock.hide()
            # hidden, not only collapsed: a collapsed splitter pane still counts its minimum width
            # in the window's, which with the Lessons dock open was wider than a 1280-px screen
            self.history.hide()
            self.inside.show()
            self._share_width()
            QTimer.singleShot(0, self._share_width)  # again once the dock's room has come to the splitter
            self.inspect_ctl.refresh_open_view()
        else:
            sizes, sampling = getattr(self, "_chat_layout", ([220, max(self.width() - 220, 400), 0], True))
            self.inside.hide()
            self.history.show()
            self.sampling_dock.setVisible(sampling)
            self.splitter.setSizes(sizes[:2] + [0])

    def _share_width(self) -> None:
        if self.inside.isVisible():
            width = self.splitter.width()
            chat = max(CHAT_MIN_PX, int(width * CHAT_SHARE))
            self.splitter.setSizes([0, chat, width - chat - self.splitter.handleWidth() * 2])

    # -- the session's hooks -----------------------------------------------------------------------------
    def _on_reply_started(self, reply: Message) -> None:
        self.chat.set_conversation(self.session.conv)
        self.history_ctl.refresh()
        self.update_buttons()

    def _on_reply_finished(self, reply: Message) -> None:
        self.clock.discard(reply.id)
        self.chat.refresh(reply)
        self.history_ctl.refresh()
        self.update_buttons()
        self.update_counter()
        self.replyFinished.emit(reply)

    def _on_replay_finished(self, reply: Message, res) -> None:
        self.statusBar().showMessage(res.describe())
        self.replayDone.emit(reply, res)

    def _on_conversation_changed(self, conv) -> None:
        self.chat.set_conversation(conv)
        self.history_ctl.refresh()
        self.update_counter()

    def _show_store_error(self, e) -> None:
        """A history write failed: say so once in a dialog, always in the status bar; the
        conversation stays on screen."""
        self.statusBar().showMessage(self.tr("History not saved: {error}").format(error=e))
        if not self._store_error_shown:
            self._store_error_shown = True
            QMessageBox.warning(self, self.tr("History not saved"),
                                self.tr("{error}\n\nThe conversation stays on screen; export it to keep a copy.").format(error=e))

    def _show_changes(self, ids: set[int]) -> None:
        for reply in self.session.pending:
            if reply.id in ids:
                self.chat.refresh(reply)

    # -- bits ---------------------------------------------------------------------------------------
    def update_buttons(self) -> None:
        self.send_button.setEnabled(not self.session.generating)
        self.stop_button.setEnabled(self.session.generating)

    def update_counter(self) -> None:
        if self.model is None or self.model.tokenizer is None:
            self.counter.setText("")
            return
        tok, conv = self.model.tokenizer, self.session.conv
        draft = len(tok.encode(self.input.toPlainText())) if self.input.toPlainText() else 0
        try:
            used = len(tok.encode_chat(conv.messages_for_model())) if conv.path() else 0
        except ValueError:
            used = 0
        self.counter.setText(self.tr("draft {draft} tokens · conversation {used} of {context} tokens").format(
            draft=draft, used=used, context=self.model.context))

    def showEvent(self, e) -> None:
        """The first time the window opens: its frame inside the screen's available geometry
        (a 1366×768 laptop has less height than the 800 px asked for), and again once the window
        system has put its frame around it."""
        super().showEvent(e)
        if not getattr(self, "_fitted", False):
            self._fitted = True
            fit_to_screen(self)
            QTimer.singleShot(0, self, lambda: fit_to_screen(self))

    def closeEvent(self, e) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        if not self.inside.isVisible():  # the chat layout is the one worth restoring
            self.settings.setValue("window/splitter", self.splitter.saveState())
        self.clock.timer.stop()
        self.engine.shutdown()
        if self.studio_engine is not None:
            self.studio_engine.shutdown()
        if self.studio is not None:
            self.studio.close()
        if self.compare_window is not None:
            self.compare_window.close()
        self.session.close()
        super().closeEvent(e)
