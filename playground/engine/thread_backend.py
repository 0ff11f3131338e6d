"""The local engine as a session `Backend` for a program without Qt (`playground serve`): one
thread of its own owns the model and serves requests one at a time, first come first served.

`submit` queues the request and returns at once; the thread runs it (`run_request`, as the
window's worker does) and hands each event to `deliver` — for an asyncio program
`loop.call_soon_threadsafe` — so the sink, and the session behind it, only ever run on the loop's
thread. Stop is a `threading.Event` checked before every token; a request stopped while queued
ends at once, "cancelled", without touching the model. Several sessions share one ThreadBackend
(the server makes one per HTTP request), each stopping only its own reply.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable

from ..sampling_params import LiveParams
from ..session.backend import GenerationRequest, ReplySink
from .local_backend import run_request
from .model_info import ModelInfo, model_info, model_sha256


class ThreadBackend:
    def __init__(self, lm, deliver: Callable[..., object], live: LiveParams | None = None):
        """`lm`: a LoadedModel; `deliver(fn, *args)` runs fn(*args) on the thread that drives the
        sessions (e.g. `loop.call_soon_threadsafe`)."""
        self.lm = lm
        self.live = live or LiveParams()
        self._deliver = deliver
        self._model = model_info(lm, model_sha256(lm))
        self._ids = itertools.count(1)
        self._queue: queue.Queue[tuple[int, GenerationRequest, ReplySink] | None] = queue.Queue()
        self._stop_event = threading.Event()
        self._lock = threading.Lock()  # guards _running and _cancelled
        self._running: int | None = None
        self._cancelled: set[int] = set()
        self._thread = threading.Thread(target=self._serve, name="engine", daemon=True)
        self._thread.start()

    @property
    def model(self) -> ModelInfo:
        return self._model

    def submit(self, request: GenerationRequest, sink: ReplySink) -> int:
        handle = next(self._ids)
        self._queue.put((handle, request, sink))
        return handle

    def stop(self, handle: int | None = None) -> None:
        with self._lock:
            if handle is None or handle == self._running:
                self._stop_event.set()
            else:
                self._cancelled.add(handle)

    def close(self, timeout: float = 10.0) -> bool:
        """Stop the running request, end the thread once the queue is done, wait for it."""
        self.stop()
        self._queue.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _serve(self) -> None:
        while (item := self._queue.get()) is not None:
            handle, request, sink = item
            with self._lock:
                self._running = handle
                if handle in self._cancelled:
                    self._cancelled.discard(handle)
                    self._stop_event.set()
                else:
                    self._stop_event.clear()
            try:
                run_request(self.lm, request, self.live, self._stop_event, _Delivered(sink, self._deliver))
            finally:
                with self._lock:
                    self._running = None


class _Delivered:
    """A sink whose calls are handed to the driving thread."""

    def __init__(self, sink: ReplySink, deliver: Callable[..., object]):
        self.sink, self.deliver = sink, deliver

    def started(self, prompt_tokens: int, dropped: int) -> None:
        self.deliver(self.sink.started, prompt_tokens, dropped)

    def token(self, ev) -> None:
        self.deliver(self.sink.token, ev)

    def finished(self, fin) -> None:
        self.deliver(self.sink.finished, fin)

    def failed(self, message: str) -> None:
        self.deliver(self.sink.failed, message)
