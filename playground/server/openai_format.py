"""The JSON shapes of OpenAI's API, made from our records: chat completions and their stream
chunks, text completions, log-probabilities, usage.

Log-probabilities are the model's own (the raw distribution, before the sampler's filters and
temperature), as vLLM and llama.cpp return them: under greedy sampling the chosen token is the
top alternative and its logprob is log(`TokenRecord.raw_prob`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from ..records import ReplyRecord, TokenRecord

FINISH = {"eos": "stop", "stop": "stop", "length": "length", "context": "length", "cancelled": "stop"}


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -9999.0


def token_logprobs(ev: TokenRecord, top: int, text_of: Callable[[int], str]) -> dict[str, Any]:
    """One token's `logprobs.content` entry: its text, bytes and logprob, and `top` alternatives."""
    text = text_of(ev.token_id)
    alts = [{"token": (t := text_of(tid)), "logprob": _log(p), "bytes": list(t.encode("utf-8"))}
            for tid, p in ev.top[:top]]
    return {"token": text, "logprob": _log(ev.raw_prob), "bytes": list(text.encode("utf-8")), "top_logprobs": alts}


def usage(rec: ReplyRecord) -> dict[str, int]:
    n = len(rec.tokens)
    return {"prompt_tokens": rec.prompt_tokens, "completion_tokens": n, "total_tokens": rec.prompt_tokens + n}


class ChatShapes:
    """The objects of one chat completion (its id, creation time and model fixed once)."""

    def __init__(self, request_id: str, model: str, fingerprint: str = ""):
        self.id, self.model, self.created = request_id, model, int(time.time())
        self.fingerprint = fingerprint

    def _head(self, obj: str) -> dict[str, Any]:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.model,
                "system_fingerprint": self.fingerprint}

    def chunk(self, delta: dict[str, Any], finish: str | None = None, logprobs: list | None = None) -> dict:
        choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
        choice["logprobs"] = None if logprobs is None else {"content": logprobs}
        return {**self._head("chat.completion.chunk"), "choices": [choice]}

    def usage_chunk(self, rec: ReplyRecord) -> dict:
        return {**self._head("chat.completion.chunk"), "choices": [], "usage": usage(rec)}

    def completion(self, text: str, rec: ReplyRecord, logprobs: list | None) -> dict:
        choice = {"index": 0, "message": {"role": "assistant", "content": text},
                  "logprobs": None if logprobs is None else {"content": logprobs},
                  "finish_reason": FINISH.get(rec.finish, "stop")}
        return {**self._head("chat.completion"), "choices": [choice], "usage": usage(rec)}


class TextShapes(ChatShapes):
    """The objects of one /v1/completions request (the legacy logprobs layout)."""

    def text_choice(self, text: str, finish: str | None, lp: dict | None) -> dict:
        return {**self._head("text_completion"),
                "choices": [{"index": 0, "text": text, "logprobs": lp, "finish_reason": finish}]}

    @staticmethod
    def legacy_logprobs(entries: list[dict], offset0: int = 0) -> dict:
        """Chat-style entries → {tokens, token_logprobs, top_logprobs, text_offset}."""
        offsets, pos = [], offset0
        for e in entries:
            offsets.append(pos)
            pos += len(e["token"])
        return {"tokens": [e["token"] for e in entries], "token_logprobs": [e["logprob"] for e in entries],
                "top_logprobs": [{a["token"]: a["logprob"] for a in e["top_logprobs"]} for e in entries],
                "text_offset": offsets}
