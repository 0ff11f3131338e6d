"""Scaled dot-product attention as our models use it: causal, optionally within a sliding window,
optionally with soft-capped scores, with a fast path (PyTorch's SDPA) and a written-out path that
hands out its probabilities for the attention viewer.

    scores = q·kᵀ · scale                      (B, nh, T, S)
    scores = c · tanh(scores / c)              Gemma 2's soft-capping, when c is set
    scores[query i, key j] = -inf  unless  j ≤ start+i  and  j > start+i - window
    y = softmax(scores) · v                    (B, nh, T, hs)

Shapes: B batch, nh query heads, nkv key/value heads (grouped-query attention: each key/value head
serves nh/nkv query heads), T queries at positions start..start+T, S keys at positions 0..S.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# the written-out path computes its probabilities a few heads at a time, so each float32 temporary
# stays under this many bytes: bigger ones are fresh memory from the kernel on every call, and
# faulting them in cost more than the arithmetic (SmolLM2, 2,048 tokens: 8 s → 4 s); small ones
# stay in the cache between the product, the softmax and the viewer's copy (512 tokens: 566 → 380 ms)
WEIGHTS_CHUNK_BYTES = 4 << 20


def causal_mask(T: int, S: int, start: int, device, window: int | None = None) -> torch.Tensor:
    """(T, S) booleans: query i (at position start+i) may see key j when j <= start+i, and, with a
    sliding window, when j > start+i - window (it sees `window` keys, itself included)."""
    q_pos = torch.arange(start, start + T, device=device)[:, None]
    k_pos = torch.arange(S, device=device)[None, :]
    keep = k_pos <= q_pos
    if window is not None:
        keep &= k_pos > q_pos - window
    return keep


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, start: int, scale: float | None = None,
           window: int | None = None, softcap: float | None = None, need_weights=False,
           layer: int = 0, values_dtype: torch.dtype | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Attention of q (B, nh, T, hs) over k, v (B, nkv, S, hs): (y (B, nh, T, hs), probabilities).

    The probabilities (B, nh, T, S) in float32 come back only with need_weights=True; a callable
    need_weights(layer, probs, first_head) is handed them a few heads at a time instead (and None
    comes back), so a long context's maps never exist whole in float32. values_dtype: the written-out
    path's probabilities·v product runs in this dtype (the fast model's bfloat16, which its next
    product rounds y to anyway); None keeps q's.
    """
    B, nh, T, hs = q.shape
    S = k.shape[2]
    scale = 1 / math.sqrt(hs) if scale is None else scale
    if not need_weights and softcap is None:
        gqa = nh != k.shape[1]
        sees_all = window is None or S <= window
        if T == S and sees_all:
            return F.scaled_dot_product_attention(q, k, v, is_causal=T > 1, scale=scale, enable_gqa=gqa), None
        mask = None if T == 1 and sees_all else causal_mask(T, S, start, q.device, window)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale, enable_gqa=gqa), None
    return _written_out(q, k, v, start, scale, window, softcap, need_weights, layer, values_dtype)


def attend_native(kernels, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, start: int, scale: float | None = None,
                  window: int | None = None, softcap: float | None = None) -> torch.Tensor:
    """attend()'s result through the native kernels (native/attention.c), for the fast path's bfloat16
    cache: y (B, T, nh·hs) float32, heads side by side as the output projection takes them. q is used in
    float32 (not rounded to the cache's bfloat16 as the SDPA call does); each query's scores are one row
    of the kernels' one-token attention, so a prompt's attention equals its decoding's. On 2 cores,
    SmolLM2 Q4_K_M's 512-token prompt pass: 295 ms with PyTorch's CPU flash attention, 244 with this."""
    B, nh, T, hs = q.shape
    nkv, S = k.shape[1], k.shape[2]
    if q.dtype != torch.float32 or q.stride(-1) != 1:
        q = q.float().contiguous()
    if k.dtype != torch.bfloat16 or k.stride(-1) != 1 or k.stride(-2) != hs or v.stride() != k.stride():
        k, v = k.to(torch.bfloat16).contiguous(), v.to(torch.bfloat16).contiguous()
    y = torch.empty(B, T, nh * hs)
    for b in range(B):
        rc = kernels.pg_attention(q[b].data_ptr(), T, nh, hs, q.stride(2), q.stride(1), k[b].data_ptr(), v[b].data_ptr(),
                                  nkv, k.stride(1), S - T, window or 0, 1 / math.sqrt(hs) if scale is None else scale,
                                  softcap or 0.0, y[b].data_ptr())
        if rc:
            raise RuntimeError(f"the native attention refused its arguments ({rc})")
    return y


def _written_out(q, k, v, start, scale, window, softcap, need_weights, layer, values_dtype=None):
    """softmax(q·kᵀ·scale) · v spelled out, a few heads at a time (see WEIGHTS_CHUNK_BYTES). The
    query heads that share a key/value head go through one batched product (no copy of k or v),
    or one head at a time when a group's scores would be too big; the scores are float32 whatever
    q's dtype (the viewer shows them)."""
    B, nh, T, hs = q.shape
    nkv, S = k.shape[1], k.shape[2]
    rep = nh // nkv
    group_bytes = 4 * B * rep * T * S
    per = rep * max(1, WEIGHTS_CHUNK_BYTES // group_bytes) if group_bytes <= WEIGHTS_CHUNK_BYTES else 1
    rows = T * min(per, rep)  # a group's heads stacked along the rows of one product
    hidden = ~causal_mask(T, S, start, q.device, window)
    mask = torch.zeros(T, S, device=q.device).masked_fill_(hidden, float("-inf")).repeat(rows // T, 1)
    q = q.float() * scale if softcap is None else q.float()  # scaled before the product: one pass less
    k = k.float()
    vd = values_dtype or v.dtype
    y = torch.empty(B, nh, T, v.shape[-1], dtype=vd, device=q.device)
    chunks = []
    for h0 in range(0, nh, per):
        n = min(per, nh - h0)
        g0, ng = h0 // rep, max(1, n // rep)  # the key/value heads these query heads read
        att = q[:, h0 : h0 + n].reshape(B * ng, rows, hs) @ k[:, g0 : g0 + ng].reshape(B * ng, S, hs).transpose(1, 2)
        if softcap is not None:  # the cap bends the scaled scores; the mask comes after it
            att = att.mul_(scale / softcap).tanh_().mul_(softcap)
        att = att.add_(mask).softmax(-1)
        heads = att.view(B, n, T, S)
        if callable(need_weights):
            need_weights(layer, heads, h0)
        elif need_weights:
            chunks.append(heads)
        vg = v[:, g0 : g0 + ng].reshape(B * ng, S, v.shape[-1]).to(vd)
        y[:, h0 : h0 + n] = (att.to(vd) @ vg).view(B, n, T, v.shape[-1])
    return y, (torch.cat(chunks, 1) if chunks else None)
