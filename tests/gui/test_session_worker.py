"""Sessions over the engine worker (the window's backend, without the window): two sessions
sharing one worker, each stopping only its own reply — what the HTTP server will do."""

from __future__ import annotations

from playground.engine.token_queue import TokenQueue
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


def test_tokens_reach_the_session_in_batches_complete_and_in_order(qtbot, monkeypatch):
    """Over the worker's thread: every token the engine made is in the reply, in order, and
    fewer signals crossed the threads than there were tokens when they came faster than taken."""
    engine = Engine()
    try:
        backend = WorkerBackend(engine)
        lm = fake_loaded_model(TEXT * 3, gated=True)
        with qtbot.waitSignal(engine.worker.modelLoaded, timeout=5000):
            engine.worker.set_model(lm)
        session = ChatSession(backend)
        made, signals = [], []
        put = TokenQueue.put
        monkeypatch.setattr(TokenQueue, "put", lambda q, ev: signals.append(put(q, ev)) or signals[-1])
        session.token_applied.connect(lambda reply, ev: made.append(ev.index))
        reply = session.send("go")
        lm.model.release(1)
        qtbot.waitUntil(lambda: len(made) == 1, timeout=5000)  # the first token is signalled at once
        with qtbot.waitSignal(engine.worker.generationFinished, timeout=10000):
            lm.model.stop_all()  # the rest as fast as the worker makes them
        qtbot.waitUntil(lambda: reply.record.finish is not None, timeout=5000)
        assert made == list(range(len(lm.tokenizer.encode(TEXT * 3))))
        assert reply.text == TEXT * 3
        assert len(signals) == len(made) and signals[0] and sum(signals) < len(made) / 2  # most tokens rode along
    finally:
        engine.shutdown()


def test_a_reply_that_ends_mid_batch_loses_no_token(qtbot):
    """Tokens still in the queue when the reply's end arrives (a stop, say) go to the session first."""
    from playground.engine.worker import _SignalSink
    from playground.records import Finished, TokenRecord

    engine = Engine()
    try:
        backend = WorkerBackend(engine)
        with qtbot.waitSignal(engine.worker.modelLoaded, timeout=5000):
            engine.worker.set_model(fake_loaded_model(TEXT))
        session = ChatSession(backend)
        engine.generate = lambda *a, **k: 7  # the request is not run: this test plays the worker
        reply = session.send("go")
        ended = []
        session.reply_finished.connect(ended.append)
        sink, signals = _SignalSink(engine.worker, 7), []
        put = sink.tokens.put
        sink.tokens.put = lambda ev: signals.append(put(ev)) or signals[-1]
        for i, word in enumerate(["one ", "two ", "three ", "four ", "five"]):
            sink.token(TokenRecord(i, i, word, 1.0, 1.0, 0.0))  # emitted here: taken at once by the backend
        assert signals == [True, False, False, False, False]  # one signal for the five
        assert reply.text == "one "  # the first was taken when it was signalled; four wait for the timer
        sink.finished(Finished("cancelled", 3, 5, 0.01, 0.01, 0.01, 0))
        assert ended == [reply] and reply.text == "one two three four five"
        assert [t.index for t in reply.record.tokens] == [0, 1, 2, 3, 4] and reply.record.finish == "cancelled"
    finally:
        engine.shutdown()
