"""Rotary position embeddings (RoPE): the frequencies, their scaling variants, one table.

RoPE encodes a token's position by rotating pairs of query and key coordinates by an angle
proportional to the position, so the dot product of a query and a key depends only on how far
apart they are. Pair i of a head of size hs turns at the frequency theta^(-2i/hs). Like Hugging
Face (and unlike llama.cpp's converter layout), we pair coordinate i with i + hs/2 ("rotate the
two halves"); the GGUF loader undoes the converter's row permutation.

`Rotary` keeps one table of cos and sin per position, computed once in float32 and extended as
the context grows; the reference model and the fast path both read it.
"""

from __future__ import annotations

import math

import torch

from .config import ModelConfig


def rope_inv_freq(cfg: ModelConfig) -> tuple[torch.Tensor, float]:
    """Inverse frequencies (hs/2,) and the cos/sin scale ("attention factor") for RoPE.

    Plain RoPE rotates pair i of each head by position * theta^(-2i/hs). The scaling variants
    stretch the slow (long-wavelength) pairs so a model reaches past its training context:
    "linear" divides every frequency, "llama3" only the low ones with a smooth ramp between,
    "yarn" blends interpolated and extrapolated frequencies and rescales cos/sin.
    """
    hs = cfg.head_dim
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, hs, 2, dtype=torch.float64) / hs))
    sc = dict(cfg.rope_scaling or {})
    kind = sc.get("rope_type", sc.get("type", "default"))
    attention_factor = 1.0
    if kind in (None, "default"):
        pass
    elif kind == "linear":
        inv_freq = inv_freq / sc["factor"]
    elif kind == "llama3":
        factor, lo, hi = sc["factor"], sc["low_freq_factor"], sc["high_freq_factor"]
        old_ctx = sc["original_max_position_embeddings"]
        lo_wavelen, hi_wavelen = old_ctx / lo, old_ctx / hi
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > lo_wavelen, inv_freq / factor, inv_freq)
        smooth = (old_ctx / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= hi_wavelen) & (wavelen <= lo_wavelen)
        inv_freq = torch.where(medium, smoothed, scaled)
    elif kind == "yarn":
        factor = sc.get("factor") or cfg.max_seq_len / sc["original_max_position_embeddings"]
        orig = sc.get("original_max_position_embeddings") or cfg.max_seq_len
        beta_fast, beta_slow = sc.get("beta_fast") or 32, sc.get("beta_slow") or 1

        def mscale(scale: float, m: float = 1.0) -> float:
            return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

        attention_factor = sc.get("attention_factor")
        if attention_factor is None:
            if sc.get("mscale") and sc.get("mscale_all_dim"):
                attention_factor = mscale(factor, sc["mscale"]) / mscale(factor, sc["mscale_all_dim"])
            else:
                attention_factor = mscale(factor)

        def correction_dim(rot: float) -> float:
            return (hs * math.log(orig / (rot * 2 * math.pi))) / (2 * math.log(cfg.rope_theta))

        low, high = correction_dim(beta_fast), correction_dim(beta_slow)
        if sc.get("truncate", True):
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, hs - 1)
        if low == high:
            high += 0.001
        ramp = ((torch.arange(hs // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)
        extrapolation = 1 - ramp
        inv_freq = (inv_freq / factor) * (1 - extrapolation) + inv_freq * extrapolation
    else:
        raise ValueError(f"unsupported RoPE scaling type {kind!r} (supported: linear, llama3, yarn)")
    return inv_freq.float(), float(attention_factor)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(x1, x2) → (-x2, x1) over the last dimension: the 90° turn of every pair."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (..., T, hs) rotated by the table rows cos, sin (T, hs): x·cos + rotate_half(x)·sin."""
    return x * cos + rotate_half(x) * sin


class Rotary:
    """cos and sin of position × frequency for positions 0..n, as (n, hs) tables [c, c] and [s, s]
    (already multiplied by the scaling's attention factor), computed once and extended on demand."""

    def __init__(self, inv_freq: torch.Tensor, scale: float = 1.0, limit: int | None = None):
        self.inv_freq = inv_freq.float().contiguous()  # (hs/2,)
        self.scale = float(scale)
        self.limit = limit  # the most positions ever asked for (the model's context)
        self.cos = self.sin = torch.empty(0, 2 * self.inv_freq.numel())
        self._dtype_cache: dict[torch.dtype, tuple[torch.Tensor, torch.Tensor]] = {}

    def __len__(self) -> int:
        return self.cos.shape[0]

    def ensure(self, n: int) -> None:
        """Have the table cover positions 0..n-1 (grown in doublings, so a long chat rebuilds it rarely)."""
        if n <= len(self):
            return
        n = max(n, 2 * len(self), 256)
        if self.limit:
            n = max(min(n, self.limit), 1)
        pos = torch.arange(n, dtype=torch.float32, device=self.inv_freq.device)
        freqs = torch.outer(pos, self.inv_freq)  # (n, hs/2)
        emb = torch.cat((freqs, freqs), dim=-1)  # (n, hs)
        self.cos, self.sin = emb.cos() * self.scale, emb.sin() * self.scale
        self._dtype_cache = {}

    def table(self, start: int, T: int, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows start..start+T of (cos, sin), each (T, hs), in dtype."""
        self.ensure(start + T)
        if dtype == torch.float32:
            return self.cos[start : start + T], self.sin[start : start + T]
        if dtype not in self._dtype_cache:
            self._dtype_cache[dtype] = self.cos.to(dtype), self.sin.to(dtype)
        cos, sin = self._dtype_cache[dtype]
        return cos[start : start + T], sin[start : start + T]

    def to(self, device: torch.device | str) -> Rotary:
        """The same table on another device."""
        return Rotary(self.inv_freq.to(device), self.scale, self.limit)
