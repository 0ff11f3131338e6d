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
