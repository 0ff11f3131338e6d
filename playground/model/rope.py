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


def rope_inv_freq(cfg: ModelConfig, local: bool = False, long: bool = False) -> tuple[torch.Tensor, float]:
    """Inverse frequencies (rd/2,) and the cos/sin scale ("attention factor") for RoPE, where rd is
    the number of coordinates turned (the head size, or Phi's partial rotary_dim).

    Plain RoPE rotates pair i of each head by position * theta^(-2i/rd). The scaling variants
    stretch the slow (long-wavelength) pairs so a model reaches past its training context:
    "linear" divides every frequency, "llama3" only the low ones with a smooth ramp between,
    "yarn" blends interpolated and extrapolated frequencies and rescales cos/sin, "longrope"
    (Phi-3) divides each frequency by its own factor, one set for short sequences and one (`long`)
    past the training length. `local`: the sliding layers' own unscaled base (Gemma 3).
    """
    hs = cfg.rotary_dim or cfg.head_dim
    theta = cfg.rope_local_theta if local else cfg.rope_theta
    inv_freq = 1.0 / (theta ** (torch.arange(0, hs, 2, dtype=torch.float64) / hs))
    sc = {} if local else dict(cfg.rope_scaling or {})
    kind = sc.get("rope_type", sc.get("type", "default"))
    attention_factor = 1.0
    if kind in (None, "default"):
        pass
    elif kind in ("longrope", "su"):
        orig = sc["original_max_position_embeddings"]
        factors = torch.tensor(sc["long_factor" if long else "short_factor"], dtype=torch.float64)
        if factors.numel() != hs // 2:
            raise ValueError(f"longrope has {factors.numel()} factors for {hs // 2} frequencies")
        inv_freq = (1.0 / (factors * theta ** (torch.arange(0, hs, 2, dtype=torch.float64) / hs)))
        attention_factor = sc.get("attention_factor")
        if attention_factor is None:
            factor = sc.get("factor") or cfg.max_seq_len / orig
            attention_factor = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(orig))
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
        raise ValueError(f"unsupported RoPE scaling type {kind!r} (supported: linear, llama3, yarn, longrope)")
    return inv_freq.float(), float(attention_factor)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(x1, x2) → (-x2, x1) over the last dimension: the 90° turn of every pair."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (..., T, hs) rotated by the table rows cos, sin (T, rd): x·cos + rotate_half(x)·sin on the
    first rd coordinates (all of them, unless the model turns only part of each head)."""
    rd = cos.shape[-1]
    if rd == x.shape[-1]:
        return x * cos + rotate_half(x) * sin
    xr, rest = x[..., :rd], x[..., rd:]
    return torch.cat((xr * cos + rotate_half(xr) * sin, rest), dim=-1)


def make_rotary(cfg: ModelConfig, local: bool = False, freq_factors: torch.Tensor | None = None) -> Rotary:
    """The RoPE table of a model (or of its sliding layers, `local`). freq_factors: per-frequency
    divisors some GGUF files store instead of a scaling type (Llama 3.1's rope_freqs)."""
    inv_freq, scale = rope_inv_freq(cfg, local)
    if freq_factors is not None and not local:
        inv_freq = inv_freq / freq_factors.float()
    sc = {} if local else (cfg.rope_scaling or {})
    long = None
    if sc.get("rope_type", sc.get("type")) in ("longrope", "su"):
        long = rope_inv_freq(cfg, long=True)[0], int(sc["original_max_position_embeddings"])
    return Rotary(inv_freq, scale, cfg.max_seq_len, long)


class Rotary:
    """cos and sin of position × frequency for positions 0..n, as (n, rd) tables [c, c] and [s, s]
    (already multiplied by the scaling's attention factor), computed once and extended on demand.
    `long` (longrope): other frequencies, used for every position of a pass that reaches past
    `switch_at` positions (as Hugging Face does)."""

    def __init__(self, inv_freq: torch.Tensor, scale: float = 1.0, limit: int | None = None,
                 long: tuple[torch.Tensor, int] | None = None):
        self.inv_freq = inv_freq.float().contiguous()  # (rd/2,)
        self.scale = float(scale)
        self.limit = limit  # the most positions ever asked for (the model's context)
        self.long = None if long is None else (Rotary(long[0], scale, limit), long[1])
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
        """Rows start..start+T of (cos, sin), each (T, rd), in dtype."""
        if self.long is not None and start + T > self.long[1]:
            return self.long[0].table(start, T, dtype)
        self.ensure(start + T)
        if dtype == torch.float32:
            return self.cos[start : start + T], self.sin[start : start + T]
        if dtype not in self._dtype_cache:
            self._dtype_cache[dtype] = self.cos.to(dtype), self.sin.to(dtype)
        cos, sin = self._dtype_cache[dtype]
        return cos[start : start + T], sin[start : start + T]

    def to(self, device: torch.device | str) -> Rotary:
        """The same table on another device."""
        long = None if self.long is None else (self.long[0].inv_freq.to(device), self.long[1])
        return Rotary(self.inv_freq.to(device), self.scale, self.limit, long)
