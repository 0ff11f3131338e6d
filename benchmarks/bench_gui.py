"""GUI responsiveness while SmolLM2 streams at full speed, and time to a visible window.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py          # or under xvfb-run

Prints: time from process start to the window shown (cold, the model still loading), and for
several replies the gaps between ticks of a 1 ms timer probe on the GUI thread (p50, p99, max),
with the decode speed seen in the window next to the engine's own speed without a GUI.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time

T0 = time.perf_counter()

from pathlib import Path  # noqa: E402

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

QUESTION = "Write a long story about a dragon who learns to paint."


def main() -> int:
    app = QApplication(sys.argv)
    from playground.app import create_window

    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    window = create_window(settings=settings)  # loads the default model in the background
    window.show()
    app.processEvents()
    visible_s = time.perf_counter() - T0
    loop = QEventLoop()
    window.modelReady.connect(lambda *_: loop.quit())
    loop.exec()
    window.sampling.set_value("max_tokens", 200)
    window.sampling.set_value("temperature", 0.7)
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        last[0] = now

    probe = QTimer()
    probe.setInterval(1)
    probe.timeout.connect(tick)
    speeds = []
    for _ in range(3):
        window.input.setPlainText(QUESTION)
        done = QEventLoop()
        window.replyFinished.connect(done.quit)
        last[0] = time.perf_counter()
        probe.start()
        window.send()
        done.exec()
        probe.stop()
        window.replyFinished.disconnect(done.quit)
        speeds.append(window.conv.last().meta.get("tok_s", 0.0))
        window.new_chat()
    gaps.sort()
    p = lambda q: gaps[min(len(gaps) - 1, int(q * len(gaps)))]  # noqa: E731
    print(f"window visible after launch: {visible_s * 1000:.0f} ms (target < 2000 ms)")
    print(f"GUI timer gaps while streaming: p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {gaps[-1]:.1f} ms "
          f"(targets: p99 < 16 ms, max < 50 ms), {len(gaps)} ticks")
    print(f"decode speed in the window: median {statistics.median(speeds):.1f} tok/s over {len(speeds)} replies")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
