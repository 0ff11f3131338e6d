"""The engine worker as a session `Backend`: the thin Qt adapter between a `ChatSession` and the
worker's thread.

`submit` queues the request on the worker (a queued signal); the worker's events come back as
queued signals to this object, which lives on the GUI thread, and go to the request's sink there,
so the session only ever runs on the GUI thread. Stop is the worker's `threading.Event`.

Tokens come in batches: the worker puts them in a `TokenQueue` and signals only when no signal is
in flight; this side takes the queue at once on the signal (the first token shows without delay),
then every BATCH_MS while tokens keep coming, and once more before a reply's end is delivered.
At 250 tokens a second the GUI thread wakes ~40 times a second for them instead of 250
(token_queue.py says why that matters).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, QTimer

from ..sampling_params import LiveParams, SamplingParams
from ..session.backend import GenerationRequest, ReplySink
from .model_info import ModelInfo
from .token_queue import TokenQueue
from .worker import Engine

BATCH_MS = 25  # while tokens keep coming, they are taken this often (frames are 16–100 ms apart)


class WorkerBackend(QObject):
    def __init__(self, engine: Engine):
        super().__init__()
        self.engine = engine
        self._model: ModelInfo | None = None
        self._sinks: dict[int, ReplySink] = {}
        self._queues: dict[int, TokenQueue] = {}  # requests whose tokens are coming (a signal in flight)
        self._batches = QTimer(self)
        self._batches.setInterval(BATCH_MS)
        self._batches.timeout.connect(self._take_all)
        w = engine.worker
        w.modelLoaded.connect(self._on_model_loaded)
        w.generationStarted.connect(self._on_started)
        w.tokensReady.connect(self._on_tokens_ready)
        w.generationFinished.connect(self._on_finished)
        w.generationFailed.connect(self._on_failed)

    @property
    def live(self) -> LiveParams:
        return self.engine.live

    @property
    def model(self) -> ModelInfo | None:
        return self._model

    def submit(self, request: GenerationRequest, sink: ReplySink) -> int:
        rid = self.engine.generate(request.messages, list(request.prefix), request.params, request.prompt)
        self._sinks[rid] = sink
        return rid

    def submit_sides(self, request: GenerationRequest, sides: Sequence[SamplingParams],
                     sinks: Sequence[ReplySink]) -> int:
        """A/B decoding on the worker: the sides interleaved; the handle (the first side's id)
        stops them all."""
        ids = self.engine.generate_sides(request.messages, list(sides), list(request.prefix))
        for rid, sink in zip(ids, sinks):
            self._sinks[rid] = sink
        return ids[0]

    def stop(self, handle: int | None = None) -> None:
        self.engine.stop(handle)

    # -- worker → sink, on the GUI thread -------------------------------------------------------------
    def _on_model_loaded(self, info: ModelInfo) -> None:
        self._model = info

    def _on_started(self, rid: int, prompt_tokens: int, dropped: int) -> None:
        sink = self._sinks.get(rid)
        if sink is not None:
            sink.started(prompt_tokens, dropped)

    def _on_tokens_ready(self, rid: int, queue: TokenQueue) -> None:
        self._queues[rid] = queue
        self._deliver(rid, queue.take())
        if not self._batches.isActive():
            self._batches.start()

    def _take_all(self) -> None:
        """Every BATCH_MS while tokens come: deliver each request's batch; a request found caught
        up is dropped (its next token signals again), and with none left the timer stops."""
        for rid, queue in list(self._queues.items()):
            batch = queue.take()
            if batch:
                self._deliver(rid, batch)
            else:
                del self._queues[rid]
        if not self._queues:
            self._batches.stop()

    def _deliver(self, rid: int, batch: list) -> None:
        sink = self._sinks.get(rid)
        if sink is not None:
            for ev in batch:
                sink.token(ev)

    def _end(self, rid: int) -> ReplySink | None:
        """A reply ended: its tokens not yet taken go first."""
        queue = self._queues.pop(rid, None)
        if queue is not None:
            self._deliver(rid, queue.take())
        return self._sinks.pop(rid, None)

    def _on_finished(self, rid: int, fin) -> None:
        sink = self._end(rid)
        if sink is not None:
            sink.finished(fin)

    def _on_failed(self, rid: int, message: str) -> None:
        sink = self._end(rid)
        if sink is not None:
            sink.failed(message)
