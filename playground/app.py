"""The desktop app: `playground` with no command. Wires the engine worker, the window and the
asyncio loop (qasync, for I/O only) together; this is the one module that knows them all.

Startup shows the window first and loads the model behind it: nothing the first frame needs
imports torch, pyqtgraph or the GGUF reader, and the default model is looked up and its load
queued only once the window has painted (loading imports torch on the worker thread, which
would otherwise compete with the window for the interpreter). `benchmarks/bench_startup.py`
measures the time to a visible window."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from .texts import translate


def make_settings() -> QSettings:
    """Settings live beside the rest of Playground's files (PLAYGROUND_HOME moves them too)."""
    from .paths import home

    home().mkdir(parents=True, exist_ok=True)
    return QSettings(str(home() / "settings.ini"), QSettings.Format.IniFormat)


def build_window(engine, settings: QSettings | None = None, store=None, studio_engine=None):
    """The window over a chat session over the engine worker (the wiring of every layer)."""
    from .engine.worker_backend import WorkerBackend
    from .session import ChatSession
    from .ui.main_window import MainWindow

    try:
        session = ChatSession(WorkerBackend(engine), store)
    except BaseException:
        engine.shutdown()
        raise
    return MainWindow(engine, session, settings, studio_engine)


def create_window(engine=None, settings: QSettings | None = None, load_default: bool = True):
    from .engine.worker import Engine
    from .paths import home
    from .storage import Store, StoreError

    engine = engine or Engine()
    settings = settings or make_settings()
    try:
        store = Store(Path(settings.fileName()).parent / "history.db")
    except StoreError as e:  # e.g. a read-only data folder: chat anyway, in memory, and say so
        print(f"warning: {e}; history will not be saved", file=sys.stderr)
        store = None
    from .engine.training_worker import TrainingEngine

    window = build_window(engine, settings, store, TrainingEngine())
    if store is None:
        window.statusBar().showMessage(translate("App", "History cannot be saved in {home}: conversations last until "
                                                 "you quit.").format(home=home()))
    window.input.setFocus()  # the message box has the keyboard from the start
    if load_default:
        after_first_paint(window, lambda: load_default_model(window))
    return window


def load_default_model(window) -> None:
    """Queue the load of the model used last, else the default one; say so if there is none."""
    import os

    from .loading.discovery import default_model

    last = window.settings.value("model/last")
    path = last if last and os.path.exists(last) else default_model()
    if path:
        window.load_model(str(path))
    else:
        window.show_no_model()


class _FirstPaint(QObject):
    """Calls back once, on the event loop's next turn after a widget first painted."""

    def __init__(self, widget, fn):
        super().__init__(widget)
        self.fn = fn
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint and self.fn is not None:
            fn, self.fn = self.fn, None
            obj.removeEventFilter(self)
            QTimer.singleShot(0, fn)
        return False


def after_first_paint(widget, fn) -> None:
    _FirstPaint(widget, fn)


def start(argv: list[str] | None = None):
    """The application, its asyncio loop and the shown window (the model loading behind it)."""
    import qasync

    from .ui.theme import apply_theme

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("Playground")
    app.setOrganizationName("Playground")
    apply_theme(app)
    settings = make_settings()
    use_language(app, settings)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = create_window(settings=settings)
    window.lessons_ctl.languageChosen.connect(lambda _code: restart(window))
    window.show()
    return app, loop, window


def use_language(app: QApplication, settings: QSettings) -> str:
    """The interface's language: the one chosen in Settings, else the system's (English when the
    translation is missing). Returns the one in use."""
    from .ui import i18n

    lang = i18n.chosen_language(settings)
    if not i18n.install(lang, app):
        print(f"warning: no translation for {lang} is installed; the interface stays in English", file=sys.stderr)
    return i18n.current_language()


def restart(window) -> None:
    """Start Playground again (in the language just chosen) and close this one: the conversations
    are saved as they go and the model used last is loaded again, so nothing is lost."""
    from PySide6.QtCore import QProcess

    frozen = getattr(sys, "frozen", False)  # a packaged app: the executable is Playground itself
    args = sys.argv[1:] if frozen else ["-m", "playground", *sys.argv[1:]]
    if QProcess.startDetached(sys.executable, args):
        window.close()


def main(argv: list[str] | None = None) -> int:
    app, loop, window = start(argv)
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    return 0
