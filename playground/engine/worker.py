"""The engine worker: one QObject on its own QThread that owns the model, tokenizer and cache,
and serves requests one at a time.

The GUI talks to it only through queued signals (`EngineClient`'s *Requested signals) and two
thread-safe objects: `LiveParams` (the sampling parameters, read before every token) and the
stop `threading.Event` (checked before every token). Events come back as queued signals
carrying plain dataclasses; torch never runs on the GUI thread.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..sampling_params import LiveParams


@dataclass
class ModelInfo:
    """What the UI may know about the loaded model (no torch objects)."""

    name: str
    path: str
    format: str
    quantization: str
    arch: str
    n_params: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    dim: int
    vocab_size: int
    context: int
    load_s: float
    backend: str  # e.g. "fast · native avx512/vnni" or "reference · float32"
    tokenizer: Any = None  # a TextTokenizer, for counting tokens of a draft (thread-safe)
    sha256: str = ""  # of the model file(s): a reply records it, so a replay knows its model
    template_sha256: str = ""  # of the chat template
    weights: str = ""  # how the weights are held ("Q8_0 blocks, quantized at load from BF16", "Q4_1, as stored")
    weights_bytes: int = 0  # and the memory they take

    def weights_line(self) -> str:
        """e.g. "weights Q4_1, as stored · 98 MB" (empty when the loader did not say)."""
        if not self.weights:
            return ""
        return f"weights {self.weights} · {self.weights_bytes / 2**20:.0f} MB"


def model_info(lm, sha256: str = "") -> ModelInfo:
    import hashlib

    c = lm.config
    backend = _backend(lm)
    return ModelInfo(lm.name, str(lm.path), lm.format, lm.quantization, c.arch, c.n_params, c.n_layers, c.n_heads,
                     c.n_kv_heads, c.dim, c.vocab_size, c.max_seq_len, lm.load_s, backend, lm.tokenizer, sha256,
                     hashlib.sha256((lm.tokenizer.chat_template or "").encode()).hexdigest(),
                     getattr(lm, "weights", ""), getattr(lm, "weights_bytes", 0))


def _backend(lm) -> str:
    """Which code runs the model, as the status bar says it."""
    return lm.model.describe()


class EngineWorker(QObject):
    # worker → UI
    modelLoading = Signal(str)  # a load started (path)
    modelLoadProgress = Signal(int)  # percent of the weights converted so far
    modelLoaded = Signal(object)  # ModelInfo of the model now in use
    modelLoadFailed = Signal(str, str)  # path, message; the previous model stays loaded
    generationStarted = Signal(int, int, int)  # request id, prompt tokens, messages dropped to fit
    tokenGenerated = Signal(int, object)  # request id, TokenEvent
    generationFinished = Signal(int, object)  # request id, Finished
    generationFailed = Signal(int, str)  # request id, message
    replayFinished = Signal(int, object)  # request id, ReplayResult
    attentionReady = Signal(int, object)  # request id, AttentionMap
    lensReady = Signal(int, object)  # request id, [(layer, [(token label, prob)…])…]
    inspectFailed = Signal(int, str)  # request id, message

    def __init__(self, loader: Callable[..., Any] | None = None):
        super().__init__()
        self.live = LiveParams()
        self.stop_event = threading.Event()
        self._loader = loader
        self.lm = None

    # -- called from any thread ---------------------------------------------------------
    def stop(self) -> None:
        """Stop the running generation before its next token."""
        self.stop_event.set()

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
        sha = ""
        try:
            if lm.path.exists():
                from .replay import file_sha256

                sha = file_sha256(lm.path)
        except OSError:
            pass
        self.lm = lm
        self.model_sha256 = sha
        self.modelLoaded.emit(model_info(lm, sha))

    @Slot(int, list, dict)
    def replay(self, request_id: int, messages: list, meta: dict) -> None:
        from .replay import ReplayResult, replay

        if self.lm is None:
            self.replayFinished.emit(request_id, ReplayResult(False, reason="No model is loaded."))
            return
        try:
            res = replay(self.lm, messages, meta, getattr(self, "model_sha256", ""))
        except Exception as e:  # a bad record must not take the worker down
            res = ReplayResult(False, reason=f"{type(e).__name__}: {e}")
        self.replayFinished.emit(request_id, res)

    @Slot(int, list)
    def attention(self, request_id: int, ids: list) -> None:
        from .inspect import attention_maps

        try:
            self.attentionReady.emit(request_id, attention_maps(self.lm, ids))
        except Exception as e:
            self.inspectFailed.emit(request_id, f"{type(e).__name__}: {e}")

    @Slot(int, list, int)
    def lens(self, request_id: int, ids: list, position: int) -> None:
        from .inspect import logit_lens, token_label

        try:
            rows = logit_lens(self.lm, ids, position, k=8)
            named = [[(token_label(self.lm.tokenizer, t), p) for t, p in row] for row in rows]
            self.lensReady.emit(request_id, named)
        except Exception as e:
            self.inspectFailed.emit(request_id, f"{type(e).__name__}: {e}")

    @Slot(int, list, list)
    def generate(self, request_id: int, messages: list, prefix: list | None = None) -> None:
        from .context import ContextOverflowError, fit_messages  # torch loads on this thread, not the GUI's
        from .generate import Finished, TokenEvent, generate

        if self.lm is None:
            self.generationFailed.emit(request_id, "No model is loaded yet.")
            return
        self.stop_event.clear()
        lm = self.lm
        try:
            fitted = fit_messages(lm.tokenizer, messages, lm.config.max_seq_len, self.live.get().max_tokens)
            self.generationStarted.emit(request_id, len(fitted.ids), fitted.dropped)
            ids = fitted.ids + [int(t) for t in (prefix or [])]  # a branch continues after chosen tokens
            for ev in generate(lm.model, lm.tokenizer, ids, self.live, self.stop_event):
                if isinstance(ev, TokenEvent):
                    self.tokenGenerated.emit(request_id, ev)
                elif isinstance(ev, Finished):
                    self.generationFinished.emit(request_id, ev)
        except ContextOverflowError as e:
            self.generationFailed.emit(request_id, str(e))
        except Exception as e:
            traceback.print_exc()
            self.generationFailed.emit(request_id, f"{type(e).__name__}: {e}")


class EngineClient(QObject):
    """The GUI side: signals that queue requests on the worker's thread."""

    loadRequested = Signal(str, str, str)  # path, device, dtype
    generateRequested = Signal(int, list, list)  # request id, chat messages, forced first tokens of the reply
    attentionRequested = Signal(int, list)  # request id, token ids
    lensRequested = Signal(int, list, int)  # request id, token ids, position
    replayRequested = Signal(int, list, dict)  # request id, chat messages, the reply's meta


