"""The engine worker: one QObject on its own QThread that owns the model, tokenizer and cache,
and serves requests one at a time.

The GUI talks to it only through queued signals (`EngineClient`'s *Requested signals) and two
thread-safe objects: `LiveParams` (the sampling parameters, read before every token) and the
stop `threading.Event` (checked before every token). Events come back as queued signals
carrying plain dataclasses; torch never runs on the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..model.native import adopt_threads
from ..sampling_params import LiveParams
from ..session.backend import GenerationRequest
from .model_info import ModelInfo, model_info, model_sha256
from .priority import lower_this_thread
from .token_queue import TokenQueue

__all__ = ["Engine", "EngineClient", "EngineWorker", "ModelInfo"]


class EngineWorker(QObject):
    # worker → UI
    modelLoading = Signal(str)  # a load started (path)
    modelLoadProgress = Signal(int)  # percent of the weights converted so far
    modelLoaded = Signal(object)  # ModelInfo of the model now in use
    modelLoadFailed = Signal(str, str)  # path, message; the previous model stays loaded
    generationStarted = Signal(int, int, int)  # request id, prompt tokens, messages dropped to fit
    tokensReady = Signal(int, object)  # request id, its TokenQueue: tokens to take (one signal in flight)
    generationFinished = Signal(int, object)  # request id, Finished
    generationFailed = Signal(int, str)  # request id, message
    attentionReady = Signal(int, object)  # request id, AttentionMap
    lensReady = Signal(int, object)  # request id, [(layer, [(token label, prob)…])…]
    funnelReady = Signal(int, object)  # request id, Funnel (one token's 50 alternatives and stage counts)
    inspectFailed = Signal(int, str)  # request id, message
    scoreReady = Signal(int, object)  # request id, TextScore (a text's per-token surprisal)

    def __init__(self, loader: Callable[..., Any] | None = None):
        super().__init__()
        self.live = LiveParams()
        self.stop_event = threading.Event()
        self._stop_lock = threading.Lock()
        self._running: set[int] = set()  # the request(s) being generated now (an A/B run has one per side)
        self._cancelled: set[int] = set()  # requests stopped before they started
        self._loader = loader
        self.lm = None
        self.native_id: int | None = None  # the worker thread's id (once it runs)
        self.nice: int | None = None  # its nice value (Linux), lowered below the GUI's

    @Slot()
    def _on_thread_started(self) -> None:
        """On the worker's thread as it starts: run below the GUI's priority (priority.py)."""
        self.native_id = threading.get_native_id()
        self.nice = lower_this_thread()

    # -- called from any thread ---------------------------------------------------------
    def stop(self, request_id: int | None = None) -> None:
        """Stop the running generation before its next token; with a request id, only that request
        (running now, or still queued: it will end at once, "cancelled")."""
        with self._stop_lock:
            if request_id is None or request_id in self._running:
                self.stop_event.set()
            else:
                self._cancelled.add(request_id)

    # -- slots (run on the worker thread) -------------------------------------------------
    @Slot(str, str, str)
    def load(self, path: str, device: str = "auto", dtype: str = "auto") -> None:
        self.modelLoading.emit(path)
        try:
            if self._loader is None:
                from ..loading import load_model

                lm = load_model(path, device=device, dtype=dtype, progress=lambda f: self.modelLoadProgress.emit(int(100 * f)))
            else:
                lm = self._loader(path, device=device, dtype=dtype)
        except Exception as e:  # any failure: report it, keep the previous model
            self.modelLoadFailed.emit(path, f"{type(e).__name__}: {e}" if not str(e) else str(e))
            return
        self.set_model(lm)

    def set_model(self, lm) -> None:
        sha = model_sha256(lm)  # read once per file version, then cached by path, size and mtime
        self.lm = lm
        self.model_sha256 = sha
        self.modelLoaded.emit(model_info(lm, sha))

    @Slot(int, list)
    def attention(self, request_id: int, ids: list) -> None:
        from .inspect import attention_maps

        try:
            self.attentionReady.emit(request_id, attention_maps(self.lm, ids))
        except Exception as e:
            self.inspectFailed.emit(request_id, _failure(e))

    @Slot(int, list, int)
    def lens(self, request_id: int, ids: list, position: int) -> None:
        from .inspect import logit_lens, token_label

        try:
            rows = logit_lens(self.lm, ids, position, k=8)
            named = [[(token_label(self.lm.tokenizer, t), p) for t, p in row] for row in rows]
            self.lensReady.emit(request_id, named)
        except Exception as e:
            self.inspectFailed.emit(request_id, _failure(e))

    @Slot(int, str)
    def score(self, request_id: int, text: str) -> None:
        from .score import score_text

        try:
            self.scoreReady.emit(request_id, score_text(self.lm, text))
        except Exception as e:
            self.inspectFailed.emit(request_id, _failure(e))

    @Slot(int, list, object, int)
    def funnel(self, request_id: int, ids: list, params, chosen: int) -> None:
        from .funnel import token_funnel

        try:
            self.funnelReady.emit(request_id, token_funnel(self.lm.model, ids, params, chosen))
        except Exception as e:
            self.inspectFailed.emit(request_id, _failure(e))

    @Slot(int, object)
    def generate(self, request_id: int, request: GenerationRequest) -> None:
        """One reply: `request.params` None reads LiveParams before every token; a SamplingParams
        or a replay's ParamsTimeline fixes them for this request."""
        from .local_backend import run_request

        adopt_threads()  # the kernels' workers share this thread's priority
        self._begin([request_id])
        try:
            run_request(self.lm, request, self.live, self.stop_event, _SignalSink(self, request_id))
        finally:
            self._end()

    @Slot(int, list, list, list)
    def generate_sides(self, first_id: int, messages: list, prefix: list, sides: list) -> None:
        """A/B decoding: one reply per SamplingParams in `sides`, interleaved token by token on this
        model; side i's events carry request id first_id + i. Stopping any of them stops all."""
        from .local_backend import run_sides

        ids = [first_id + i for i in range(len(sides))]
        adopt_threads()
        self._begin(ids)
        try:
            run_sides(self.lm, GenerationRequest(messages, tuple(prefix or ())), sides, self.stop_event,
                      [_SignalSink(self, rid) for rid in ids])
        finally:
            self._end()

    def _begin(self, ids: list[int]) -> None:
        """Mark requests as running; one stopped while it was queued starts stopped."""
        with self._stop_lock:
            self._running = set(ids)
            if self._cancelled & self._running:
                self._cancelled -= self._running
                self.stop_event.set()
            else:
                self.stop_event.clear()

    def _end(self) -> None:
        with self._stop_lock:
            self._running = set()


