"""Start the real app in one language, run lessons on the bundled teaching model, and save
screenshots of them and of A/B decoding into docs/ (1280×800, light theme).

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python docs/make_lesson_screenshots.py en
    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python docs/make_lesson_screenshots.py zh_CN

Shots (LANG is en or zh_CN): lesson 1, text becomes tokens, at its first step
(docs/lesson_tokens_LANG.png); lesson 4, cross-entropy and perplexity, at its first step
(docs/lesson_loss_LANG.png); and lesson 5's A/B window, one prompt at temperature 0, 0.7 and 1.5
run side by side, with the first token where they part marked (docs/compare_LANG.png).
Chinese needs the translations built (make setup) and a CJK font (fonts-noto-cjk on Debian).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

DOCS = Path(__file__).resolve().parent


def wait_for(signal, start=None, timeout_ms: int = 300000):
    """Run `start` (if any) and wait until `signal` fires (connected first: it may fire at once)."""
    loop = QEventLoop()
    out = []
    signal.connect(lambda *a: (out.append(a), loop.quit()))
    QTimer.singleShot(timeout_ms, loop.quit)
    if start is not None:
        start()
    if not out:
        loop.exec()
    if not out:
        raise SystemExit(f"timed out waiting for {signal}")
    return out[0]


def pump(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def compiled(lang: str) -> Path | None:
    """The checkout's translation compiled now (so the shots show the .ts as it is, built or not)."""
    ts = DOCS.parent / "resources" / "i18n" / f"playground_{lang}.ts"
    if not ts.is_file():
        return None
    out = Path(tempfile.mkdtemp())
    lrelease = shutil.which("pyside6-lrelease", path=str(Path(sys.executable).parent)) or "pyside6-lrelease"
    subprocess.run([lrelease, "-silent", str(ts), "-qm", str(out / ts.with_suffix(".qm").name)], check=True)
    return out


def main(lang: str) -> int:
    os.environ.setdefault("PLAYGROUND_THEME", "light")
    os.environ.setdefault("PLAYGROUND_HOME", tempfile.mkdtemp())  # no history or progress of yours in the shots
    app = QApplication(sys.argv[:1])
    from playground.app import create_window
    from playground.ui import i18n
    from playground.ui.theme import apply_theme

    apply_theme(app)
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue(i18n.SETTING, lang)
    if not i18n.install(lang, app, folder=compiled(lang)):
        raise SystemExit(f"no translation for {lang}")
    window = create_window(settings=settings, load_default=False)
    window.resize(1280, 800)
    window.show()
    panel = window.lessons_ctl.open()
    runner = panel.runner
    saved = []

    def shot(widget, name: str) -> None:
        pump(400)
        path = DOCS / f"{name}_{lang}.png"
        widget.grab().save(str(path))
        saved.append(str(path))

    try:
        wait_for(runner.stepReady, lambda: panel.open_lesson("tokens"))
        shot(window, "lesson_tokens")
        wait_for(runner.stepReady, lambda: panel.open_lesson("loss"))
        shot(window, "lesson_loss")
        # lesson 5's first step opens the A/B window with its three sides; the student runs them
        wait_for(runner.stepReady, lambda: panel.open_lesson("sampling"))
        compare = window.compare_window
        wait_for(compare.comparisonFinished, compare.run_button.click)
        compare.resize(1280, 800)
        compare.move(0, 0)
        shot(compare, "compare")
    finally:
        window.close()
    print("saved", *saved)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "en"))
