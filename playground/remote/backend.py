"""A remote OpenAI-compatible endpoint as a session `Backend`: the window chats with a model that
runs elsewhere (vLLM across GPUs, llama.cpp's server, Ollama, another Playground) as it does with
its own.

Each request is one asyncio task on the running loop (the app's qasync loop: no thread per
request) that streams `/chat/completions` and turns every chunk into a `TokenRecord` for the
sink. Differences from the local engine, each said where it shows:
- parameters are sent once, with the request: a slider moved mid-reply applies to the next one;
- a token's probability and alternatives come from the server's logprobs when it returns them
  (the raw distribution's, as most servers report); the server sends token texts, not ids, so
  each text gets a local id (`RemoteVocab`) for the views that label alternatives;
- nothing of the model's insides (attention, the logit lens) and no branching from a chosen
  token: the weights stay on the server.
Stop cancels the request's task, which closes the stream; the server then stops generating.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from ..engine.model_info import ModelInfo
from ..records import Finished, TokenRecord
from ..sampling_params import LiveParams, SamplingParams
from ..session.backend import GenerationRequest, ReplySink
from .client import RemoteError, normalize_url, stream_chat

TOP_LOGPROBS = 5  # alternatives asked for per token
NO_INSIDES = ("{name} runs on a remote server ({url}): its weights and activations stay there, so "
              "{what} cannot be computed here. Load a local model to look inside.")
FINISH = {"stop": "eos", "length": "length", "content_filter": "stop", "tool_calls": "stop"}


class RemoteVocab:
    """Token texts the server sent, each given a local id (the records keep ids)."""

    def __init__(self):
        self._ids: dict[str, int] = {}
        self._texts: list[str] = []

    def id(self, text: str) -> int:
        tid = self._ids.get(text)
        if tid is None:
            tid = self._ids[text] = len(self._texts)
            self._texts.append(text)
        return tid

    def text(self, token_id: int) -> str:
        return self._texts[token_id] if 0 <= token_id < len(self._texts) else ""

    def label(self, token_id: int) -> str:
        t = self.text(token_id)
        return t.replace(" ", "·").replace("\n", "↵").replace("\t", "→") or "∅"


@dataclass
class RemoteModelInfo(ModelInfo):
    """What the window knows about a remote model: its name and endpoint, and no insides."""

    vocab: RemoteVocab = field(default_factory=RemoteVocab)
    remote: bool = True

    def unavailable(self, what: str) -> str:
        """Why a view of the model's insides cannot be shown (what: 'attention', 'the logit lens')."""
        return NO_INSIDES.format(name=self.name, url=self.path, what=what)


def remote_model_info(url: str, model: str) -> RemoteModelInfo:
    base = normalize_url(url)
    return RemoteModelInfo(name=model, path=base, format="remote", quantization="", arch="", n_params=0, n_layers=0,
                           n_heads=0, n_kv_heads=0, dim=0, vocab_size=0, context=0, load_s=0.0,
                           backend=f"remote · {urlsplit(base).netloc}")


def request_body(model: str, messages: list[dict], p: SamplingParams, top_logprobs: int = TOP_LOGPROBS) -> dict:
    """The chat request for these parameters: OpenAI's fields, and the common extensions (vLLM's
    and llama.cpp's names) only where they are on, so strict servers see only what they know."""
    body: dict = {"model": model, "messages": messages, "temperature": p.temperature, "top_p": p.top_p,
                  "max_tokens": p.max_tokens, "stream_options": {"include_usage": True}}
    if top_logprobs:
        body.update(logprobs=True, top_logprobs=top_logprobs)
    if p.stop:
        body["stop"] = list(p.stop)
    if p.seed is not None:
        body["seed"] = p.seed
    if p.presence_penalty:
        body["presence_penalty"] = p.presence_penalty
    if p.frequency_penalty:
        body["frequency_penalty"] = p.frequency_penalty
    if p.top_k:
        body["top_k"] = p.top_k
    if p.min_p:
        body["min_p"] = p.min_p
    if p.typical_p < 1.0:
        body["typical_p"] = p.typical_p
    if p.repeat_penalty != 1.0:
        body["repetition_penalty"] = body["repeat_penalty"] = p.repeat_penalty
    return body