class _SignalSink:
    """A ReplySink that turns one request's events into the worker's queued signals. Tokens go to
    a TokenQueue, signalled only when no signal is in flight (token_queue.py says why); `finished`
    and `failed` follow every token put before them (the reader takes the queue first)."""

    def __init__(self, worker: EngineWorker, request_id: int):
        self.w, self.rid = worker, request_id
        self.tokens: TokenQueue = TokenQueue()

    def started(self, prompt_tokens: int, dropped: int) -> None:
        self.w.generationStarted.emit(self.rid, prompt_tokens, dropped)

    def token(self, ev) -> None:
        if self.tokens.put(ev):
            self.w.tokensReady.emit(self.rid, self.tokens)

    def finished(self, fin) -> None:
        self.w.generationFinished.emit(self.rid, fin)

    def failed(self, message: str) -> None:
        self.w.generationFailed.emit(self.rid, message)


class EngineClient(QObject):
    """The GUI side: signals that queue requests on the worker's thread."""

    loadRequested = Signal(str, str, str)  # path, device, dtype
    generateRequested = Signal(int, object)  # request id, GenerationRequest
    sidesRequested = Signal(int, list, list, list)  # first request id, chat messages, forced first tokens, params per side
    attentionRequested = Signal(int, list)  # request id, token ids
    lensRequested = Signal(int, list, int)  # request id, token ids, position
    scoreRequested = Signal(int, str)  # request id, text
    funnelRequested = Signal(int, list, object, int)  # request id, token ids before it, SamplingParams, its id


class Engine:
    """The worker on its thread, wired to a client. One place knows every connection."""

    def __init__(self, loader: Callable[..., Any] | None = None):
        self.thread = QThread()
        self.thread.setObjectName("engine")
        self.worker = EngineWorker(loader)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker._on_thread_started)  # runs on the new thread
        self.client = EngineClient()
        self.client.loadRequested.connect(self.worker.load)
        self.client.generateRequested.connect(self.worker.generate)
        self.client.sidesRequested.connect(self.worker.generate_sides)
        self.client.attentionRequested.connect(self.worker.attention)
        self.client.lensRequested.connect(self.worker.lens)
        self.client.scoreRequested.connect(self.worker.score)
        self.client.funnelRequested.connect(self.worker.funnel)
        self.thread.start(QThread.Priority.LowPriority)  # honoured on Windows and macOS; Linux: priority.py
        self._next_id = 0

    @property
    def live(self) -> LiveParams:
        return self.worker.live

    def load(self, path: str, device: str = "auto", dtype: str = "auto") -> None:
        self.client.loadRequested.emit(path, device, dtype)

    def generate(self, messages: list, prefix: list | None = None, params=None, prompt: str | None = None) -> int:
        """params: None (the live parameters), a SamplingParams, or a replay's ParamsTimeline;
        prompt: raw text continued without the chat template (then messages are ignored)."""
        self._next_id += 1
        request = GenerationRequest(list(messages), tuple(int(t) for t in prefix or ()), params, prompt)
        self.client.generateRequested.emit(self._next_id, request)
        return self._next_id

    def generate_sides(self, messages: list, sides: list, prefix: list | None = None) -> list[int]:
        """A/B decoding: one reply per SamplingParams, interleaved; returns each side's request id."""
        first = self._next_id + 1
        self._next_id += len(sides)
        self.client.sidesRequested.emit(first, messages, list(prefix or []), list(sides))
        return list(range(first, first + len(sides)))

    def attention(self, ids: list) -> int:
        self._next_id += 1
        self.client.attentionRequested.emit(self._next_id, list(ids))
        return self._next_id

    def lens(self, ids: list, position: int) -> int:
        self._next_id += 1
        self.client.lensRequested.emit(self._next_id, list(ids), position)
        return self._next_id

    def score(self, text: str) -> int:
        """A text's per-token surprisal under the loaded model (scoreReady)."""
        self._next_id += 1
        self.client.scoreRequested.emit(self._next_id, text)
        return self._next_id

    def funnel(self, ids: list, params, chosen: int) -> int:
        """One token's sampler funnel, recomputed: 50 alternatives and every stage's count."""
        self._next_id += 1
        self.client.funnelRequested.emit(self._next_id, list(ids), params, int(chosen))
        return self._next_id

    def stop(self, request_id: int | None = None) -> None:
        self.worker.stop(request_id)

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop any generation, end the thread, wait for it. True if it ended in time."""
        self.worker.stop()
        self.thread.quit()
        return self.thread.wait(timeout_ms)


def _failure(e: Exception) -> str:
    """What a view says when its computation failed: our own refusals (ValueError) in their words,
    anything else with its type, for a bug report."""
    return str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"
