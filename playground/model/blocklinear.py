"""GGUF's block formats kept exactly as the file stores them: Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, Q3_K,
Q2_K, IQ4_NL, IQ4_XS, F16 and BF16 weights, row after row of raw blocks (native/blocks.h says how
each is read). Nothing is converted at load: the layer holds the file's bytes.

Products go to the native kernels (one token as int8, a few tokens as float32, wide products
through a bfloat16 copy they dequantize in one pass). Where the kernels are missing, the weight is
dequantized once with `gguf.quants` and kept as bfloat16 (slow to start, heavy, but exact up to
bfloat16): the fallback of a machine without them.
"""

from __future__ import annotations

import ctypes

import numpy as np
import torch
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
from torch import nn

from . import native

# GGUF type name → the kernels' kind (native/kernels.h)
RAW_KINDS = {"Q5_0": 2, "Q5_1": 3, "Q4_K": 4, "Q5_K": 5, "Q6_K": 6, "Q3_K": 7, "Q2_K": 8, "IQ4_NL": 9, "IQ4_XS": 10,
             "F16": 11, "BF16": 12}


def row_bytes(kind: str, cols: int) -> int:
    block, size = GGML_QUANT_SIZES[GGMLQuantizationType[kind]]
    if cols % block or cols % 32:
        raise ValueError(f"a {kind} row of {cols} weights is not a whole number of {block}-weight blocks")
    return cols // block * size


class BlockLinear(nn.Module):
    """A linear layer (no bias unless given) over rows of GGUF blocks of one type."""

    def __init__(self, kind: str, raw, cols: int, bias: torch.Tensor | None = None):
        super().__init__()
        if kind not in RAW_KINDS:
            raise ValueError(f"{kind} is not a block format the kernels read")
        # a copy: the file's pages are released once the load has read them
        raw = torch.from_numpy(np.array(raw, dtype=np.uint8, copy=True)) if not isinstance(raw, torch.Tensor) \
            else raw.contiguous()
        rows = raw.shape[0]
        if raw.dtype != torch.uint8 or raw.dim() != 2 or raw.shape[1] != row_bytes(kind, cols):
            raise ValueError(f"{kind} blocks of shape {tuple(raw.shape)} do not hold rows of {cols} weights")
        self.kind, self.out_features, self.in_features = kind, rows, cols
        self.register_buffer("raw", raw)
        self.register_buffer("bias", None if bias is None else bias.float().contiguous())
        self.precise = False  # one token's x as two int8 roundings in the native kernels (engine.c)
        self._mat = None
        self._bf16: torch.Tensor | None = None  # the no-kernels fallback's dequantized weight

    def extra_repr(self) -> str:
        return f"{self.kind}, in={self.in_features}, out={self.out_features}, bias={self.bias is not None}"

    def mat(self):
        """This layer as the native kernels' pg_mat (it points into this module's buffers)."""
        if self._mat is None:
            self._mat = native.Mat(RAW_KINDS[self.kind], self.out_features, self.in_features, None, None,
                                   self.raw.data_ptr(), None if self.bias is None else self.bias.data_ptr())
        self._mat.precise = int(self.precise)
        return self._mat

    # -- the weight ----------------------------------------------------------------------------------
    def rows(self, idx: torch.Tensor | None = None) -> torch.Tensor:
        """Rows idx of the weight in float32 (an embedding lookup; default all rows)."""
        idx = torch.arange(self.out_features) if idx is None else torch.as_tensor(idx)
        flat = idx.reshape(-1).to(torch.int32).contiguous()
        lib = native.library()
        if lib is not None and self.raw.device.type == "cpu":
            out = torch.empty(flat.numel(), self.in_features)
            rc = lib.pg_dequant_rows(ctypes.byref(self.mat()), flat.data_ptr(), flat.numel(), out.data_ptr())
            if rc == -2:
                raise IndexError(f"a row index is outside 0..{self.out_features - 1}")
            if rc == 0:
                return out.reshape(*idx.shape, self.in_features)
        from gguf.quants import dequantize

        w = dequantize(self.raw[flat.long()].numpy(), GGMLQuantizationType[self.kind]).reshape(-1, self.in_features)
        return torch.from_numpy(np.array(w, dtype=np.float32)).reshape(*idx.shape, self.in_features)

    def dequantized(self) -> torch.Tensor:
        """The exact float32 weight this layer stands for (tests, teaching views)."""
        return self.rows()

    def dense(self, scratch: bool = False) -> torch.Tensor:
        """The weight as a bfloat16 (out, in) matrix (read-only: for BF16 rows it is a view of them;
        scratch: in this thread's reusable buffer, valid until its next wide product; see
        quant.bf16_scratch)."""
        from .quant import _fresh_bf16, bf16_scratch

        if self.kind == "BF16":  # the stored rows are that matrix already: nothing to compute
            return self.raw.view(torch.bfloat16)
        lib = native.library()
        if lib is not None and self.raw.device.type == "cpu":
            w = (bf16_scratch if scratch else _fresh_bf16)(self.out_features, self.in_features)
            if lib.pg_dequant_bf16(ctypes.byref(self.mat()), w.data_ptr()) == 0:
                return w
        if self._bf16 is None:
            self._bf16 = torch.cat([self.rows(torch.arange(a, min(a + 4096, self.out_features))).to(torch.bfloat16)
                                    for a in range(0, self.out_features, 4096)])
        return self._bf16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from .quant import dense_from_rows

        if x.dim() != 2:
            return self.forward(x.reshape(-1, self.in_features)).reshape(*x.shape[:-1], self.out_features)
        lib = native.library()
        if lib is not None and x.device.type == "cpu" and x.shape[0] < dense_from_rows():
            xf = x.float().contiguous()
            y = torch.empty(x.shape[0], self.out_features)
            if lib.pg_gemm(ctypes.byref(self.mat()), xf.data_ptr(), xf.shape[0], y.data_ptr()):
                raise RuntimeError("the native product refused its arguments")
            return y.to(x.dtype)
        y = torch.nn.functional.linear(x.to(torch.bfloat16), self.dense(scratch=True))
        return (y if self.bias is None else y + self.bias.to(y.dtype)).to(x.dtype)


class Parts(nn.Module):
    """Several products of one input side by side (q|k|v, gate|up) where the file stores them in
    different types, so they cannot be one matrix: y = [p(x) for p in parts] concatenated."""

    def __init__(self, parts: list[nn.Module]):
        super().__init__()
        self.parts = nn.ModuleList(parts)
        self.in_features = parts[0].in_features
        self.out_features = sum(p.out_features for p in parts)
        self.bias = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([p(x) for p in self.parts], dim=-1)

    def mats(self) -> list:
        return [p.mat() for p in self.parts]

    def dequantized(self) -> torch.Tensor:
        return torch.cat([p.dequantized() for p in self.parts], dim=0)
