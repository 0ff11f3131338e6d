"""The interface's language: English (the source texts) or 简体中文, through Qt's translation system.

Every text a person reads goes through `tr()` / `QCoreApplication.translate()`. The translations
are `resources/i18n/playground_<lang>.ts` (Qt Linguist's format, updated by `pyside6-lupdate`),
compiled to `.qm` by `pyside6-lrelease` when the package is built (CMakeLists.txt), and installed
beside the package as `playground/i18n/*.qm`. Qt's own texts (the buttons of standard dialogs)
come from Qt's translations, which PySide6 ships.

The language follows the system's locale unless the user chose one in Settings (`ui/language`).
Chinese text needs a font with CJK glyphs: `use_cjk_font` puts the best one this system has
behind the interface font, so Latin text keeps its look and no character shows as a box.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QSettings, QTranslator
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from .. import texts

LANGUAGES = {"en": "English", "zh_CN": "简体中文"}  # code → the language's own name
SETTING = "ui/language"  # "" or missing: follow the system
# CJK fonts by platform preference: Windows, macOS, then the Linux families (Noto/Source Han, WenQuanYi)
CJK_FAMILIES = ("Microsoft YaHei UI", "Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", "Noto Sans CJK SC",
                "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Droid Sans Fallback",
                "SimHei", "SimSun")

_installed: list[QTranslator] = []
_current = "en"


def translations_dir() -> Path | None:
    """Where the built .qm files are: playground/i18n beside the package (a wheel), or in the
    site-packages folder an editable install put them in."""
    rel = Path("playground", "i18n")
    here = Path(__file__).resolve().parents[1] / "i18n"
    for folder in [here] + [Path(p) / rel for p in sys.path if p]:
        if (folder / "playground_zh_CN.qm").is_file():
            return folder
    return None


def system_language() -> str:
    """The shipped language closest to the system's locale: any Chinese locale → 简体中文."""
    name = QLocale.system().name()  # e.g. "zh_CN", "en_GB"
    return "zh_CN" if name.lower().startswith("zh") else "en"


def chosen_language(settings: QSettings | None) -> str:
    v = settings.value(SETTING, "") if settings is not None else ""
    return v if v in LANGUAGES else system_language()


def current_language() -> str:
    """The language the interface was built in ("en" or "zh_CN")."""
    return _current


def install(lang: str, app: QCoreApplication | None = None, folder: Path | None = None) -> bool:
    """Translate the interface into `lang` from now on (widgets built later read it), and the core's
    texts with it (playground.texts). Returns False when the translation is missing (the interface
    stays in English). `folder`: where the .qm files are, when not the installed ones."""
    global _current
    app = app or QCoreApplication.instance()
    for t in _installed:
        app.removeTranslator(t)
    _installed.clear()
    _current = "en"
    texts.set_translator(None)
    if lang not in LANGUAGES or lang == "en":
        return True
    folder = folder or translations_dir()
    ours = QTranslator(app)
    if folder is None or not ours.load(f"playground_{lang}", str(folder)):
        return False
    app.installTranslator(ours)
    _installed.append(ours)
    texts.set_translator(QCoreApplication.translate)
    qt = QTranslator(app)  # Qt's own: "OK", "Cancel", the file dialogs
    if qt.load(QLocale(lang), "qtbase", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
        _installed.append(qt)
    _current = lang
    if isinstance(app, QApplication):
        use_cjk_font(app)
    return True


def cjk_family() -> str | None:
    """The first CJK-capable family installed here, in the order of CJK_FAMILIES (else any family
    the font database says writes Simplified Chinese)."""
    families = set(QFontDatabase.families())
    for name in CJK_FAMILIES:
        if name in families:
            return name
    chinese = QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese)
    return chinese[0] if chinese else None


def use_cjk_font(app: QApplication) -> str | None:
    """Put a CJK font behind the interface font, so Chinese text never falls back to boxes."""
    family = cjk_family()
    if family is None:
        return None
    font = QFont(app.font())
    families = [f for f in font.families() or [font.family()] if f != family]
    font.setFamilies(families + [family])
    app.setFont(font)
    return family


def language_name(code: str) -> str:
    return LANGUAGES.get(code, code)
