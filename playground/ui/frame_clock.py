"""When the window shows a streaming reply: at most one repaint per frame, whatever the token rate.

A frame's period is FRAME_BUDGET times what a frame costs the GUI thread (FRAME_MS to MAX_FRAME_MS),
so showing a reply takes a small, bounded share of a core whatever the machine: on one with as many
cores as the engine has threads, every millisecond the GUI thread runs is one the engine waits
(measured: at 60 repaints a second the worker decoded 30% slower). A frame's cost is all the GUI
thread's CPU time from its start to the next tick: the refresh, then Qt's layout and paint of what
changed, and the tokens taken in between. (Timed only up to a zero timer after the refresh, it missed
the paint, which Qt may do later: bench_gui's frames were counted at ~2 ms of ~5, and the window
repainted 12 times a second instead of 10.)

The timer runs only while something changes (idle, ticking 60 times a second cost 1% of a core); a
change after a pause is shown when the period since the last frame is over, at once if it is, so a
model slower than the frame rate still gets at most one repaint per period, not one per token.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

FRAME_MS = 16  # the shortest frame
# and the longest: on 2 cores bench_gui's Markdown reply costs ~5 ms a frame (refresh, layout, paint),
# and at 100 ms (10 repaints a second) the GUI thread took 8.5% of a core and the window decoded at
# 0.87–0.89 of the engine's speed; at 150 (~7 a second) 6.0–6.8% and 0.91–0.94 (no probe, 3 sets each)
MAX_FRAME_MS = 150
# a frame's period is this many times what it costs the GUI thread (a bounded share of a core: on a
# machine with as many cores as the engine has threads, the engine waits for every millisecond of it)
FRAME_BUDGET = 40


class FrameClock(QObject):
    """Collects what changed (`mark`) and hands it to `paint` once per frame."""

    def __init__(self, parent: QObject, paint: Callable[[set[int]], None]):
        super().__init__(parent)
        self.paint = paint  # called with the ids that changed, once per frame
        self.dirty: set[int] = set()  # ids of replies whose text changed since the last frame
        self.period_ms = FRAME_MS  # the period the frames' cost allows
        self.cost_ms = 0.0  # what a frame costs the GUI thread, averaged
        self._frame_cpu: float | None = None  # the GUI thread's CPU time when the last frame began
        self._last_frame = float("-inf")  # perf_counter() when the last frame began
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.tick)

    def mark(self, reply_id: int) -> None:
        self.dirty.add(reply_id)
        if not self.timer.isActive():  # after a pause: when this period is over (at once if it is)
            since_ms = (time.perf_counter() - self._last_frame) * 1000
            self.timer.start(int(max(0.0, self.period_ms - since_ms)))

    def discard(self, reply_id: int) -> None:
        self.dirty.discard(reply_id)

    def tick(self) -> None:
        cpu = time.thread_time()
        if self._frame_cpu is not None:
            cost_ms = (cpu - self._frame_cpu) * 1000
            self.cost_ms = 0.7 * self.cost_ms + 0.3 * cost_ms  # (smooths a coarse clock too)
            self.period_ms = int(min(MAX_FRAME_MS, max(FRAME_MS, FRAME_BUDGET * self.cost_ms)))
            self._frame_cpu = None
        if self.timer.interval() != self.period_ms:  # (a restart after a pause waited less)
            self.timer.setInterval(self.period_ms)
        if not self.dirty:
            self.timer.stop()  # until the next change
            return
        self._frame_cpu = cpu
        self._last_frame = time.perf_counter()
        dirty, self.dirty = self.dirty, set()
        self.paint(dirty)