class Engine:
    """The worker on its thread, wired to a client. One place knows every connection."""

    def __init__(self, loader: Callable[..., Any] | None = None):
        self.thread = QThread()
        self.thread.setObjectName("engine")
        self.worker = EngineWorker(loader)
        self.worker.moveToThread(self.thread)
        self.client = EngineClient()
        self.client.loadRequested.connect(self.worker.load)
        self.client.generateRequested.connect(self.worker.generate)
        self.client.replayRequested.connect(self.worker.replay)
        self.client.attentionRequested.connect(self.worker.attention)
        self.client.lensRequested.connect(self.worker.lens)
        self.thread.start()
        self._next_id = 0

    @property
    def live(self) -> LiveParams:
        return self.worker.live

    def load(self, path: str, device: str = "auto", dtype: str = "auto") -> None:
        self.client.loadRequested.emit(path, device, dtype)

    def generate(self, messages: list, prefix: list | None = None) -> int:
        self._next_id += 1
        self.client.generateRequested.emit(self._next_id, messages, list(prefix or []))
        return self._next_id

    def attention(self, ids: list) -> int:
        self._next_id += 1
        self.client.attentionRequested.emit(self._next_id, list(ids))
        return self._next_id

    def lens(self, ids: list, position: int) -> int:
        self._next_id += 1
        self.client.lensRequested.emit(self._next_id, list(ids), position)
        return self._next_id

    def replay(self, messages: list, meta: dict) -> int:
        self._next_id += 1
        self.client.replayRequested.emit(self._next_id, messages, meta)
        return self._next_id

    def stop(self) -> None:
        self.worker.stop()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop any generation, end the thread, wait for it. True if it ended in time."""
        self.worker.stop()
        self.thread.quit()
        return self.thread.wait(timeout_ms)
