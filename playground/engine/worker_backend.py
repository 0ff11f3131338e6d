"""The engine worker as a session `Backend`: the thin Qt adapter between a `ChatSession` and the
worker's thread.

`submit` queues the request on the worker (a queued signal); the worker's events come back as
queued signals to this object, which lives on the GUI thread, and go to the request's sink there,
so the session only ever runs on the GUI thread. Stop is the worker's `threading.Event`.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject

from ..sampling_params import LiveParams, SamplingParams
from ..session.backend import GenerationRequest, ReplySink
from .model_info import ModelInfo
from .worker import Engine


class WorkerBackend(QObject):
    def __init__(self, engine: Engine):
        super().__init__()
        self.engine = engine
        self._model: ModelInfo | None = None
        self._sinks: dict[int, ReplySink] = {}
        w = engine.worker
        w.modelLoaded.connect(self._on_model_loaded)
        w.generationStarted.connect(self._on_started)
        w.tokenGenerated.connect(self._on_token)
        w.generationFinished.connect(self._on_finished)
        w.generationFailed.connect(self._on_failed)

    @property
    def live(self) -> LiveParams:
        return self.engine.live

    @property
    def model(self) -> ModelInfo | None:
        return self._model

    def submit(self, request: GenerationRequest, sink: ReplySink) -> int:
        rid = self.engine.generate(request.messages, list(request.prefix), request.params)
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

    def _on_token(self, rid: int, ev) -> None:
        sink = self._sinks.get(rid)
        if sink is not None:
            sink.token(ev)

    def _on_finished(self, rid: int, fin) -> None:
        sink = self._sinks.pop(rid, None)
        if sink is not None:
            sink.finished(fin)

    def _on_failed(self, rid: int, message: str) -> None:
        sink = self._sinks.pop(rid, None)
        if sink is not None:
            sink.failed(message)
