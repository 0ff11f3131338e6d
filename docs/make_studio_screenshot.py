"""A screenshot of the studio after a short real pretraining run on the bundled corpus.

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python docs/make_studio_screenshot.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication

DOCS = Path(__file__).resolve().parent


def main() -> int:
    import os

    os.environ.setdefault("PLAYGROUND_THEME", "light")  # the pictures do not depend on the desktop
    app = QApplication(sys.argv)
    from playground.ui.theme import apply_theme

    apply_theme(app)
    from playground.engine.training_worker import TrainingEngine
    from playground.ui.studio import StudioWindow

    engine = TrainingEngine()
    studio = StudioWindow(engine)
    studio.resize(1280, 800)
    studio.show()
    studio.steps.setValue(400)
    studio.out.setText(str(Path(tempfile.mkdtemp()) / "studio-demo"))
    loop = QEventLoop()
    studio.runFinished.connect(lambda *_: loop.quit())
    studio.start_pretraining()
    loop.exec()
    done = QEventLoop()
    engine.worker.evaluated.connect(lambda *_: done.quit())
    engine.evaluate(studio.last_checkpoint, 20)
    done.exec()
    app.processEvents()
    studio.grab().save(str(DOCS / "studio.png"))
    engine.shutdown()
    print("saved", DOCS / "studio.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
