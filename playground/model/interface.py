"""`CausalLM`: the one interface every local model implements, and all that generation knows.

Two models implement it: the readable reference (`transformer.Transformer`, float32 or any
torch dtype, any device) and the fast CPU path (`fast.FastLlama`, quantized weights and native
kernels). `engine.generate`, the inspector (attention maps, logit lens) and replay depend on this
protocol only, never on a concrete class, so a new backend plugs in by implementing it.

A forward pass reads and writes the model's `KVCache` (`cache.py`): `setup_cache(n)` allocates
it for n positions, and a forward pass past its end grows it (`KVCache.reserve`, the one grow
routine), so a reply may run longer than first planned.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch

from .cache import KVCache
from .config import ModelConfig


@runtime_checkable
class CausalLM(Protocol):
    config: ModelConfig
    cache: KVCache | None  # the conversation's keys and values (None until setup_cache)

    @property
    def device(self) -> torch.device:
        """Where the model's tensors live (token ids go there)."""

    def setup_cache(self, max_len: int | None = None, batch: int = 1) -> KVCache:
        """A fresh, empty cache for max_len positions (default: the whole context), held in `cache`."""

    def __call__(self, idx: torch.Tensor, start: int = 0, use_cache: bool = False, need_weights: Any = False,
                 return_hidden: bool = False, last_only: bool = False) -> Any:
        """Logits (B, T, vocab) for tokens idx (B, T) at positions start..start+T.

        use_cache: read and write `cache` (growing it when the positions pass its end); without it,
        a one-off pass from position 0 that leaves the cache alone. last_only: only the last
        position's logits (B, 1, vocab). need_weights (True, or a callable sink(layer, weights,
        first_head)) and return_hidden: also return a dict with "attentions" (per layer, (B, nh, T, S)
        probabilities) and "hidden" (the residual stream after the embedding and after each layer).
        """

    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        """The residual stream's first value for tokens idx (..., C): the embedding (scaled where the
        architecture scales it)."""

    def unembed(self, h: torch.Tensor) -> torch.Tensor:
        """Logits (..., vocab) in float32 for residual-stream vectors h (..., C): the final norm, then the
        output layer, exactly as the forward pass ends (the logit lens)."""

    def runs_own_threads(self) -> bool:
        """True when forward passes run on the model's own worker threads (the native kernels): PyTorch's
        threads should then stay at one between passes, or they compete for the cores."""

    def describe(self) -> str:
        """Which code runs the model, in a few words for the status bar ("fast · native avx512/vnni")."""
