"""Weight-only quantized linear layers for the fast CPU path.

Decoding one token reads every weight once, so its speed is memory bandwidth over weight
bytes. We keep weights small and use PyTorch's CPU kernels:
- int4 in groups of 32 (`_weight_int4pack_mm_for_cpu`), which computes w = (q - 8)·scale + zero.
  GGUF's Q4_1 blocks store w = d·q + m and Q4_0 blocks w = d·(q - 8), so both convert exactly:
  scale = d, zero = m + 8d (Q4_1) or 0 (Q4_0).
- int8 with one scale per output row (`_weight_int8pack_mm`) for everything else (Q8_0, F16,
  F32, K-quants), requantized from the dequantized weights.
Activations are bfloat16.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

GROUP = 32
PREFILL_ROWS = 64  # from this many tokens on, dequantize to bfloat16 and use a dense product (measured break-even)


def _int4_layout_is_known() -> bool:
    """Whether this PyTorch packs int4 weights as we unpack them for prefill: blocks of 64
    output rows, stored (k, 32) bytes, low nibble = row r, high nibble = row r + 32."""
    q = torch.randint(0, 16, (64, 64), dtype=torch.int32, generator=torch.Generator().manual_seed(0))
    try:
        packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(q, 1)
    except (RuntimeError, AttributeError):
        return False
    return packed.dtype == torch.uint8 and packed.numel() == 64 * 32 and torch.equal(_unpack(packed, 64, 64), q)


def _unpack(packed: torch.Tensor, n: int, k: int) -> torch.Tensor:
    x = packed.view(n // 64, k, 32)
    return torch.cat((x & 0x0F, x >> 4), dim=-1).permute(0, 2, 1).reshape(n, k).to(torch.int32)


_LAYOUT_OK: bool | None = None


def q4_blocks_to_int4(raw: np.ndarray, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """GGUF Q4_0/Q4_1 bytes (rows, blocks·bytes) → (q int32 (rows, in) in 0..15, scales_and_zeros (in/32, rows, 2) fp32)."""
    size = 20 if kind == "Q4_1" else 18
    rows = raw.shape[0]
    blocks = np.ascontiguousarray(raw).reshape(rows, -1, size)  # (rows, nb, size)
    d = blocks[..., 0:2].copy().view(np.float16).astype(np.float32)[..., 0]  # (rows, nb)
    if kind == "Q4_1":
        m = blocks[..., 2:4].copy().view(np.float16).astype(np.float32)[..., 0]
        qs = blocks[..., 4:]
        zero = m + 8.0 * d
    else:
        qs = blocks[..., 2:]
        zero = np.zeros_like(d)
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).reshape(rows, -1)  # (rows, in): low nibbles first
    sz = np.stack([d, zero], axis=-1).transpose(1, 0, 2)  # (nb, rows, 2)
    return torch.from_numpy(q.astype(np.int32)), torch.from_numpy(np.ascontiguousarray(sz))


def float_to_int8(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-row int8: w ≈ q · scale[row]."""
    w = w.float()
    scale = (w.abs().amax(dim=1) / 127.0).clamp_min(1e-12)
    q = torch.round(w / scale[:, None]).clamp_(-127, 127).to(torch.int8)
    return q, scale


class QLinear(nn.Module):
    """A linear layer (no bias unless given) over int4-group or int8-row weights."""

    def __init__(self, kind: str, weight: torch.Tensor, scales: torch.Tensor, out_features: int,
                 in_features: int, bias: torch.Tensor | None = None):
        super().__init__()
        self.kind, self.out_features, self.in_features = kind, out_features, in_features
        self.register_buffer("weight", weight)
        self.register_buffer("scales", scales)
        self.register_buffer("bias", bias)
        self._shift = None

    @classmethod
    def int4(cls, q: torch.Tensor, scales_zeros: torch.Tensor, bias=None) -> QLinear:
        out_f, in_f = q.shape
        packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(q.contiguous(), 1)
        return cls("int4", packed, scales_zeros.to(torch.bfloat16).contiguous(), out_f, in_f, bias)

    @classmethod
    def int8(cls, w: torch.Tensor, bias=None) -> QLinear:
        q, scale = float_to_int8(w)
        return cls("int8", q, scale.to(torch.bfloat16), w.shape[0], w.shape[1], bias)

    def dense(self) -> torch.Tensor | None:
        """The weight as a bfloat16 (out, in) matrix, computed on the fly (None if unavailable)."""
        global _LAYOUT_OK
        if self.kind == "int8":
            return self.weight.to(torch.bfloat16) * self.scales[:, None]
        if _LAYOUT_OK is None:
            _LAYOUT_OK = _int4_layout_is_known()
        if not _LAYOUT_OK or self.out_features % 64:
            return None
        n, k = self.out_features, self.in_features
        x = self.weight.view(n // 64, k, 32)
        q = torch.cat((x & 0x0F, x >> 4), dim=-1).permute(0, 2, 1).reshape(n, k // GROUP, GROUP).to(torch.bfloat16)
        if self._shift is None:  # w = (q - 8)·s + z = q·s + (z - 8s), one fused multiply-add
            sz = self.scales.transpose(0, 1).float()  # (out, in/32, 2)
            self._shift = (sz[..., 1:] - 8 * sz[..., :1]).to(torch.bfloat16), sz[..., :1].to(torch.bfloat16)
        shift, scale = self._shift
        return q.mul_(scale).add_(shift).view(n, k)  # in place on the fresh bf16 copy: fastest here

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            return self.forward(x.reshape(-1, self.in_features)).reshape(*x.shape[:-1], self.out_features)
        if x.shape[0] >= PREFILL_ROWS:  # wide products: a dense bfloat16 matmul is far faster
            w = self.dense()
            if w is not None:
                return torch.nn.functional.linear(x, w, self.bias)
        if self.kind == "int4":
            y = torch.ops.aten._weight_int4pack_mm_for_cpu(x, self.weight, GROUP, self.scales)
        else:
            y = torch.ops.aten._weight_int8pack_mm(x, self.weight, self.scales)
        if self.bias is not None:
            y = y + self.bias
        return y

    def dequantized(self) -> torch.Tensor:
        """The float32 weight this layer multiplies by (for tests and the teaching views)."""
        eye = torch.eye(self.in_features, dtype=torch.bfloat16)
        b, self.bias = self.bias, None
        try:
            return self.forward(eye).float().t().contiguous()
        finally:
            self.bias = b
