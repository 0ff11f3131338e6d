"""Weight-only quantized linear layers for the fast CPU path.

Decoding one token reads every weight once, so it wants few bytes per weight and few steps per
token. Weights keep the file's own quantization, split into arrays, in groups of 32 along a row:
- "q4": w = d·q + m with q in 0..15 (GGUF Q4_1 as is; Q4_0's w = d·(q - 8) is m = -8d), the 16
  bytes of a group holding element i in the low nibble and i + 16 in the high one, as GGUF does;
- "q8": w = d·q with q int8 (GGUF Q8_0 as is; every other type is requantized to it);
d and m are float16, as the file has them (so Q4_1 costs 20 bytes per 32 weights, not 24).
Products with a few rows go to the native kernels (`native/`, built with the package) when present, else to
PyTorch's int4/int8 CPU kernels (converted on first use); wide products (prefill) dequantize to
bfloat16 and use a dense matrix product.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np
import torch
from torch import nn

from . import native

GROUP = 32
# From this many rows (tokens) on, a product dequantizes the weight to bfloat16 and runs a dense
# matmul (AMX/AVX-512 where the CPU has them). Measured break-evens on SmolLM2, 2 cores: 64 against
# PyTorch's int4 kernel; 32 against the native kernels, whose dequantization is also much faster.
PREFILL_ROWS = 64
NATIVE_DENSE_ROWS = 32


def dense_from_rows() -> int:
    return NATIVE_DENSE_ROWS if native.library() is not None else PREFILL_ROWS


# A wide product's dequantized weight lives only for that product, so each thread reuses one buffer
# for all of them instead of asking for a fresh one per matrix: a fresh multi-megabyte block comes
# from the OS (mmap), and faulting its pages in cost more than the dequantization itself (SmolLM2
# Q4_K_M, 512-token prefill on 2 cores: ~1,000-1,100 → ~1,350-1,400 tok/s). Matrices bigger than
# SCRATCH_MAX (an output layer with a large vocabulary) still get their own, so an idle thread
# holds at most this much.
SCRATCH_MAX = 32 << 20  # bytes
_scratch = threading.local()


def bf16_scratch(rows: int, cols: int) -> torch.Tensor:
    """An uninitialized bfloat16 (rows, cols) matrix: this thread's reusable buffer when it fits in
    SCRATCH_MAX, else a fresh one. Valid until the same thread asks again."""
    n = rows * cols
    if 2 * n > SCRATCH_MAX:
        return torch.empty(rows, cols, dtype=torch.bfloat16)
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.numel() < n:
        buf = _scratch.buf = torch.empty(n, dtype=torch.bfloat16)
    return buf[:n].view(rows, cols)


def q4_blocks(raw: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GGUF Q4_0/Q4_1 bytes (rows, blocks·bytes) → (qs uint8 (rows, in/2), d, m float16 (rows, in/32))."""
    size = 20 if kind == "Q4_1" else 18
    rows = raw.shape[0]
    blocks = np.ascontiguousarray(raw).reshape(rows, -1, size)  # (rows, nb, size)
    d = np.ascontiguousarray(blocks[..., 0:2]).view(np.float16)[..., 0]
    if kind == "Q4_1":
        m = np.ascontiguousarray(blocks[..., 2:4]).view(np.float16)[..., 0]
        qs = blocks[..., 4:]
    else:
        m = d * np.float16(-8)  # exact: a power of two
        qs = blocks[..., 2:]
    return np.ascontiguousarray(qs).reshape(rows, -1), d, m


