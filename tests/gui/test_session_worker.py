"""Sessions over the engine worker (the window's backend, without the window): two sessions
sharing one worker, each stopping only its own reply — what the HTTP server will do."""

from __future__ import annotations

from playground.engine.worker import Engine
from playground.engine.worker_backend import WorkerBackend
from playground.session import ChatSession
from tests.helpers import fake_loaded_model

TEXT = "hello world, this is a tiny corpus"


def test_a_session_stops_its_own_reply_not_anothers(qtbot):
    engine = Engine()
    try:
        backend = WorkerBackend(engine)
        lm = fake_loaded_model(TEXT, gated=True)
        with qtbot.waitSignal(engine.worker.modelLoaded, timeout=5000):
            engine.worker.set_model(lm)
        a, b = ChatSession(backend), ChatSession(backend)
        done = []
        a.reply_finished.connect(done.append)
        b.reply_finished.connect(done.append)
        first = a.send("first")  # runs on the worker, waiting at its gate
        second = b.send("second")  # queued behind it
        lm.model.release(2)
        qtbot.waitUntil(lambda: len(first.record.tokens) == 2, timeout=5000)
        b.stop()  # B's reply has not started: it must end at once, and A's must go on
        lm.model.stop_all()
        qtbot.waitUntil(lambda: len(done) == 2, timeout=10000)
        assert first.record.finish == "eos" and first.text == TEXT
        assert second.record.finish == "cancelled" and second.record.tokens == []
        assert not a.generating and not b.generating
    finally:
        engine.shutdown()


def test_the_engine_runs_below_the_gui_priority_and_so_do_the_kernels_threads(qtbot):
    """Linux: the worker's thread takes nice +10 as it starts (priority.py) and the kernels' pool is
    started again from it, so its threads inherit that; the GUI thread keeps its own."""
    import os
    import sys
    import threading

    import pytest

    from playground.engine.priority import ENGINE_NICE, thread_nice
    from playground.model import native

    if not sys.platform.startswith("linux"):
        pytest.skip("a per-thread nice value is Linux's")
    gui = thread_nice(threading.get_native_id())
    engine = Engine()
    try:
        qtbot.waitUntil(lambda: engine.worker.nice is not None, timeout=5000)
        assert engine.worker.nice == min(19, gui + ENGINE_NICE) == thread_nice(engine.worker.native_id)
        assert thread_nice(threading.get_native_id()) == gui
    finally:
        engine.shutdown()
    if native.library() is None or native._pool_size < 2:
        return  # no pool to adopt
    before = set(os.listdir("/proc/self/task"))
    seen = {}

    def lowered_thread():
        from playground.engine.priority import lower_this_thread

        seen["nice"] = lower_this_thread()
        native.adopt_threads()
        seen["pool"] = set(os.listdir("/proc/self/task")) - before - {str(threading.get_native_id())}

    t = threading.Thread(target=lowered_thread)
    t.start()
    t.join()
    assert seen["pool"] and all(thread_nice(int(tid)) == seen["nice"] for tid in seen["pool"])
    native.adopt_threads()  # back to threads started from this one
    assert native._pool_maker == threading.get_native_id()
