"""The model side of the window: choosing a model, showing it load (or fail to), and fetching
the default one. Loading runs on the engine worker; this reacts to its signals."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

if TYPE_CHECKING:
    from ..engine.model_info import ModelInfo
    from .main_window import MainWindow


class ModelController(QObject):
    def __init__(self, win: MainWindow):
        super().__init__(win)
        self.win = win
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
                          f"{model.name}: {model.weights_line()}" if model and model.weights else "")
        # Kept until the next picker replaces it: its discovery thread may still report after it closes,
        # and a queued signal to a picker whose Python side is gone crashes PySide (QMetaMethod::name).
        self._picker = dlg
        if dlg.exec() and dlg.chosen:
            self.win.load_model(*dlg.chosen)

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
        win.statusBar().showMessage(self.tr("Loaded {name} in {seconds:.1f} s ({backend})").format(
            name=info.name, seconds=info.load_s, backend=info.backend) + (f" · {weights}" if info.weights else ""))
        win.settings.setValue("model/last", info.path)
        win.inside.set_model(info)
        win.update_counter()
        win.update_buttons()
        win.modelReady.emit(info)

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