class RemoteBackend:
    def __init__(self, url: str, model: str, api_key: str | None = None, live: LiveParams | None = None,
                 top_logprobs: int = TOP_LOGPROBS):
        self.url = normalize_url(url)
        self.api_key = api_key or None
        self.live = live or LiveParams()
        self.top_logprobs = top_logprobs
        self._model = remote_model_info(self.url, model)
        self._client: httpx.AsyncClient | None = None
        self._tasks: dict[int, asyncio.Task] = {}
        self._ids = itertools.count(1)

    @property
    def model(self) -> RemoteModelInfo:
        return self._model

    @property
    def vocab(self) -> RemoteVocab:
        return self._model.vocab

    def submit(self, request: GenerationRequest, sink: ReplySink) -> int:
        handle = next(self._ids)
        src = request.params if request.params is not None else self.live
        p = src.at(0) if hasattr(src, "at") else src.get() if isinstance(src, LiveParams) else src
        # the parameters are read now: a change after this applies to the next request
        self._tasks[handle] = asyncio.ensure_future(self._run(handle, request, p, sink))
        return handle

    def stop(self, handle: int | None = None) -> None:
        for h, task in list(self._tasks.items()):
            if handle is None or h == handle:
                task.cancel()

    async def aclose(self) -> None:
        self.stop()
        for task in list(self._tasks.values()):
            await asyncio.gather(task, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- one request -------------------------------------------------------------------------------
    async def _run(self, handle: int, request: GenerationRequest, p: SamplingParams, sink: ReplySink) -> None:
        try:
            await self._stream(request, p, sink)
        except asyncio.CancelledError:
            pass  # _stream reported the cancelled end
        finally:
            self._tasks.pop(handle, None)

    async def _stream(self, request: GenerationRequest, p: SamplingParams, sink: ReplySink) -> None:
        if request.prefix:
            sink.failed(f"{self._model.name} is remote: a reply cannot continue from a chosen token there.")
            return
        if request.prompt is not None:
            sink.failed(f"{self._model.name} is remote: only chats are sent to it, not raw prompts.")
            return
        if self._client is None:
            self._client = httpx.AsyncClient()
        t0 = time.perf_counter()
        n, ttft, prompt_tokens, reason = 0, 0.0, 0, "eos"
        sink.started(0, 0)  # the prompt's length comes with the usage at the end
        try:
            events = stream_chat(self._client, self.url, self.api_key, request_body(self._model.name,
                                 request.messages, p, self.top_logprobs))
            try:
                async for chunk in events:
                    if chunk.get("usage"):
                        prompt_tokens = int(chunk["usage"].get("prompt_tokens") or 0)
                    for choice in chunk.get("choices") or []:
                        for ev in self._tokens(choice, n, p, t0):
                            if n == 0:
                                ttft = time.perf_counter() - t0
                            n += 1
                            sink.token(ev)
                        if choice.get("finish_reason"):
                            reason = FINISH.get(choice["finish_reason"], "eos")
            finally:
                await events.aclose()
        except asyncio.CancelledError:
            reason = "cancelled"
        except RemoteError as e:
            sink.failed(str(e))
            return
        if reason == "length" and n < p.max_tokens:
            reason = "context"
        elapsed = time.perf_counter() - t0
        sink.finished(Finished(reason, prompt_tokens, n, ttft, max(0.0, elapsed - ttft) if n > 1 else 0.0, ttft,
                               p.seed if p.seed is not None else -1))

    def _tokens(self, choice: dict, start: int, p: SamplingParams, t0: float) -> list[TokenRecord]:
        """One chunk's tokens: one per logprobs entry when the server sends them, else the chunk's
        text as one token of unknown probability."""
        text = ((choice.get("delta") or {}).get("content")) or ""
        entries = ((choice.get("logprobs") or {}).get("content")) or []
        now = time.perf_counter() - t0
        if not entries:
            if not text:
                return []
            return [TokenRecord(index=start, token_id=self.vocab.id(text), text=text, prob=0.0, raw_prob=0.0,
                                entropy=0.0, params=p, elapsed_s=now)]
        out, rest = [], text
        for i, e in enumerate(entries):
            tok = str(e.get("token", ""))
            piece = tok if rest.startswith(tok) else (rest if i == len(entries) - 1 else "")
            rest = rest[len(piece):]
            prob = _prob(e.get("logprob"))
            top = [(self.vocab.id(str(a.get("token", ""))), _prob(a.get("logprob"))) for a in e.get("top_logprobs") or []]
            out.append(TokenRecord(index=start + i, token_id=self.vocab.id(tok), text=piece, prob=prob, raw_prob=prob,
                                   entropy=0.0, params=p, top=top, elapsed_s=now))
        if rest and out:  # text the entries did not spell (a server that splits differently)
            out[-1].text += rest
        return out


def _prob(logprob) -> float:
    try:
        return math.exp(float(logprob)) if logprob is not None else 0.0
    except (TypeError, ValueError, OverflowError):
        return 0.0