def q8_0_blocks(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GGUF Q8_0 bytes (rows, blocks·34) → (qs int8 (rows, in), d float16 (rows, in/32))."""
    rows = raw.shape[0]
    blocks = np.ascontiguousarray(raw).reshape(rows, -1, 34)
    d = np.ascontiguousarray(blocks[..., 0:2]).view(np.float16)[..., 0]
    return np.ascontiguousarray(blocks[..., 2:]).view(np.int8).reshape(rows, -1), d


def _fresh_bf16(rows: int, cols: int) -> torch.Tensor:
    return torch.empty(rows, cols, dtype=torch.bfloat16)


def float_to_q8(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 per group of 32, as Q8_0: w ≈ q · d[group], d float16."""
    rows, cols = w.shape
    g = w.float().reshape(rows, cols // GROUP, GROUP)
    d = (g.abs().amax(-1) / 127.0).clamp_max(65504).half()
    q = torch.round(g / d.float().clamp_min(1e-30)[..., None]).clamp_(-127, 127).to(torch.int8)
    return q.reshape(rows, cols), d


def float_to_int8(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-row int8: w ≈ q · scale[row] (PyTorch's int8 kernel takes one scale per row)."""
    w = w.float()
    scale = (w.abs().amax(dim=1) / 127.0).clamp_min(1e-12)
    q = torch.round(w / scale[:, None]).clamp_(-127, 127).to(torch.int8)
    return q, scale


def _t(a) -> torch.Tensor:
    return a if isinstance(a, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(a))


class QLinear(nn.Module):
    """A linear layer (no bias unless given) over "q4" or "q8" groups of 32 (see the module doc)."""

    def __init__(self, kind: str, qs, d, m=None, bias: torch.Tensor | None = None):
        super().__init__()
        if kind not in ("q4", "q8"):
            raise ValueError(f"unknown quantization {kind!r}")
        qs, d = _t(qs).contiguous(), _t(d).half().contiguous()
        out_f, nb = d.shape
        in_f = nb * GROUP
        if qs.shape != (out_f, in_f // 2 if kind == "q4" else in_f) or (kind == "q4") != (m is not None):
            raise ValueError("quantized weight arrays disagree in shape")
        self.kind, self.out_features, self.in_features = kind, out_f, in_f
        self.register_buffer("qs", qs.view(torch.uint8) if kind == "q4" else qs.view(torch.int8))
        self.register_buffer("d", d)
        self.register_buffer("m", None if m is None else _t(m).half().contiguous())
        self.register_buffer("bias", None if bias is None else bias.float().contiguous())
        self._bf16 = None  # d and m in bfloat16 for the dense path
        self._torch_kernel = None
        self._mat = None
        self.precise = False  # one token's x as two int8 roundings in the native kernels (engine.c)

    @classmethod
    def from_float(cls, w: torch.Tensor, bias=None) -> QLinear:
        return cls("q8", *float_to_q8(w), bias=bias)

    def extra_repr(self) -> str:
        return f"{self.kind}, in={self.in_features}, out={self.out_features}, bias={self.bias is not None}"

    # -- the weight, whole -----------------------------------------------------------------------------
    def _groups(self, idx: torch.Tensor | None = None) -> torch.Tensor:
        """q per element as (rows, in/32, 32), in the layer's element order, for rows idx (default all)."""
        n, nb = self.d.shape
        g = self.qs.view(n, nb, 16 if self.kind == "q4" else GROUP)
        g = g if idx is None else g[idx]
        return torch.cat((g & 0x0F, g >> 4), dim=-1) if self.kind == "q4" else g

    def dense(self, scratch: bool = False) -> torch.Tensor:
        """The weight as a bfloat16 (out, in) matrix, computed on the fly (scratch: in this thread's
        reusable buffer, valid until its next wide product; see bf16_scratch)."""
        lib = native.library()
        if lib is not None and self.d.device.type == "cpu":  # one native pass: 5-10× PyTorch's ops
            w = (bf16_scratch if scratch else _fresh_bf16)(self.out_features, self.in_features)
            if lib.pg_dequant_bf16(ctypes.byref(self.mat()), w.data_ptr()) == 0:
                return w
        if self._bf16 is None:
            m = None if self.m is None else self.m.to(torch.bfloat16)[..., None]
            self._bf16 = self.d.to(torch.bfloat16)[..., None], m
        d, m = self._bf16
        w = self._groups().to(torch.bfloat16).mul_(d)
        if m is not None:
            w.add_(m)
        return w.view(self.out_features, self.in_features)

    def dequantized(self) -> torch.Tensor:
        """The exact float32 weight this layer stands for (tests, teaching views)."""
        return self.rows()

    def rows(self, idx: torch.Tensor | None = None) -> torch.Tensor:
        """Rows idx of the weight in float32 (an embedding lookup; default all rows)."""
        pick = (lambda t: t) if idx is None else (lambda t: t[idx])
        w = self._groups(idx).float() * pick(self.d).float()[..., None]
        if self.m is not None:
            w = w + pick(self.m).float()[..., None]
        return w.reshape(*w.shape[:-2], self.in_features)

    # -- products ---------------------------------------------------------------------------------------
    def mat(self):
        """This layer as the native kernels' pg_mat (it points into this module's buffers)."""
        if self._mat is None:
            def ptr(t):
                return None if t is None else t.data_ptr()

            self._mat = native.Mat(native.Q4 if self.kind == "q4" else native.Q8, self.out_features,
                                   self.in_features, ptr(self.d), ptr(self.m), ptr(self.qs), ptr(self.bias))
        self._mat.precise = int(self.precise)
        return self._mat

    def torch_kernel(self):
        """x (rows, in) bfloat16 → x Wᵀ (+ b) through PyTorch's int4/int8 CPU kernels (built on first use)."""
        if self._torch_kernel is None:
            b = None if self.bias is None else self.bias.to(torch.bfloat16)
            if self.kind == "q4":
                q = self._groups().to(torch.int32).reshape(self.out_features, self.in_features)
                packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(q.contiguous(), 1)
                # PyTorch's int4 is (q - 8)·scale + zero
                d, m = self.d.float(), self.m.float()
                sz = torch.stack((d, m + 8 * d), -1).transpose(0, 1).to(torch.bfloat16).contiguous()
                op = torch.ops.aten._weight_int4pack_mm_for_cpu

                def fn(x):
                    return op(x, packed, GROUP, sz)
            else:  # one scale per row; a few thousand rows at a time (no float32 copy of the whole matrix)
                q = torch.empty(self.out_features, self.in_features, dtype=torch.int8)
                scale = torch.empty(self.out_features)
                for a in range(0, self.out_features, 4096):
                    rows = torch.arange(a, min(a + 4096, self.out_features))
                    q[rows], scale[rows] = float_to_int8(self.rows(rows))
                scale = scale.to(torch.bfloat16)
                op = torch.ops.aten._weight_int8pack_mm

                def fn(x):
                    return op(x, q, scale)
            self._torch_kernel = fn if b is None else (lambda x: fn(x) + b)
        return self._torch_kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            return self.forward(x.reshape(-1, self.in_features)).reshape(*x.shape[:-1], self.out_features)
        if x.shape[0] >= dense_from_rows():  # wide products: a dense bfloat16 matmul is far faster
            y = torch.nn.functional.linear(x.to(torch.bfloat16), self.dense(scratch=True))
            return (y if self.bias is None else y + self.bias.to(y.dtype)).to(x.dtype)
        lib = native.library()
        if lib is not None and x.device.type == "cpu":
            xf = x.float().contiguous()
            y = torch.empty(x.shape[0], self.out_features)
            if lib.pg_gemm(ctypes.byref(self.mat()), xf.data_ptr(), xf.shape[0], y.data_ptr()):
                raise RuntimeError("the native product refused its arguments")
            return y.to(x.dtype)
        return self.torch_kernel()(x.to(torch.bfloat16)).to(x.dtype)
