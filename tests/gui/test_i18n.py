"""The Chinese interface: every text a person reads goes through Qt's translation system, the
zh_CN translation covers all of them, and the window, its dialogs and its tabs built under zh_CN
show no English except names and units (and, here, no model output: no model is loaded)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QDockWidget,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableWidget,
    QTabWidget,
    QTextEdit,
    QWidget,
)

from playground import texts
from playground.app import build_window
from playground.engine.training_worker import TrainingEngine
from playground.engine.worker import Engine
from playground.ui import i18n
from tests.unit.i18n_scan import KEEP, scan

ROOT = Path(__file__).resolve().parents[2]
TS = ROOT / "resources" / "i18n" / "playground_zh_CN.ts"
# besides KEEP: the names of things (keys, libraries, file formats, layers) and units a Chinese
# teacher reads as they are
NAMES = KEEP | {
    "Ctrl", "Esc", "Enter", "Shift", "Top", "Min", "softmax", "logits", "Logit", "log", "MLP", "RoPE", "RMSNorm",
    "SwiGLU", "LayerNorm", "GELU", "BPE", "nn", "TransformerEncoder", "Linear", "LanguageModel", "CUDA", "Apple",
    "GPU", "Hugging", "Face", "NPY", "bfloat16", "float32", "cpu", "cuda", "mps", "auto", "lr", "ROUGE-L", "Mean",
    "QA", "JSONL", "Shakespeare", "English", "Transformer", "top-k", "Ollama", "GPT4All", "llama.cpp", "cpp", "PyTorch",
    "Top-k", "Top-p", "Min-p", "Typical-p", "min-p", "logit", "Dropout",
}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]|[A-Za-z]")
# file names and extensions, fields, quoted keys ("question"), names with digits (SmolLM2-135M, h_i)
FILENAME = re.compile(r"[\w*.-]*\.(json|jsonl|gguf|safetensors|txt|md|png|csv|npy|cpp)\b|%\d|\{\w+\}|\"\w+\"|"
                      r"\w*\d\w*(-\w+)*|\w+_\w+")


def _lrelease() -> str:
    exe = shutil.which("pyside6-lrelease", path=str(Path(sys.executable).parent)) or shutil.which("pyside6-lrelease")
    if exe is None:
        pytest.fail("pyside6-lrelease (part of PySide6) is not installed")
    return exe


def _lupdate() -> str:
    exe = shutil.which("pyside6-lupdate", path=str(Path(sys.executable).parent)) or shutil.which("pyside6-lupdate")
    if exe is None:
        pytest.fail("pyside6-lupdate (part of PySide6) is not installed")
    return exe


@pytest.fixture(scope="module")
def qm_dir(tmp_path_factory) -> Path:
    """The zh_CN translation compiled from the source in the tree (not a stale installed one)."""
    out = tmp_path_factory.mktemp("i18n")
    subprocess.run([_lrelease(), "-silent", str(TS), "-qm", str(out / "playground_zh_CN.qm")], check=True)
    return out


@pytest.fixture
def zh(qapp, qm_dir):
    assert i18n.install("zh_CN", qapp, folder=qm_dir)
    yield
    i18n.install("en", qapp)


def english_words(text: str) -> list[str]:
    """The English words left in a shown text (HTML, file names, fields, names and units aside)."""
    text = re.sub(r"<[^>]*>|&\w+;", " ", text)
    text = FILENAME.sub(" ", text)
    return [w for w in WORD.findall(text) if w not in NAMES and len(w) > 1 and not w.isupper()]


def shown_texts(root: QWidget) -> list[tuple[str, str]]:
    """(where, text) for every text a widget under `root` shows or tells on hover."""
    out: list[tuple[str, str]] = []

    def add(w, kind, text):
        if text:
            out.append((f"{type(w).__name__}#{w.objectName() or '?'}.{kind}", text))

    widgets = [w for w in (root, *root.findChildren(QWidget)) if not w.property("pgModelOutput")]
    for w in widgets:
        if w.isWindow() or isinstance(w, QDockWidget):
            add(w, "windowTitle", w.windowTitle())
        add(w, "toolTip", w.toolTip())
        if isinstance(w, QLabel):
            add(w, "text", w.text())
        elif isinstance(w, QAbstractButton):
            add(w, "text", w.text())
        elif isinstance(w, QLineEdit):
            add(w, "placeholder", w.placeholderText())
        elif isinstance(w, (QPlainTextEdit, QTextEdit)):
            add(w, "placeholder", w.placeholderText())
            if w.isReadOnly() and isinstance(w, QTextEdit):
                add(w, "text", w.toPlainText())
        elif isinstance(w, QGroupBox):
            add(w, "title", w.title())
        elif isinstance(w, QComboBox):
            for i in range(w.count()):
                add(w, f"item{i}", w.itemText(i))
        if isinstance(w, QTabWidget):
            for i in range(w.count()):
                add(w, f"tab{i}", w.tabText(i))
                add(w, f"tabToolTip{i}", w.tabToolTip(i))
        if isinstance(w, QTableWidget):
            for i in range(w.columnCount()):
                item = w.horizontalHeaderItem(i)
                add(w, f"header{i}", item.text() if item else "")
        if isinstance(w, pg.PlotWidget):  # a chart's title and axis labels
            item = w.getPlotItem()
            add(w, "chartTitle", item.titleLabel.text)
            for side in ("left", "bottom"):
                add(w, f"axis.{side}", item.getAxis(side).labelText)
        for a in w.actions():
            add(w, f"action[{a.objectName()}]", a.text())
            add(w, f"action[{a.objectName()}].toolTip", a.toolTip())
            if a.menu() is not None:
                for b in a.menu().actions():
                    add(w, "menu", b.text())
    for a in root.findChildren(QAction):
        if type(a.parent()).__module__.startswith("pyqtgraph"):  # pyqtgraph's own right-click menus
            continue
        add(root, f"action[{a.objectName()}]", a.text())
        add(root, f"action[{a.objectName()}].toolTip", a.toolTip())
    return out


def untranslated(root: QWidget) -> list[str]:
    return [f"{where}: {text!r} ({', '.join(words)})" for where, text in shown_texts(root)
            if (words := english_words(text))]


@pytest.fixture
def window(qtbot, tmp_path):
    engine, studio = Engine(), TrainingEngine()
    w = build_window(engine, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), studio_engine=studio)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    yield w
    for other in (w.studio, w.compare_window):
        if other is not None:
            other.close()
    engine.shutdown()
    studio.shutdown()


def test_every_shown_literal_in_the_interface_goes_through_tr():
    found = scan([ROOT / "playground" / "ui", ROOT / "playground" / "app.py"], ROOT)
    assert not found, "texts shown without tr():\n" + "\n".join(map(str, found))


def test_lupdate_finds_nothing_new_and_zh_CN_has_every_text_translated(tmp_path):
    """pyside6-lupdate over the sources (into a copy of the .ts) adds no text the committed file
    lacks, and every entry of zh_CN is finished."""
    copy = tmp_path / TS.name
    shutil.copy(TS, copy)
    subprocess.run([_lupdate(), "-silent", "-extensions", "py", "-locations", "none", "-no-obsolete",
                    str(ROOT / "playground"), "-ts", str(copy)], check=True, cwd=ROOT)

    def sources(path):
        return {(c.findtext("name"), m.findtext("source")) for c in ET.parse(path).getroot().iter("context")
                for m in c.iter("message")}

    new = sources(copy) - sources(TS)
    assert not new, f"texts the committed {TS.name} lacks (run pyside6-lupdate, then translate): {sorted(new)[:10]}"
    unfinished = [m.findtext("source") for m in ET.parse(copy).getroot().iter("message")
                  if m.find("translation").get("type") in ("unfinished", "vanished", "obsolete")
                  or not (m.findtext("translation") or "").strip()]
    assert not unfinished, f"untranslated in zh_CN: {unfinished[:10]}"
    fields = re.compile(r"\{[^{}]*\}|%\d")  # what .format() / .replace("%1", …) fill in: all kept
    broken = [m.findtext("source") for m in ET.parse(copy).getroot().iter("message")
              if sorted(fields.findall(m.findtext("source"))) != sorted(fields.findall(m.findtext("translation")))]
    assert not broken, f"translations that lose or add a field: {broken[:10]}"


def test_the_window_its_tabs_docks_and_dialogs_show_no_english_under_zh_CN(zh, window, qtbot):
    from playground.ui.model_picker import ModelPicker
    from playground.ui.settings_dialog import SettingsDialog

    w = window
    assert w.findChild(QAction, "lessonsAction").text() == "课程"
    w.show_inside(True)
    for name in ("token", "attention", "lens", "prompt", "architecture"):
        w.inside.view(name)  # every tab's view built, not only its placeholder
    w.lessons_ctl.open()
    problems = untranslated(w)
    for other in (w.open_studio(), w.open_compare(), SettingsDialog(w.settings, w), ModelPicker(w)):
        qtbot.addWidget(other) if other.parent() is None else None
        problems += untranslated(other)
        other.close()
    assert not problems, "English under zh_CN:\n" + "\n".join(problems)


def test_the_core_speaks_the_interfaces_language(zh):
    from playground.records import ReplyRecord, stats_line

    line = stats_line(ReplyRecord(finish="length", generated_tokens=12, ttft_s=0.25))
    assert line.startswith("12 个词元") and "达到词元上限" in line, line
    i18n.install("en")
    assert texts.translate("Records", "hit the token limit") == "hit the token limit"


def test_a_cjk_font_draws_chinese_with_real_glyphs(qapp):
    """Under offscreen Qt (and Xvfb) the interface font falls back to a system CJK font: every
    character of a Chinese label has a glyph in it, so nothing shows as a box."""
    before = QApplication.font()
    family = i18n.use_cjk_font(qapp)
    if family is None:
        uninstallable = os.environ.get("PLAYGROUND_CI_UNINSTALLABLE", "").split()
        if os.environ.get("CI") and "fonts-noto-cjk" not in uninstallable:
            pytest.fail("no font with Chinese glyphs: .ci/run must install fonts-noto-cjk")
        pytest.skip("no font with Chinese glyphs on this system (apt-get install fonts-noto-cjk)")
    try:
        assert family in QApplication.font().families()  # behind the interface font, for what it lacks
        metrics = QFontMetrics(QFont(family))
        assert all(metrics.inFontUcs4(ord(c)) for c in "自注意力预训练微调推理交叉熵困惑度词元")
        assert not metrics.inFontUcs4(0xE0001)  # (the check can say no)
    finally:
        QApplication.setFont(before)


def test_language_follows_the_setting_then_the_system(tmp_path, monkeypatch):
    s = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    monkeypatch.setattr(i18n, "system_language", lambda: "zh_CN")
    assert i18n.chosen_language(s) == "zh_CN"
    s.setValue(i18n.SETTING, "en")
    assert i18n.chosen_language(s) == "en"
    monkeypatch.setattr(i18n, "system_language", lambda: "en")
    s.setValue(i18n.SETTING, "")
    assert i18n.chosen_language(s) == "en"
    s.setValue(i18n.SETTING, "zh_CN")
    assert i18n.chosen_language(s) == "zh_CN"


def test_settings_dialog_saves_the_language_and_asks_for_it(qtbot, tmp_path):
    from playground.ui.settings_dialog import SettingsDialog

    s = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    dlg = SettingsDialog(s)
    qtbot.addWidget(dlg)
    dlg.language.setCurrentIndex(dlg.language.findData("zh_CN"))
    with qtbot.waitSignal(dlg.languageChosen) as sig:
        qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert sig.args == ["zh_CN"] and s.value(i18n.SETTING) == "zh_CN"
