"""Our server, started and stopped by a test: its own asyncio loop on a thread, the model on the
engine's thread (`ThreadBackend`, as `playground serve` runs it), listening on 127.0.0.1 at a free
port. Tests drive it with real clients (the official `openai` package, httpx) from the test thread.
"""

from __future__ import annotations

import asyncio
import threading
import time

from playground.engine.thread_backend import ThreadBackend
from playground.server import ApiServer, ModelService


class ServerThread:
    def __init__(self, lm, max_queue: int = 16, store=None, **server_kw):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-server-loop", daemon=True)
        self.thread.start()
        self.backend = ThreadBackend(lm, deliver=self._deliver)
        self.service = ModelService(self.backend, store, max_queue=max_queue)
        self.finished: list = []  # (reply, request id), in the order replies ended
        self.ended = threading.Condition()
        self.service.reply_finished.connect(self._on_finished)
        self.server = ApiServer(self.service, "127.0.0.1", 0, **server_kw)
        self.call(self.server.start())
        self.url = self.server.url
        self.model = self.service.models()[0]

    def _deliver(self, fn, *args) -> None:
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop has closed
            pass

    def _on_finished(self, reply, rid) -> None:
        with self.ended:
            self.finished.append((reply, rid))
            self.ended.notify_all()

    def call(self, coro, timeout: float = 20.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def on_loop(self, fn, timeout: float = 10.0):
        """fn() run on the server's loop thread (where the sessions live); its result."""
        async def run():
            return fn()
        return self.call(run(), timeout)

    def wait_finished(self, count: int, timeout: float = 20.0) -> list:
        with self.ended:
            assert self.ended.wait_for(lambda: len(self.finished) >= count, timeout), \
                f"{len(self.finished)} replies ended, waited for {count}"
            return list(self.finished)

    def wait_until(self, cond, timeout: float = 10.0) -> None:
        """Poll a condition on the server's loop thread until it holds (a deadline, not a sleep)."""
        deadline = time.monotonic() + timeout
        while not self.on_loop(cond):
            assert time.monotonic() < deadline, "condition not reached in time"
            time.sleep(0.005)

    def close(self) -> None:
        try:
            self.call(self.server.stop())
        finally:
            self.backend.close()
            self.service.close()
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
