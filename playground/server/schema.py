"""Reading an OpenAI-style request body into what a session needs, or a clear 4xx error.

Every field is type- and range-checked here, before anything reaches the model: `ApiError`
carries the HTTP status, a message that names the field and says what is allowed, and the field
(`param`), as OpenAI's API reports errors. Unknown fields are ignored (clients send many).

Defaults follow OpenAI's API, not the window's presets: temperature 1, top_p 1, and our extras
(top_k, min_p, typical_p, repetition_penalty) off, so a client gets the model's own distribution
unless it asks otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..sampling_params import SamplingParams

MAX_STOP = 4  # as OpenAI's API
MAX_STOP_CHARS = 200
MAX_TOP_LOGPROBS = 20  # as OpenAI's API (the engine records 10 alternatives: at most 10 are returned)
DEFAULT_MAX_TOKENS = 512
MAX_MESSAGES = 1000


class ApiError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


@dataclass
class ParsedRequest:
    """One request, checked: the chat (or a raw prompt) and how to sample it."""

    model: str
    params: SamplingParams
    messages: list[dict[str, str]] = field(default_factory=list)
    prompt: str | None = None  # /v1/completions
    stream: bool = False
    include_usage: bool = False  # stream_options.include_usage
    logprobs: bool = False
    top_logprobs: int = 0
    echo: bool = False  # /v1/completions: return the prompt before the completion


def _bad(message: str, param: str | None = None, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, param, code)


def _number(body: dict, name: str, lo: float, hi: float, default: float | None, integer: bool = False):
    v = body.get(name)
    if v is None:
        return default
    ok = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok or (isinstance(v, float) and not math.isfinite(v)):
        kind = "an integer" if integer else "a number"
        raise _bad(f"'{name}' must be {kind}, got {v!r}", name, "invalid_type")
    if not lo <= v <= hi:
        raise _bad(f"'{name}' must be from {lo} to {hi}, got {v!r}", name)
    return v


def _sampling(body: dict, context: int) -> SamplingParams:
    """The standard fields and our extras → SamplingParams."""
    limit = max(1, context - 1)
    mt = body.get("max_completion_tokens", body.get("max_tokens"))
    name = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
    if mt is None:
        max_tokens = min(DEFAULT_MAX_TOKENS, limit)
    else:
        max_tokens = _number({name: mt}, name, 1, limit, None, integer=True)
    stop = body.get("stop")
    if stop is None:
        stops: tuple[str, ...] = ()
    elif isinstance(stop, str):
        stops = (stop,)
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        stops = tuple(stop)
    else:
        raise _bad("'stop' must be a string or a list of strings", "stop", "invalid_type")
    if len(stops) > MAX_STOP:
        raise _bad(f"'stop' may hold at most {MAX_STOP} strings, got {len(stops)}", "stop")
    if any(len(s) > MAX_STOP_CHARS for s in stops):
        raise _bad(f"each 'stop' string may be at most {MAX_STOP_CHARS} characters", "stop")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
        raise _bad(f"'seed' must be an integer from 0 to 2**63-1, got {seed!r}", "seed")
    n = body.get("n", 1)
    if n != 1 or isinstance(n, bool):
        raise _bad(f"this server makes one choice per request: 'n' must be 1, got {n!r}", "n")
    return SamplingParams(
        temperature=_number(body, "temperature", 0.0, 2.0, 1.0),
        top_p=_number(body, "top_p", 0.0, 1.0, 1.0),
        presence_penalty=_number(body, "presence_penalty", -2.0, 2.0, 0.0),
        frequency_penalty=_number(body, "frequency_penalty", -2.0, 2.0, 0.0),
        top_k=_number(body, "top_k", 0, 100_000, 0, integer=True),
        min_p=_number(body, "min_p", 0.0, 1.0, 0.0),
        typical_p=_number(body, "typical_p", 0.0, 1.0, 1.0),
        repeat_penalty=_number(body, "repetition_penalty", 0.01, 10.0, 1.0),
        seed=seed, max_tokens=max_tokens, stop=stops,
    )


def _content(m: dict, i: int) -> str:
    c = m.get("content")
    if c is None:
        return ""
    if isinstance(c, str):
        return c
    if isinstance(c, list):  # content parts: text only
        out = []
        for part in c:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise _bad(f"messages[{i}].content: this model reads text parts only", f"messages[{i}].content")
            out.append(part["text"])
        return "".join(out)
    raise _bad(f"messages[{i}].content must be a string or a list of text parts", f"messages[{i}].content",
               "invalid_type")


def _messages(body: dict) -> list[dict[str, str]]:
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise _bad("'messages' must be a non-empty list of {role, content} objects", "messages",
                   "missing_required_parameter" if msgs is None else "invalid_type")
    if len(msgs) > MAX_MESSAGES:
        raise _bad(f"at most {MAX_MESSAGES} messages per request", "messages")
    out = []
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            raise _bad(f"messages[{i}] must be an object with 'role' and 'content'", f"messages[{i}]", "invalid_type")
        role = m.get("role")
        role = "system" if role == "developer" else role
        if role not in ("system", "user", "assistant"):
            raise _bad(f"messages[{i}].role must be 'system', 'developer', 'user' or 'assistant', got {role!r}",
                       f"messages[{i}].role")
        if role == "system" and i > 0:
            raise _bad("a system message may only come first", f"messages[{i}].role")
        out.append({"role": role, "content": _content(m, i)})
    if all(m["role"] == "system" for m in out):
        raise _bad("'messages' needs at least one user or assistant message", "messages")
    return out


def _common(body: Any, models: list[str], context: int) -> tuple[str, SamplingParams, dict]:
    if not isinstance(body, dict):
        raise _bad("the request body must be a JSON object", None, "invalid_type")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("'model' is required: one of GET /v1/models", "model", "missing_required_parameter")
    if model not in models:
        raise ApiError(404, f"the model '{model}' is not served here; this server has: {models[0] if models else 'none'}",
                       "model", "model_not_found")
    return model, _sampling(body, context), body


def parse_chat(body: Any, models: list[str], context: int) -> ParsedRequest:
    """A POST /v1/chat/completions body."""
    model, params, body = _common(body, models, context)
    logprobs = body.get("logprobs", False)
    if not isinstance(logprobs, bool):
        raise _bad("'logprobs' must be true or false", "logprobs", "invalid_type")
    top = _number(body, "top_logprobs", 0, MAX_TOP_LOGPROBS, 0, integer=True)
    if top and not logprobs:
        raise _bad("'top_logprobs' needs 'logprobs': true", "top_logprobs")
    stream, usage = _stream(body)
    return ParsedRequest(model, params, messages=_messages(body), stream=stream, include_usage=usage,
                         logprobs=logprobs, top_logprobs=top)


def parse_completion(body: Any, models: list[str], context: int) -> ParsedRequest:
    """A POST /v1/completions body (one prompt string; `logprobs` is the number of alternatives)."""
    model, params, body = _common(body, models, context)
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise _bad("'prompt' must be one non-empty string", "prompt",
                   "missing_required_parameter" if prompt is None else "invalid_value")
    lp = _number(body, "logprobs", 0, 5, None, integer=True)  # OpenAI's legacy API allows up to 5
    echo = body.get("echo", False)
    if not isinstance(echo, bool):
        raise _bad("'echo' must be true or false", "echo", "invalid_type")
    stream, usage = _stream(body)
    return ParsedRequest(model, params, prompt=prompt, stream=stream, include_usage=usage,
                         logprobs=lp is not None, top_logprobs=lp or 0, echo=echo)


def _stream(body: dict) -> tuple[bool, bool]:
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise _bad("'stream' must be true or false", "stream", "invalid_type")
    opts = body.get("stream_options") or {}
    if not isinstance(opts, dict):
        raise _bad("'stream_options' must be an object", "stream_options", "invalid_type")
    return stream, bool(opts.get("include_usage", False))
