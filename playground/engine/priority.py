"""The engine's threads run below the GUI's scheduling priority, so the window answers at once.

On a machine with as many cores as the kernels' pool has threads (2 here), a streaming reply keeps
every core busy: the worker's thread and the pool's workers compute, or spin at the pool's
barriers. The GUI thread, woken by a timer or a repaint, then waited in the run queue for a core:
measured on bench_gui, about half of every gap over 8 ms in its event loop was that wait (the other
half its own work; waiting for the GIL was nearly nothing). With the engine's threads at nice +10
the GUI thread gets a core as soon as it wakes (p99 gap 10 → 6 ms) and the decode speed in the
window stayed the same: the GUI does the same work, only sooner. Alone, the engine runs as fast as
before (a nice value only matters when threads compete for a core).

Linux: the nice value, which is per thread there and inherited by the threads a thread starts
(the kernels' pool is started again from the worker: `native.adopt_threads`). Elsewhere the worker's
QThread starts at QThread.LowPriority (Windows and macOS honour it; on Linux Qt cannot express it).
"""

from __future__ import annotations

import os
import sys
import threading

ENGINE_NICE = 10  # added to the app's own nice value for the engine's threads (Linux)


def lower_this_thread(step: int = ENGINE_NICE) -> int | None:
    """Raise the calling thread's nice value by `step` (Linux only; never above 19). Returns the
    nice value now in effect, or None where there is no per-thread nice value."""
    if not sys.platform.startswith("linux") or step <= 0:
        return None
    tid = threading.get_native_id()
    try:
        now = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, now + step))
        return os.getpriority(os.PRIO_PROCESS, tid)
    except OSError:  # a sandbox that forbids it: run at the priority given
        return None


def thread_nice(native_id: int) -> int | None:
    """A thread's nice value (Linux), e.g. to check the engine's; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return os.getpriority(os.PRIO_PROCESS, native_id)
    except OSError:
        return None
