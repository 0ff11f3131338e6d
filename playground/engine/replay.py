"""Replaying a reply: same model, prompt, seed and parameter timeline → the same tokens.

A reply's record (saved with it) holds its seed and, per token, its id and the sampling
parameters whenever they changed. On the same device generation is deterministic, so a replay
reproduces the reply token for token; this says where it does not, or why it cannot run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..sampling_params import ParamsTimeline, SamplingParams
from .context import fit_messages
from .generate import TokenEvent, generate


@dataclass
class ReplayResult:
    possible: bool
    identical: bool = False
    reason: str = ""  # why a replay cannot run, or where it parted
    tokens: list[int] | None = None
    first_difference: int | None = None


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    p = Path(path)
    files = sorted(p.glob("*.safetensors")) + [p / "config.json"] if p.is_dir() else [p]
    for f in files:
        with open(f, "rb") as fh:
            while b := fh.read(chunk):
                h.update(b)
    return h.hexdigest()


def timeline_from_record(record: list[dict], seed: int, start: int = 0) -> ParamsTimeline:
    """The parameters of tokens start… as a timeline from 0 (a record notes them when they change)."""
    changes, current = [], None
    for i, rec in enumerate(record):
        if "params" in rec:
            d = dict(rec["params"])
            for key in ("stop", "order"):
                if key in d:
                    d[key] = tuple(d[key])
            d["logit_bias"] = tuple(tuple(x) for x in d.get("logit_bias", ()))
            d["seed"] = seed
            current = SamplingParams(**d)
            if i > start:
                changes.append((i - start, current))
        if i == start:
            if current is None:
                raise ValueError("the record has no parameters")
            changes.insert(0, (0, current))
    return ParamsTimeline(changes)


def replay(lm, messages: list[dict], meta: dict, model_sha256: str | None = None) -> ReplayResult:
    record = meta.get("token_record") or []
    if not record or meta.get("seed") is None:
        return ReplayResult(False, reason="this reply has no token record to replay")
    if meta.get("model_sha256") and model_sha256 and meta["model_sha256"] != model_sha256:
        return ReplayResult(False, reason=f"it was written by a different model ({meta.get('model', '?')}, "
                                          f"sha256 {meta['model_sha256'][:12]}…); load that model to replay it")
    prefix = [int(t) for t in meta.get("prefix_ids") or []]  # a branch: these tokens were chosen, not sampled
    tail = len(record) - len(prefix)
    if tail <= 0:
        return ReplayResult(False, reason="this branch has no generated tokens to replay")
    timeline = timeline_from_record(record, int(meta["seed"]), start=len(prefix))
    timeline.changes = [(i, p.replace(max_tokens=tail)) for i, p in timeline.changes]
    ids = fit_messages(lm.tokenizer, messages, lm.config.max_seq_len, len(record)).ids + prefix
    tokens = [ev.token_id for ev in generate(lm.model, lm.tokenizer, ids, timeline) if isinstance(ev, TokenEvent)]
    want = [r["id"] for r in record[len(prefix):]]
    for i, (a, b) in enumerate(zip(tokens, want)):
        if a != b:
            return ReplayResult(True, False, f"the replay parts from the original at token {i}", tokens, i)
    if len(tokens) != len(want):
        i = min(len(tokens), len(want))
        return ReplayResult(True, False, f"the replay has {len(tokens)} tokens, the original {len(want)}", tokens, i)
    return ReplayResult(True, True, "", tokens)
