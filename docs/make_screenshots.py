"""Start the real app, ask the default model a question, and save screenshots into docs/.

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python docs/make_screenshots.py

Shots: the chat with a streamed answer (docs/chat.png), the sampling panel (docs/sampling.png),
the model picker (docs/model_picker.png), and the "Inside the model" workspace beside the chat:
the token inspector's funnel over a reply shown token by token (docs/token_inspector.png), the
attention viewer on one head and on all heads (docs/attention_head.png, docs/attention_grid.png).
The light theme is forced (PLAYGROUND_THEME=light), so the pictures do not depend on the desktop.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

DOCS = Path(__file__).resolve().parent


def wait_for(signal, timeout_ms: int = 120000):
    loop = QEventLoop()
    out = []
    signal.connect(lambda *a: (out.append(a), loop.quit()))
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    if not out:
        raise SystemExit(f"timed out waiting for {signal}")
    return out[0]


def pump(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main() -> int:
    import os

    os.environ.setdefault("PLAYGROUND_THEME", "light")
    app = QApplication(sys.argv)
    from playground.ui.theme import apply_theme

    apply_theme(app)
    from playground.app import create_window
    from playground.loading.discovery import default_model
    from playground.ui.model_picker import ModelPicker

    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    window = create_window(settings=settings, load_default=False)
    window.resize(1280, 800)
    window.show()
    window.load_model(str(default_model()))
    wait_for(window.modelReady)
    window.sampling.set_value("temperature", 0.3)
    window.sampling.set_value("repeat_penalty", 1.15)
    window.sampling.set_value("max_tokens", 200)
    window.sampling.seed_fixed.setChecked(True)
    window.sampling.seed.setValue(42)
    for question in ["What is the capital of France?", "Write a Python function that reverses a string."]:
        window.input.setPlainText(question)
        window.send()
        wait_for(window.replyFinished)
    pump(300)
    window.grab().save(str(DOCS / "chat.png"))
    window.sampling_dock.grab().save(str(DOCS / "sampling.png"))
    picker = ModelPicker(window, window.model.path)
    picker.show()
    for _ in range(300):  # discovery runs on a thread; wait until the table is filled
        if not picker.status.text().startswith("Looking"):
            break
        pump(100)
    pump(200)
    picker.grab().save(str(DOCS / "model_picker.png"))
    picker.close()
    # inside the model: the first reply token by token, one token inspected, its 50 alternatives
    first_reply = window.conv.path()[1]
    widget = window.chat.widgets[first_reply.id]
    widget.tokens.click()
    window.inspect_ctl.inspect_token(first_reply, 5)  # as a click on its sixth token does
    token = window.inside.token
    token.more.click()
    for _ in range(300):
        if token.funnel is not None:
            break
        pump(100)
    window.chat.verticalScrollBar().setValue(0)
    pump(300)
    window.grab().save(str(DOCS / "token_inspector.png"))
    widget.tokens.click()
    window.inside.show_view("attention")  # opening the tab computes the conversation's attention
    wait_for(window.attentionShown)
    view = window.inside.attention
    view.layer.setValue(3)
    view.head.setValue(1)
    view.show_row(view.current.shape[0] - 1)
    pump(300)
    window.grab().save(str(DOCS / "attention_head.png"))
    view.grid.setChecked(True)
    pump(300)
    window.grab().save(str(DOCS / "attention_grid.png"))
    window.close()
    print("saved", *(str(DOCS / n) for n in ("chat.png", "sampling.png", "model_picker.png", "token_inspector.png",
                                              "attention_head.png", "attention_grid.png")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
