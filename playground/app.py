"""The desktop app: `playground` with no command. Wires the engine worker, the window and the
asyncio loop (qasync, for I/O only) together; this is the one module that knows them all."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication


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
    from .loading.discovery import default_model
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
        window.statusBar().showMessage(f"History cannot be saved in {home()}: conversations last until you quit.")
    if load_default:
        last = window.settings.value("model/last")
        path = last if last and __import__("os").path.exists(last) else default_model()
        if path:
            window.load_model(str(path))
        else:
            window.show_no_model()
    return window


def main(argv: list[str] | None = None) -> int:
    import qasync

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("Playground")
    app.setOrganizationName("Playground")
    app.setStyle("Fusion")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = create_window()
    window.show()
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    return 0
