"""Settings: the interface's language (the system's, English or 简体中文).

Choosing another language saves it and asks the app to start again in that language (app.restart:
the conversations are saved as they go and the model used last loads again); where the window was
built without an app around it (tests, embedding), the choice applies at the next start.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout

from . import i18n


class SettingsDialog(QDialog):
    languageChosen = Signal(str)  # the language code now saved ("" = follow the system)

    def __init__(self, settings: QSettings, parent=None):
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.settings = settings
        self.setWindowTitle(self.tr("Settings"))
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.language = QComboBox()
        self.language.setObjectName("settingsLanguage")
        system = i18n.language_name(i18n.system_language())
        self.language.addItem(self.tr("As the system (%1)").replace("%1", system), "")
        for code, name in i18n.LANGUAGES.items():
            self.language.addItem(name, code)
        saved = settings.value(i18n.SETTING, "")
        self.language.setCurrentIndex(max(0, self.language.findData(saved if saved in i18n.LANGUAGES else "")))
        form.addRow(self.tr("Language"), self.language)
        lay.addLayout(form)
        note = QLabel(self.tr("Playground starts again in the new language; your conversations are kept and the model "
                             "loads again."))
        note.setWordWrap(True)
        note.setStyleSheet("color: gray;")
        lay.addWidget(note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

    def accept(self) -> None:
        code = self.language.currentData() or ""
        before = self.settings.value(i18n.SETTING, "")
        self.settings.setValue(i18n.SETTING, code)
        self.settings.sync()
        super().accept()
        if i18n.chosen_language(self.settings) != i18n.current_language() or code != before:
            self.languageChosen.emit(code)
