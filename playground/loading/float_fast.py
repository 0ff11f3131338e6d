"""Float checkpoints (Hugging Face folders, Studio checkpoints, float GGUFs) on the fast path.

The fast engine (`model.fast.FastLlama`) and the native kernels run on blocks of 32 weights.
A float checkpoint gets there in one of two ways:
- "auto": each matrix is quantized at load to 8-bit blocks exactly as llama.cpp's converter
  computes Q8_0: per block d = max|w| / 127 (stored as float16) and q = round(w / d) rounded half
  away from zero, in float32 arithmetic (bit-for-bit what `gguf.quants` writes, so a Q8_0 GGUF
  made from the same weights holds the same blocks);
- "exact" (bfloat16 and float16 matrices): the stored values are the kernels' BF16/F16 rows as
  they are (model/blocklinear.py, as a BF16/F16 GGUF's), copied once out of the file's pages,
  bit for bit. The copy (rather than views into the mapping) keeps the model independent of the
  file: a checkpoint rewritten or truncated while it is loaded cannot change or fault its weights,
  and Windows does not keep the file locked. Peak memory is the same (mapped pages count too).

The work is done a few thousand rows at a time straight into the layer's arrays (fused q/k/v
and gate/up are written in place, never concatenated), and each layer's file pages are dropped
once converted, so a load holds the converted weights plus one layer of the file at a time.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..model.config import ModelConfig
from ._heap import trim

GROUP = 32
CHUNK_ELEMENTS = 1 << 21  # rows per conversion step: about 8 MB of float32 at a time
# The float32 just below ½. For every float32 x with |x| ≤ 127.6, C's roundf(x) (half away from
# zero) equals trunc(x + sign(x) · HALF_DOWN); with ½ itself, x = 0.49999997 would round to 1.
# Checked against roundf for all 2.25e9 float32 values in that range; |w / d| ≤ 127 here.
HALF_DOWN = 0.49999997


class Scratch:
    """Two float32 working buffers of CHUNK_ELEMENTS, shared by every matrix of a load (so the
    conversion allocates nothing per step and leaves nothing on the heap to trim)."""

    def __init__(self):
        self.bufs = [torch.empty(CHUNK_ELEMENTS) for _ in range(2)]

    def views(self, rows: int, cols: int) -> list[torch.Tensor]:
        return [b[: rows * cols].view(rows, cols) for b in self.bufs]


def q8_0_into(w: torch.Tensor, qs: torch.Tensor, d: torch.Tensor, scratch: Scratch | None = None) -> None:
    """Quantize w (rows, cols), any float dtype, into qs int8 (rows, cols) and d float16 (rows, cols/32).

    A few thousand rows at a time in two reused float32 buffers (w itself is never written, and
    nothing is allocated per step): x = w / d per block, then roundf(x) as x + sign(x) · HALF_DOWN
    truncated by the int8 cast: six passes over the data in all."""
    rows, cols = w.shape
    nb = cols // GROUP
    step = max(1, min(rows, CHUNK_ELEMENTS // cols))
    if step * cols > CHUNK_ELEMENTS:  # a row longer than a chunk: buffers of its own
        x_buf, s_buf = torch.empty(step, cols), torch.empty(step, cols)
    else:
        x_buf, s_buf = (scratch or Scratch()).views(step, cols)
    for r0 in range(0, rows, step):
        part = w[r0 : r0 + step]
        n = part.shape[0]
        x = x_buf[:n].copy_(part)
        lo, hi = torch.aminmax(x.view(n, nb, GROUP), dim=-1)
        scale = torch.maximum(hi, lo.neg_()).abs_().div_(127)  # (n, nb): max|w| / 127 (abs_: never -0)
        inv = torch.where(scale == 0, torch.zeros_like(scale), 1 / scale)
        x.view(n, nb, GROUP).mul_(inv[..., None])
        x.add_(torch.sign(x, out=s_buf[:n]), alpha=HALF_DOWN)  # round half away from zero...
        qs[r0 : r0 + n].copy_(x)  # ...as the cast to int8 truncates toward zero
        d[r0 : r0 + n].copy_(scale)


def q8_linear(parts: list[torch.Tensor], bias: torch.Tensor | None = None, scratch: Scratch | None = None):
    """One QLinear from the row-concatenation of float matrices (fused q/k/v, gate/up)."""
    from ..model.quant import QLinear

    cols = parts[0].shape[1]
    rows = sum(p.shape[0] for p in parts)
    qs = torch.empty(rows, cols, dtype=torch.int8)
    d = torch.empty(rows, cols // GROUP, dtype=torch.float16)
    r = 0
    for p in parts:
        q8_0_into(p, qs[r : r + p.shape[0]], d[r : r + p.shape[0]], scratch)
        r += p.shape[0]
    return QLinear("q8", qs, d, bias=bias)


# the float types the native kernels read as stored (their GGUF names)
STORED_KINDS = {torch.bfloat16: "BF16", torch.float16: "F16"}


def stored_linear(parts: list[torch.Tensor], bias: torch.Tensor | None = None):
    """One product over the row-concatenation of bfloat16/float16 matrices, their values kept bit for
    bit as the kernels' BF16/F16 rows (one copy, written in place). Parts of different types stay
    separate products side by side (blocklinear.Parts), as a GGUF's mixed q/k/v do."""
    from ..model.blocklinear import BlockLinear, Parts

    if len({p.dtype for p in parts}) > 1:
        biases = list(torch.split(bias, [p.shape[0] for p in parts])) if bias is not None else [None] * len(parts)
        return Parts([stored_linear([p], b) for p, b in zip(parts, biases)])
    dtype, cols = parts[0].dtype, parts[0].shape[1]
    if dtype not in STORED_KINDS:
        raise TypeError(f"{dtype} weights are not a type the native kernels read as stored")
    w = torch.empty(sum(p.shape[0] for p in parts), cols, dtype=dtype)
    torch.cat(parts, out=w)
    return BlockLinear(STORED_KINDS[dtype], w.view(torch.uint8), cols, bias=bias)


