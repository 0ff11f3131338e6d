"""Finds user-visible strings in the interface's source that do not go through Qt's translation
system: a literal (or f-string) handed to a Qt call that shows text (setText, setToolTip, QLabel(…),
QAction(…), addTab(…, "…"), showMessage, message boxes…) without tr()/translate() around it.

Used by tests/gui/test_i18n.py. A literal that must stay as it is (a proper name, a unit, a
format like "%.2f") is either free of words (no run of two letters), listed in KEEP, or marked on
its line with `# i18n: keep` and the reason.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

# Qt methods whose string arguments a person reads
SINK_METHODS = {
    "setText", "setToolTip", "setPlaceholderText", "setWindowTitle", "setTitle", "addItem", "addItems", "insertItem",
    "setItemText", "setHorizontalHeaderLabels", "setVerticalHeaderLabels", "setHeaderLabels", "showMessage",
    "setStatusTip", "setWhatsThis", "addTab", "insertTab", "setTabText", "setTabToolTip", "setLabelText",
    "setSpecialValueText", "setSuffix", "setPrefix", "information", "warning", "critical", "question", "about",
    "getText", "getMultiLineText", "getItem", "getInt", "getDouble", "getOpenFileName", "getOpenFileNames",
    "getSaveFileName", "getExistingDirectory", "setInformativeText", "setDetailedText", "setButtonText",
    "addAction", "addMenu", "setAccessibleName",
    # the app's own: a view's hint or busy text, a reply's tool buttons
    "addRow", "clear", "set_busy", "funnel_failed", "_button",
}
# Qt classes whose constructor's string arguments a person reads
SINK_CLASSES = {
    "QLabel", "QPushButton", "QToolButton", "QCheckBox", "QRadioButton", "QGroupBox", "QAction", "QDockWidget",
    "QMenu", "QToolBar", "QMessageBox", "QListWidgetItem", "QTreeWidgetItem",
}
TRANSLATORS = {"tr", "translate", "QT_TRANSLATE_NOOP", "QT_TR_NOOP"}
# helpers that translate a variable: lupdate cannot see a literal handed to them
HIDDEN_TRANSLATORS = {"_t", "_tr"}
# words that are the same in every language here: names of things and units
KEEP = {
    "Playground", "BLEU", "ROUGE", "ROUGE-1", "ROUGE-2", "ROUGE-L", "GGUF", "llama", "gpt2", "bpe", "char", "PNG",
    "CSV", "NPY", "JSON", "JSONL", "Markdown", "SmolLM2", "tok/s", "ms", "MB", "GB", "nats", "OK", "Llama", "GPT",
    "id",
}
WORD = re.compile(r"[A-Za-z]{2,}")


@dataclass
class Finding:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        if "lupdate cannot" in self.text:
            return f"{self.path}:{self.line}: {self.text}"
        return f"{self.path}:{self.line}: {self.text!r} is shown without tr()"


def _is_translated(node: ast.AST) -> bool:
    if isinstance(node, ast.Call):
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if name in TRANSLATORS:
            return True
        # "…".replace / .format / .arg on a translated string
        if isinstance(f, ast.Attribute) and f.attr in ("replace", "format", "arg", "strip") and _is_translated(f.value):
            return True
    return False


def _literals(node: ast.AST):
    """String literals (and f-strings) in an argument, not inside a translation call."""
    if _is_translated(node):
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node, node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        yield node, text
    elif isinstance(node, ast.BinOp):  # "a" + "b", "x" % y
        yield from _literals(node.left)
        yield from _literals(node.right)
    elif isinstance(node, (ast.List, ast.Tuple)):
        for e in node.elts:
            yield from _literals(e)
    elif isinstance(node, ast.IfExp):
        yield from _literals(node.body)
        yield from _literals(node.orelse)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("join", "format"):
        yield from _literals(node.func.value)
        for a in node.args:
            yield from _literals(a)


def _wordy(text: str) -> bool:
    words = WORD.findall(re.sub(r"<[^>]*>|&\w+;|\{[^}]*\}|%\d|%[-+0-9.]*[sdfg]", " ", text))
    return any(w not in KEEP for w in words)


def scan_file(path: Path, root: Path) -> list[Finding]:
    src = path.read_text(encoding="utf-8")
    lines = src.splitlines()
    tree = ast.parse(src)
    out: list[Finding] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if name in HIDDEN_TRANSLATORS and node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr)):
            out.append(Finding(str(path.relative_to(root)), node.lineno,
                               f"{name}({ast.unparse(node.args[0])}): lupdate cannot extract it; use "
                               "QCoreApplication.translate(context, …)"))
            continue
        if name not in SINK_METHODS and name not in SINK_CLASSES:
            continue
        args = list(node.args) + [k.value for k in node.keywords if k.arg in ("text", "title", "toolTip")]
        if name == "addItem" and len(node.args) >= 2:  # addItem(text, userData): the data is not shown
            args = [node.args[0]]
        if name in ("addAction", "addMenu") and node.args and not isinstance(node.args[0], (ast.Constant, ast.JoinedStr)):
            continue
        for arg in args:
            for lit, text in _literals(arg):
                line = lines[lit.lineno - 1] if lit.lineno - 1 < len(lines) else ""
                if "i18n: keep" in line or not _wordy(text):
                    continue
                out.append(Finding(str(path.relative_to(root)), lit.lineno, text))
    return out


def scan(folders: list[Path], root: Path) -> list[Finding]:
    found: list[Finding] = []
    for folder in folders:
        files = [folder] if folder.is_file() else sorted(folder.rglob("*.py"))
        for p in files:
            found += scan_file(p, root)
    return found
