"""The model side of the window: choosing a model, showing it load (or fail to), and fetching
the default one. Loading runs on the engine worker; this reacts to its signals."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from ..paths import same_path

if TYPE_CHECKING:
    from ..engine.model_info import ModelInfo
    from .main_window import MainWindow


class ModelController(QObject):
    def __init__(self, win: MainWindow):
        super().__init__(win)
        self.win = win
        self.remote_source = None  # opens the remote endpoint dialog (ui/serving.py sets it)
        self.lesson_path: str | None = None  # a model a lesson loaded: used for the lesson only
        self.before_lesson: str | None = None  # the user's model then, loaded back when the lessons close
        w = win.engine.worker
        w.modelLoading.connect(self._on_loading)
        w.modelLoadProgress.connect(self._on_load_progress)
        w.modelLoaded.connect(self._on_loaded)
        w.modelLoadFailed.connect(self._on_load_failed)
        win.model_button.clicked.connect(self.pick)
        win.open_button.clicked.connect(self.pick)
        win.fetch_button.clicked.connect(self.fetch_default)
        win.fetchProgress.connect(self._on_fetch_progress)
        win.fetchDone.connect(self._on_fetch_done)

    def pick(self) -> None:
        from .model_picker import ModelPicker

        model = self.win.model
        dlg = ModelPicker(self.win, model.path if model else "",
                          f"{model.name}: {model.weights_line()}" if model and model.weights else "",
                          remote=self.remote_source is not None)
        # Kept until the next picker replaces it: its discovery thread may still report after it closes,
        # and a queued signal to a picker whose Python side is gone crashes PySide (QMetaMethod::name).
        self._picker = dlg
        if dlg.exec() and dlg.chosen:
            self.win.load_model(*dlg.chosen)
        elif dlg.remote_chosen and self.remote_source is not None:
            self.remote_source()

    def show_none(self) -> None:
        self.win.banner_label.setText(self.tr("No model is installed yet."))
        self.win.banner.setVisible(True)
        self.win.statusBar().showMessage(self.tr("No model: download the default one or open a model file."))

    def _on_loading(self, path: str) -> None:
        self.win.load_progress.setRange(0, 0)  # busy until the loader reports how far it is
        self.win.load_progress.setVisible(True)
        self.win.statusBar().showMessage(self.tr('Loading {path} …').format(path=path))

    def _on_load_progress(self, percent: int) -> None:
        self.win.load_progress.setRange(0, 100)
        self.win.load_progress.setValue(percent)

    def _on_loaded(self, info: ModelInfo) -> None:
        win = self.win
        win.model = info
        win.load_progress.setVisible(False)
        win.banner.setVisible(False)
        win.model_button.setText(f"{info.name} ▾")
        weights = info.weights_line()
        win.model_button.setToolTip((info.path + "\n" + self.tr(
            "{quantization}, {params:.0f} M parameters, context {context}, {backend}").format(
            quantization=info.quantization, params=info.n_params / 1e6, context=info.context, backend=info.backend)
            + "\n" + weights).rstrip())
        loaded = self.tr("Loaded {name} in {seconds:.1f} s ({backend})").format(
            name=info.name, seconds=info.load_s, backend=info.backend) + (f" · {weights}" if info.weights else "")
        if self.lesson_path is not None and same_path(info.path, self.lesson_path):
            if self.before_lesson:  # not remembered as the user's model: theirs comes back after the lessons
                loaded += " · " + self.tr("for the lesson; {name} comes back when you close the lessons").format(
                    name=Path(self.before_lesson).name)
        else:
            self.lesson_path = self.before_lesson = None  # the user chose this one
            win.settings.setValue("model/last", info.path)
        win.statusBar().showMessage(loaded)
        win.inside.set_model(info)
        win.update_counter()
        win.update_buttons()
        win.modelReady.emit(info)

    def load_for_lesson(self, path: str, dtype: str) -> None:
        """Load a lesson's model without making it the user's: the model/last setting keeps theirs,
        and end_lesson() loads theirs back."""
        current = self.win.model
        if self.before_lesson is None and current is not None and not same_path(current.path, path):
            self.before_lesson = current.path
        self.lesson_path = path
        self.win.load_model(path, dtype=dtype)

    def end_lesson(self) -> None:
        """The lessons closed: the model the user had before them comes back, if a lesson changed it."""
        before, self.before_lesson = self.before_lesson, None
        current = self.win.model
        if before and current is not None and self.lesson_path and same_path(current.path, self.lesson_path):
            self.lesson_path = None
            self.win.load_model(before)

    def _on_load_failed(self, path: str, message: str) -> None:
        win = self.win
        win.load_progress.setVisible(False)
        still = f"\n\n{win.model.name} is still loaded." if win.model else ""
        win.statusBar().showMessage(self.tr("The model could not be loaded."))
        if win.model is None:
            self.show_none()
        text = f"{path}\n\n{message}{still}"
        win.loadFailed.emit(text)
        QMessageBox.warning(win, self.tr("Could not load the model"), text)

    def fetch_default(self) -> None:
        win = self.win
        win.fetch_button.setEnabled(False)
        win.fetch_progress.setVisible(True)

        def run():
            from ..loading.fetch import FetchError, fetch

            try:
                path = fetch("smollm2", progress=lambda d, t: win.fetchProgress.emit(d, t))
                win.fetchDone.emit(str(path), "")
            except (FetchError, OSError) as e:
                win.fetchDone.emit("", str(e))

        threading.Thread(target=run, daemon=True).start()

    def _on_fetch_progress(self, done: int, total: int) -> None:
        self.win.fetch_progress.setRange(0, max(total, 1))
        self.win.fetch_progress.setValue(done)

    def _on_fetch_done(self, path: str, error: str) -> None:
        self.win.fetch_button.setEnabled(True)
        self.win.fetch_progress.setVisible(False)
        if error:
            QMessageBox.warning(self.win, self.tr("Download failed"), error)
        else:
            self.win.load_model(path)
