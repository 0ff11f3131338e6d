"""The typed record of a reply: what the engine makes, storage saves, and replay, export, the
inspector, the views and the server read. No torch and no Qt, so every layer may hold it.

- `TokenRecord`: one generated token (the engine's `TokenEvent` is this very class): its id and
  text, its probability under the sampler and under the raw model, the entropy, the raw top
  alternatives, the survivors of the sampler's filters, which stage removed each alternative, the
  parameters it was sampled under and when it came.
- `Finished`: how a generation ended, with its timings.
- `ReplyRecord`: a whole reply: its tokens, seed, model and template hashes, timings, how it ended,
  and (for a branch) the tokens a user chose. `to_dict`/`from_dict` are the only serialization;
  a saved record writes each token's parameters only where they changed (a timeline, not a copy
  per token) and carries `schema` so later versions can read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .sampling_params import ParamsTimeline, SamplingParams
from .texts import translate

SCHEMA_VERSION = 1  # of a saved ReplyRecord

# keys of the schema-v2 history's untyped `meta` dict that now live in the record
LEGACY_META_KEYS = ("token_record", "param_marks", "seed", "model", "model_path", "model_sha256",
                    "template_sha256", "prompt_tokens", "tokens", "tok_s", "ttft_ms", "finish", "error",
                    "prefix_ids", "branched_at")


@dataclass
class TokenRecord:
    """One generated token, with everything the views and the history need (nothing torch)."""

    index: int  # position in the reply (0 = its first token)
    token_id: int
    text: str  # the text this token adds to the reply ("" while a character or stop string is incomplete)
    prob: float  # probability of the chosen token under the distribution it was sampled from
    raw_prob: float  # its probability under the model's raw distribution
    entropy: float  # of the raw distribution, in nats
    params: SamplingParams | None = None  # what it was sampled under
    top: list[tuple[int, float]] = field(default_factory=list)  # raw top-N (id, prob)
    top_final: list[tuple[int, float]] = field(default_factory=list)  # after the sampler's filters
    removed_by: dict[str, list[int]] = field(default_factory=dict)  # stage → which of `top` it removed
    # candidates left after each stage that removes some: ("vocabulary", V), then (stage, n) in order
    survivors: list[tuple[str, int]] = field(default_factory=list)
    elapsed_s: float = 0.0  # from the request's start to this token
    chosen: bool = False  # put here by a user (a branch), not sampled

    def to_dict(self, with_params: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.token_id, "text": self.text, "p": self.prob, "raw_p": self.raw_prob,
                             "entropy": self.entropy, "top": [[t, p] for t, p in self.top],
                             "top_final": [[t, p] for t, p in self.top_final]}
        if self.removed_by:
            d["removed_by"] = {k: list(v) for k, v in self.removed_by.items()}
        if self.survivors:  # a few ints a token: [["vocabulary", 49152], ["top_k", 40], …]
            d["survivors"] = [[s, n] for s, n in self.survivors]
        if self.elapsed_s:
            d["t"] = self.elapsed_s
        if self.chosen:
            d["chosen"] = True
        if with_params and self.params is not None:
            d["params"] = self.params.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], index: int, params: SamplingParams | None = None) -> TokenRecord:
        """`params` is what the previous token was sampled under; a record without its own keeps it."""
        if "params" in d:
            params = SamplingParams.from_dict(d["params"])
        return cls(index=index, token_id=int(d["id"]), text=str(d.get("text", "")), prob=float(d.get("p", 0.0)),
                   raw_prob=float(d.get("raw_p", 0.0)), entropy=float(d.get("entropy", 0.0)), params=params,
                   top=[(int(t), float(p)) for t, p in d.get("top", [])],
                   top_final=[(int(t), float(p)) for t, p in d.get("top_final", [])],
                   removed_by={str(k): [int(t) for t in v] for k, v in (d.get("removed_by") or {}).items()},
                   survivors=[(str(s), int(n)) for s, n in d.get("survivors", [])],
                   elapsed_s=float(d.get("t", 0.0)), chosen=bool(d.get("chosen", False)))


@dataclass
class Finished:
    """The end of a generation: why it stopped, and how long each part took."""

    reason: str  # "eos" | "length" | "stop" (a stop string) | "cancelled" | "context"
    prompt_tokens: int
    generated_tokens: int
    prefill_s: float
    decode_s: float
    ttft_s: float  # from the call to the first token's event
    seed: int
    text: str = ""  # the whole reply
    tail: str = ""  # text not yet carried by any TokenEvent (a held-back end); append it to the reply

    @property
    def prefill_tok_s(self) -> float:
        return self.prompt_tokens / self.prefill_s if self.prefill_s > 0 else 0.0

    @property
    def decode_tok_s(self) -> float:
        # tokens after the first, over the time spent producing them
        n = self.generated_tokens - 1
        return n / self.decode_s if n > 0 and self.decode_s > 0 else 0.0


@dataclass
class ReplyRecord:
    """Everything recorded about one reply, enough to show, inspect, export and replay it."""

    tokens: list[TokenRecord] = field(default_factory=list)
    finish: str = ""  # "" while it streams; then a Finished.reason, or "error"
    error: str = ""
    seed: int | None = None
    model: str = ""  # the model's name
    model_path: str = ""
    model_sha256: str = ""  # of the model file(s): a replay checks it
    template_sha256: str = ""  # of the chat template
    backend: str = ""  # what ran it, e.g. "fast · native avx512/vnni" or a remote endpoint
    prefix_ids: list[int] = field(default_factory=list)  # a branch: the reply's first tokens, given, not sampled
    branched_at: int | None = None  # a branch: the index of the token a user chose
    prompt_tokens: int = 0
    dropped_messages: int = 0  # oldest messages left out so the conversation fits the context
    generated_tokens: int = 0
    prefill_s: float = 0.0
    ttft_s: float = 0.0
    decode_s: float = 0.0
    decode_tok_s: float = 0.0
    api_request: str = ""  # the id of the HTTP request that asked for it (the server's replies)
    schema: int = SCHEMA_VERSION

    # -- reading -----------------------------------------------------------------------------
    @property
    def token_ids(self) -> list[int]:
        return [t.token_id for t in self.tokens]

    @property
    def params(self) -> SamplingParams | None:
        """The parameters the reply started under."""
        return self.tokens[0].params if self.tokens else None

    def param_changes(self) -> list[tuple[int, int, str]]:
        """Where the sampling parameters changed mid-reply: (token index, character offset in the
        reply's text, 'name=value, …')."""
        out, last, offset = [], None, 0
        for t in self.tokens:
            if t.params is not None and last is not None and t.params != last:
                old, new = last.to_dict(), t.params.to_dict()
                label = ", ".join(f"{k}={new[k]}" for k in new if new[k] != old[k])
                out.append((t.index, offset, label))
            if t.params is not None:
                last = t.params
            offset += len(t.text)
        return out

    @property
    def replayable(self) -> bool:
        return self.seed is not None and len(self.tokens) > len(self.prefix_ids) and self.params is not None

    def replay_timeline(self) -> ParamsTimeline:
        """The parameters of the sampled tokens (after a branch's given ones) as a timeline from 0,
        with the recorded seed and a length limit of exactly the recorded tokens."""
        start = len(self.prefix_ids)
        sampled = self.tokens[start:]
        if self.seed is None or not sampled or any(t.params is None for t in sampled):
            raise ValueError("this reply has no token record to replay")
        n = len(sampled)
        changes, last = [], None
        for i, t in enumerate(sampled):
            if t.params != last:
                changes.append((i, t.params.replace(seed=self.seed, max_tokens=n)))
                last = t.params
        return ParamsTimeline(changes)

    # -- changing (the session applies the engine's events) ------------------------------------
    def add_token(self, ev: TokenRecord) -> TokenRecord:
        """Append a generated token; its index becomes its place in the reply."""
        if ev.index != len(self.tokens):
            from dataclasses import replace

            ev = replace(ev, index=len(self.tokens))
        self.tokens.append(ev)
        return ev

    def finish_with(self, fin: Finished) -> None:
        self.finish = fin.reason
        self.seed = fin.seed
        self.prompt_tokens = fin.prompt_tokens or self.prompt_tokens
        self.generated_tokens = fin.generated_tokens
        self.prefill_s, self.decode_s, self.ttft_s = fin.prefill_s, fin.decode_s, fin.ttft_s
        self.decode_tok_s = fin.decode_tok_s

    def fail(self, message: str) -> None:
        self.finish = "error"
        self.error = message

    # -- saving ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"schema": self.schema}
        for name in ("finish", "error", "seed", "model", "model_path", "model_sha256", "template_sha256", "backend",
                     "branched_at", "prompt_tokens", "dropped_messages", "generated_tokens", "prefill_s", "ttft_s",
                     "decode_s", "decode_tok_s", "api_request"):
            d[name] = getattr(self, name)
        d["prefix_ids"] = list(self.prefix_ids)
        tokens, last = [], None
        for t in self.tokens:
            tokens.append(t.to_dict(with_params=t.params != last))
            last = t.params
        d["tokens"] = tokens
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReplyRecord:
        """A saved record (raises ValueError for one that is not a record or is from a newer Playground)."""
        if not isinstance(d, dict):
            raise ValueError("a reply record must be an object")
        schema = int(d.get("schema", 0))
        if schema < 1 or schema > SCHEMA_VERSION:
            raise ValueError(f"reply record schema {schema}; this Playground reads 1 to {SCHEMA_VERSION}")
        tokens, params = [], None
        try:
            for i, td in enumerate(d.get("tokens", [])):
                t = TokenRecord.from_dict(td, i, params)
                params = t.params
                tokens.append(t)
            seed = d.get("seed")
            branched = d.get("branched_at")
            return cls(
                tokens=tokens, finish=str(d.get("finish", "")), error=str(d.get("error", "")),
                seed=None if seed is None else int(seed), model=str(d.get("model", "")),
                model_path=str(d.get("model_path", "")), model_sha256=str(d.get("model_sha256", "")),
                template_sha256=str(d.get("template_sha256", "")), backend=str(d.get("backend", "")),
                prefix_ids=[int(t) for t in d.get("prefix_ids", [])],
                branched_at=None if branched is None else int(branched),
                prompt_tokens=int(d.get("prompt_tokens", 0)), dropped_messages=int(d.get("dropped_messages", 0)),
                generated_tokens=int(d.get("generated_tokens", 0)), prefill_s=float(d.get("prefill_s", 0.0)),
                ttft_s=float(d.get("ttft_s", 0.0)), decode_s=float(d.get("decode_s", 0.0)),
                decode_tok_s=float(d.get("decode_tok_s", 0.0)), api_request=str(d.get("api_request", "")),
            )
        except (KeyError, TypeError) as e:
            raise ValueError(f"damaged reply record: {e!r}") from e

    @classmethod
    def from_legacy_meta(cls, meta: dict[str, Any]) -> ReplyRecord | None:
        """The record a schema-v2 history kept in a reply's untyped meta dict (`token_record`,
        `tokens`, `tok_s`, `ttft_ms`, …), or None when the meta holds none of it."""
        if not any(k in meta for k in LEGACY_META_KEYS):
            return None
        tokens, params = [], None
        for i, td in enumerate(meta.get("token_record") or []):
            t = TokenRecord.from_dict(td, i, params)
            params = t.params
            tokens.append(t)
        seed = meta.get("seed")
        branched = meta.get("branched_at")
        finish = str(meta.get("finish", "")) or ("error" if meta.get("error") else "")
        return cls(
            tokens=tokens, finish=finish, error=str(meta.get("error", "")), seed=None if seed is None else int(seed),
            model=str(meta.get("model", "")), model_path=str(meta.get("model_path", "")),
            model_sha256=str(meta.get("model_sha256", "")), template_sha256=str(meta.get("template_sha256", "")),
            prefix_ids=[int(t) for t in meta.get("prefix_ids") or []],
            branched_at=None if branched is None else int(branched),
            prompt_tokens=int(meta.get("prompt_tokens", 0)), generated_tokens=int(meta.get("tokens", 0)),
            ttft_s=float(meta.get("ttft_ms", 0.0)) / 1000, decode_tok_s=float(meta.get("tok_s", 0.0)),
        )


def stats_line(rec: ReplyRecord | None) -> str:
    """One line under a reply: tokens, speed, time to first token, model, how it ended."""
    if rec is None:
        return ""
    bits = []
    if rec.finish and rec.finish != "error":
        bits.append(translate("Records", "{n} tokens").format(n=rec.generated_tokens))
    if rec.decode_tok_s:
        bits.append(f"{rec.decode_tok_s:.1f} tok/s")
    if rec.finish and rec.finish != "error":
        bits.append(translate("Records", "first token {ms:.0f} ms").format(ms=rec.ttft_s * 1000))
    if rec.model:
        bits.append(rec.model)
    if rec.finish == "cancelled":
        bits.append(translate("Records", "stopped"))
    elif rec.finish == "length":
        bits.append(translate("Records", "hit the token limit"))
    if rec.error:
        bits.append(translate("Records", "error: {error}").format(error=rec.error))
    return " · ".join(bits)