def fast_model_from_float(cfg: ModelConfig, state: dict, get: Callable[[str], torch.Tensor],
                          done: Callable[[int], None] = lambda i: None,
                          progress: Callable[[float], None] | None = None,
                          freq_factors: torch.Tensor | None = None, as_stored: bool = False):
    """A FastLlama from float weights under our Transformer's parameter names (any "llama"-shaped
    family: every norm the state has, q/k norms and sandwich norms included, goes in as float32;
    the products as Q8_0 blocks, or with as_stored their bfloat16/float16 values as they are).

    state: the names available; get(name) reads one (lazily); done(i) is called once layer i is
    converted (the caller drops its file pages; i = -1 after the embedding and output); progress
    gets 0..1."""
    from ..model.fast import FastLlama

    sc = Scratch()

    def product(names, bias=None):
        if as_stored:
            return stored_linear([get(n) for n in names], bias)
        return q8_linear([get(n) for n in names], bias, sc)

    def vec(name: str) -> torch.Tensor:
        return get(name).to(torch.float32).clone()

    products = {"attention.wq", "attention.wk", "attention.wv", "attention.wo", "feed_forward.w1",
                "feed_forward.w3", "feed_forward.w2"}
    parts: dict = {}
    for i in range(cfg.n_layers):
        L = f"layers.{i}."
        a, m = L + "attention.", L + "feed_forward."
        bias = None
        if cfg.qkv_bias:
            bias = torch.cat([get(a + f"{n}.bias").to(torch.float32) for n in ("wq", "wk", "wv")])
        parts[a + "wqkv"] = product([a + "wq.weight", a + "wk.weight", a + "wv.weight"], bias)
        parts[a + "wo"] = product([a + "wo.weight"])
        parts[m + "w13"] = product([m + "w1.weight", m + "w3.weight"])
        parts[m + "w2"] = product([m + "w2.weight"])
        for name in state:
            if name.startswith(L) and name.rpartition(".")[0][len(L):] not in products:
                parts[name] = vec(name)  # the layer's norms
        done(i)
        if progress:
            progress((i + 1) / (cfg.n_layers + 2))
    parts["tok_embeddings"] = product(["tok_embeddings.weight"])
    if not cfg.tie_embeddings:
        parts["output"] = product(["output.weight"])
    parts["norm.weight"] = vec("norm.weight")
    done(-1)
    sc.bufs.clear()  # the working buffers go before the heap is trimmed
    trim()
    if progress:
        progress(1.0)
    return FastLlama(cfg, parts, freq_factors)
