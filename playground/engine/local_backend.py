"""The local engine as a session `Backend`, synchronously: `submit` runs the whole generation on
the calling thread and calls the sink as tokens come. The terminal chat and the tests use it; the
window uses the same `run_request` on the worker's thread (worker.py, worker_backend.py).

Ctrl+C during a reply stops it like the Stop button: the generator finishes cleanly and the
reply ends "cancelled".
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Sequence

from ..sampling_params import LiveParams, SamplingParams
from ..session.backend import GenerationRequest, ReplySink
from .model_info import ModelInfo, model_info, model_sha256


def run_request(lm, request: GenerationRequest, live: LiveParams, stop_event: threading.Event,
                sink: ReplySink) -> None:
    """Fit the conversation into the context, generate, and report every event to the sink.
    Never raises: a failure goes to `sink.failed`."""
    from .context import ContextOverflowError, fit_messages  # torch loads on this thread
    from .generate import Finished, TokenEvent, generate

    if lm is None:
        sink.failed("No model is loaded yet.")
        return
    params = live if request.params is None else request.params
    try:
        first = params.get() if isinstance(params, LiveParams) else params
        fitted = fit_messages(lm.tokenizer, request.messages, lm.config.max_seq_len, first.max_tokens)
        sink.started(len(fitted.ids), fitted.dropped)
        ids = fitted.ids + [int(t) for t in request.prefix]  # a branch continues after chosen tokens
        it = generate(lm.model, lm.tokenizer, ids, params, stop_event)
        try:
            for ev in it:
                if isinstance(ev, TokenEvent):
                    sink.token(ev)
                elif isinstance(ev, Finished):
                    sink.finished(ev)
        except KeyboardInterrupt:  # Ctrl+C in the terminal: stop, and let the generator end cleanly
            stop_event.set()
            for ev in it:
                if isinstance(ev, Finished):
                    sink.finished(ev)
    except ContextOverflowError as e:
        sink.failed(str(e))
    except Exception as e:  # any failure ends this reply, never the caller
        traceback.print_exc()
        sink.failed(f"{type(e).__name__}: {e}")


def run_sides(lm, request: GenerationRequest, sides: Sequence[SamplingParams], stop_event: threading.Event,
              sinks: Sequence[ReplySink]) -> None:
    """A/B decoding: the request's prompt answered once per set of parameters, the sides taking one
    token each in turn (engine/side_by_side.py); side i's events go to sinks[i]. Never raises."""
    from .context import ContextOverflowError, fit_messages
    from .generate import Finished, TokenEvent
    from .side_by_side import generate_sides

    if lm is None:
        for sink in sinks:
            sink.failed("No model is loaded yet.")
        return
    ended: set[int] = set()
    try:
        longest = max(p.max_tokens for p in sides)
        fitted = fit_messages(lm.tokenizer, request.messages, lm.config.max_seq_len, longest)
        for sink in sinks:
            sink.started(len(fitted.ids), fitted.dropped)
        ids = fitted.ids + [int(t) for t in request.prefix]
        for i, ev in generate_sides(lm.model, lm.tokenizer, ids, list(sides), stop_event):
            if isinstance(ev, TokenEvent):
                sinks[i].token(ev)
            elif isinstance(ev, Finished):
                ended.add(i)
                sinks[i].finished(ev)
    except ContextOverflowError as e:
        for i, sink in enumerate(sinks):
            if i not in ended:
                sink.failed(str(e))
    except Exception as e:  # any failure ends the sides still running, never the caller
        traceback.print_exc()
        for i, sink in enumerate(sinks):
            if i not in ended:
                sink.failed(f"{type(e).__name__}: {e}")


class LocalBackend:
    """A loaded model (`loading.LoadedModel`) answering on the caller's thread."""

    def __init__(self, lm, live: LiveParams | None = None):
        self.lm = lm
        self.live = live or LiveParams()
        self.stop_event = threading.Event()
        self._model: ModelInfo = model_info(lm, model_sha256(lm))
        self._next = 0

    @property
    def model(self) -> ModelInfo:
        return self._model

    def submit(self, request: GenerationRequest, sink: ReplySink) -> int:
        self._next += 1
        self.stop_event.clear()
        run_request(self.lm, request, self.live, self.stop_event, sink)
        return self._next

    def submit_sides(self, request: GenerationRequest, sides: Sequence[SamplingParams],
                     sinks: Sequence[ReplySink]) -> int:
        self._next += 1
        self.stop_event.clear()
        run_sides(self.lm, request, sides, self.stop_event, sinks)
        return self._next

    def stop(self, handle: int | None = None) -> None:
        self.stop_event.set()  # one request at a time, on the caller's thread: the running one
