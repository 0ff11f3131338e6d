"""The key/value cache: one type for every model we run, and one way to grow it.

Attention at position t needs the keys and values of every earlier position. Decoding one
token at a time, we keep them instead of recomputing them: `update()` writes the new
positions and hands back everything so far. The buffers are preallocated for `max_len`
positions; when a reply outgrows them, `reserve()` reallocates (doubling, up to the model's
context) and copies what is held, so a short chat stays small and a long one never stops.

Layout (L, B, nkv, S, hs): layer, batch, key/value head, position, head size. The native
kernels read and write this same layout (bfloat16 on the fast path), so either path can
continue the other's work.
"""

from __future__ import annotations

import torch
from torch import nn


class KVCache(nn.Module):
    """Keys and values of every layer for the positions seen so far."""

    def __init__(self, n_layers: int, batch: int, n_kv: int, max_len: int, hs: int,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):
        super().__init__()
        shape = (n_layers, batch, n_kv, max_len, hs)  # (L, B, nkv, S, hs)
        self.register_buffer("k", torch.zeros(shape, dtype=dtype, device=device), persistent=False)
        self.register_buffer("v", torch.zeros(shape, dtype=dtype, device=device), persistent=False)

    @property
    def max_len(self) -> int:
        return self.k.shape[3]

    def update(self, layer: int, start: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store k, v (B, nkv, T, hs) at positions start..start+T; return keys and values (B, nkv, S, hs)
        of positions 0..start+T."""
        end = start + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"context full: position {end} is past the cache length {self.max_len}")
        self.k[layer, :, :, start:end] = k
        self.v[layer, :, :, start:end] = v
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]

    def reserve(self, need: int, limit: int) -> bool:
        """Make room for `need` positions: reallocate to max(need, twice the length), at most `limit`,
        keeping every position held. Returns whether it grew."""
        if need <= self.max_len:
            return False
        if need > limit:
            raise ValueError(f"context full: {need} positions, the model holds {limit}")
        new_len = min(limit, max(need, 2 * self.max_len))
        for name in ("k", "v"):
            old = getattr(self, name)
            new = old.new_zeros(*old.shape[:3], new_len, old.shape[4])
            new[:, :, :, : old.shape[3]] = old
            setattr(self, name, new)  # a registered buffer: nn.Module replaces it in place
        return True
