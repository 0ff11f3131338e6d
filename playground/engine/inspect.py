"""Looking inside the model (no Qt): attention maps, the logit lens, readable token labels.

Attention comes from a separate forward pass over the conversation's tokens with the
written-out attention path (`need_weights=True`), so generation keeps its fast path and pays
nothing. Results are numpy arrays and strings: what the UI may hold.
"""

from __future__ import annotations

import math
import mmap
import os
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class AttentionMap:
    weights: np.ndarray  # (layers, heads, query, key) float16; the future (key > query) is 0
    labels: list[str]  # one readable label per token
    token_ids: list[int]
    first: int = 0  # index of the first token shown: a long conversation shows its last tokens
    total: int = 0  # tokens in the conversation

    @property
    def shape(self) -> tuple[int, ...]:
        return self.weights.shape


def token_label(tokenizer, token_id: int) -> str:
    """How a token reads: its own text, with spaces as '·', newlines '↵', tabs '→'."""
    return tokenizer.label(token_id)


MAP_BUDGET = 3 << 30  # bytes of maps at most (2048 tokens of SmolLM2 take 2.3 GB)


def map_token_limit(n_layers: int, n_heads: int, budget: int | None = None) -> int:
    """How many tokens' maps fit in the budget (float16, every layer and head): the smaller of
    MAP_BUDGET and a third of the memory available now."""
    budget = budget or min(MAP_BUDGET, _available_memory() // 3)
    return max(16, math.isqrt(budget // (2 * n_layers * n_heads)))


def _available_memory() -> int:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not on every platform
        return MAP_BUDGET * 3


@torch.inference_mode()
def attention_maps(lm, ids: list[int], max_tokens: int | None = None) -> AttentionMap:
    """Every layer's and head's attention over ids, as float16 (half the memory; the values
    are probabilities, where float16's 3 significant digits are plenty for a heatmap).
    A conversation longer than the maps' memory or the model's context allows is shown by its
    last tokens (`first`)."""
    cfg = lm.config
    limit = min(max_tokens or map_token_limit(cfg.n_layers, cfg.n_heads), cfg.max_seq_len)
    total = len(ids)
    ids = list(ids)[-limit:]
    T = len(ids)
    out = _zeros((cfg.n_layers, cfg.n_heads, T, T), np.float16)

    def sink(layer: int, w: torch.Tensor, head: int = 0) -> None:  # w: (1, heads, T, T) from `head` on
        torch.from_numpy(out[layer, head : head + w.shape[1]]).copy_(w[0])  # to float16, straight into the array

    lm.model(torch.tensor([ids], device=lm.model.device), use_cache=False, need_weights=sink, last_only=True)
    return AttentionMap(out, [token_label(lm.tokenizer, i) for i in ids], ids, total - T, total)


def within_context(context: int, ids: list[int], position: int = -1) -> tuple[list[int], int]:
    """ids cut to their last `context` tokens (what the model can read in one pass), and where
    `position` (an index into ids, negative from the end) falls in the cut."""
    cut = max(0, len(ids) - context)
    if position >= 0:
        if position < cut:
            raise ValueError(f"this token is more than {context} tokens (the model's context) before the end "
                             "of the conversation")
        position -= cut
    return list(ids)[cut:], position


def _zeros(shape: tuple[int, ...], dtype) -> np.ndarray:
    """A zeroed array; a large one in an anonymous mapping of its own, with ordinary 4 KiB pages.
    (numpy asks the kernel for huge pages for big arrays, and faulting those in stalls for up to
    ~150 ms here while the kernel compacts memory; plain pages cost a steady ~40 ms per 140 MB.)"""
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if n < 1 << 24:
        return np.zeros(shape, dtype)
    if hasattr(mmap, "MAP_POPULATE"):  # Linux: the kernel maps every page at once (88 → 46 ms for 141 MB here)
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE
        return np.frombuffer(mmap.mmap(-1, n, flags=flags), dtype=dtype).reshape(shape)
    return np.frombuffer(mmap.mmap(-1, n), dtype=dtype).reshape(shape)


@torch.inference_mode()
def logit_lens(lm, ids: list[int], position: int = -1, k: int = 5) -> list[list[tuple[int, float]]]:
    """For each layer's residual stream at `position` (embedding first, last layer last): the k
    tokens it would predict if it went straight through the final norm and the unembedding. A
    conversation longer than the model's context is read by its last context's worth of tokens."""
    ids, position = within_context(lm.config.max_seq_len, ids, position)
    _, extra = lm.model(torch.tensor([ids], device=lm.model.device), use_cache=False, return_hidden=True)
    rows = []
    for h in extra["hidden"]:
        logits = lm.model.unembed(h[0, position])
        probs = torch.softmax(logits.float(), dim=-1)
        v, i = probs.topk(k)
        rows.append([(int(a), float(b)) for a, b in zip(i.tolist(), v.tolist())])
    return rows
