"""Looking inside the model (no Qt): attention maps, the logit lens, readable token labels.

Attention comes from a separate forward pass over the conversation's tokens with the
written-out attention path (`need_weights=True`), so generation keeps its fast path and pays
nothing. Results are numpy arrays and strings: what the UI may hold.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class AttentionMap:
    weights: np.ndarray  # (layers, heads, query, key) float32; the future (key > query) is 0
    labels: list[str]  # one readable label per token
    token_ids: list[int]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.weights.shape


def token_label(tokenizer, token_id: int) -> str:
    """How a token reads: its own text, with spaces as '·', newlines '↵', tabs '→'."""
    return tokenizer.label(token_id)


@torch.inference_mode()
def attention_maps(lm, ids: list[int], max_tokens: int = 4096) -> AttentionMap:
    """Every layer's and head's attention over ids, as float16 (half the memory; the values
    are probabilities, where float16's 3 significant digits are plenty for a heatmap)."""
    ids = list(ids)[-max_tokens:]
    cfg = lm.config
    T = len(ids)
    out = _zeros((cfg.n_layers, cfg.n_heads, T, T), np.float16)

    def sink(layer: int, w: torch.Tensor) -> None:
        torch.from_numpy(out[layer]).copy_(w[0])  # converts to float16 straight into the array

    lm.model(torch.tensor([ids], device=lm.model.device), use_cache=False, need_weights=sink, last_only=True)
    return AttentionMap(out, [token_label(lm.tokenizer, i) for i in ids], ids)


def _zeros(shape: tuple[int, ...], dtype) -> np.ndarray:
    """A zeroed array; a large one in an anonymous mapping of its own, with ordinary 4 KiB pages.
    (numpy asks the kernel for huge pages for big arrays, and faulting those in stalls for up to
    ~150 ms here while the kernel compacts memory; plain pages cost a steady ~40 ms per 140 MB.)"""
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if n < 1 << 24:
        return np.zeros(shape, dtype)
    return np.frombuffer(mmap.mmap(-1, n), dtype=dtype).reshape(shape)


@torch.inference_mode()
def logit_lens(lm, ids: list[int], position: int = -1, k: int = 5) -> list[list[tuple[int, float]]]:
    """For each layer's residual stream at `position` (embedding first, last layer last): the k
    tokens it would predict if it went straight through the final norm and the unembedding."""
    _, extra = lm.model(torch.tensor([ids], device=lm.model.device), use_cache=False, return_hidden=True)
    rows = []
    for h in extra["hidden"]:
        logits = lm.model.unembed(h[0, position])
        probs = torch.softmax(logits.float(), dim=-1)
        v, i = probs.topk(k)
        rows.append([(int(a), float(b)) for a, b in zip(i.tolist(), v.tolist())])
    return rows
