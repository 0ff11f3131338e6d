"""The model picker: what discovery finds on this computer (default model, the user's folder,
other apps' downloads) with size, format, quantization and parameter count; or any file or
folder; plus the device and precision to load it with."""

from __future__ import annotations

import threading

from PySide6.QtCore import QT_TRANSLATE_NOOP, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ..loading.discovery import discover

COLUMNS = [  # (translated where shown)
    QT_TRANSLATE_NOOP("ModelPicker", "Name"), QT_TRANSLATE_NOOP("ModelPicker", "Source"),
    QT_TRANSLATE_NOOP("ModelPicker", "Format"), QT_TRANSLATE_NOOP("ModelPicker", "Quantization"),
    QT_TRANSLATE_NOOP("ModelPicker", "Parameters"), QT_TRANSLATE_NOOP("ModelPicker", "Size"),
    QT_TRANSLATE_NOOP("ModelPicker", "Path")]


def _describe_all() -> list[dict]:
    rows = []
    for m in discover():
        info = m.describe()
        info.update(path=str(m.path), source=m.source)
        rows.append(info)
    return rows


class ModelPicker(QDialog):
    found = Signal(list)  # rows from the discovery thread

    def __init__(self, parent=None, current_path: str = "", current: str = ""):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Choose a model"))
        self.resize(900, 420)
        self.chosen: tuple[str, str, str] | None = None
        lay = QVBoxLayout(self)
        self.current = QLabel(self.tr("Loaded now: {path}").format(path=current) if current else "")
        self.current.setVisible(bool(current))
        lay.addWidget(self.current)
        self.status = QLabel(self.tr("Looking for models on this computer…"))
        lay.addWidget(self.status)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self._accept_selected)
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        open_file = QPushButton(self.tr("Open file…"))
        open_file.setToolTip(self.tr("A .gguf file"))
        open_file.clicked.connect(self._open_file)
        open_dir = QPushButton(self.tr("Open folder…"))
        open_dir.setToolTip(self.tr("A Hugging Face model folder (config.json, *.safetensors, tokenizer.json) or a Playground checkpoint"))
        open_dir.clicked.connect(self._open_folder)
        row.addWidget(open_file)
        row.addWidget(open_dir)
        row.addStretch(1)
        row.addWidget(QLabel(self.tr("Device")))
        self.device = QComboBox()
        for name in ("auto", "cpu", "cuda", "mps"):  # the value goes to the loader; "auto" is shown translated
            self.device.addItem(self.tr("auto") if name == "auto" else name, name)
        self.device.setToolTip(self.tr("Where the model runs; 'auto' takes a CUDA or Apple GPU when there is one"))
        row.addWidget(self.device)
        row.addWidget(QLabel(self.tr("Precision")))
        self.dtype = QComboBox()
        for name in ("auto", "exact", "float32", "bfloat16"):  # the value goes to the loader
            self.dtype.addItem({"auto": self.tr("auto"), "exact": self.tr("exact")}.get(name, name), name)
        self.dtype.setToolTip(self.tr(
            "auto: on a CPU, Llama-family models run on the fast path: a GGUF keeps its quantized weights, "
            "a float model (Hugging Face folder, Studio checkpoint) is quantized at load to 8-bit blocks\n"
            "exact: the weights exactly as stored (bfloat16 stays bfloat16)\n"
            "float32 / bfloat16: the reference model in that precision"))
        row.addWidget(self.dtype)
        lay.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept_selected)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.current_path = current_path
        self.found.connect(self._fill)
        threading.Thread(target=self._discover, daemon=True).start()

    def _discover(self) -> None:
        """On the discovery thread: describe what is found, then hand it to the dialog, unless
        the dialog was closed and deleted in the meantime."""
        rows = _describe_all()
        try:
            self.found.emit(rows)
        except RuntimeError:  # "Internal C++ object already deleted"
            pass

    def _fill(self, rows: list) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, info in enumerate(rows):
            params = f"{info['params'] / 1e6:.0f} M" if info.get("params") else info.get("error", "?")
            cells = [info.get("name", ""), info["source"], info.get("format", ""), info.get("quantization", "?"),
                     params, f"{info.get('size_mb', 0):.0f} MB", info["path"]]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                item.setToolTip(str(text))
                self.table.setItem(r, c, item)
            if info["path"] == self.current_path:
                self.table.selectRow(r)
        self.status.setText(self.tr('{rows} model(s) found.').format(rows=len(rows)) if rows else
                            self.tr("No models found. Open a file or folder, or fetch the default model."))
        if rows and not self.table.selectedItems():
            self.table.selectRow(0)

    def _choose(self, path: str) -> None:
        self.chosen = (path, self.device.currentData(), self.dtype.currentData())
        self.accept()

    def _accept_selected(self, *_) -> None:
        sel = self.table.selectionModel().selectedRows()
        if sel:
            self._choose(self.table.item(sel[0].row(), COLUMNS.index("Path")).text())

    def _open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Open a model file"), "", self.tr("GGUF models (*.gguf);;All files (*)"))
        if path:
            self._choose(path)

    def _open_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Open a model folder"))
        if path:
            self._choose(path)


