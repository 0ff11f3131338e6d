"""The fast CPU path for the Llama family: quantized weights, fused projections, bfloat16.

Same maths as `transformer.Transformer` (the readable reference; tests check they agree), laid
out for speed when decoding one token at a time:
- q, k, v are one matrix product, and so are the MLP's gate and up;
- weights stay quantized as the file has them (quant.py: Q4_0/Q4_1 as 4-bit groups, Q8_0, others
  requantized to 8-bit groups);
- a few tokens at a time (decoding, short prompts) run as one call into the native kernels
  (native/, built with the package) when present: no interpreter work per layer;
- otherwise (no C compiler, or attention maps and hidden states wanted) the per-layer loop below
  runs on PyTorch: RoPE from a precomputed table, a preallocated bfloat16 KV cache shared with
  the native path, plain lists of tensors, and for wide inputs (prefill) dense bfloat16 products.
"""

from __future__ import annotations

import ctypes
import math
import weakref

import torch
import torch.nn.functional as F
from torch import nn

from .cache import KVCache
from .config import ModelConfig
from .quant import NATIVE_DENSE_ROWS, PREFILL_ROWS, QLinear
from .rope import Rotary, apply_rope
from .transformer import causal_mask


class FastLlama(nn.Module):
    """Inference-only Llama/Qwen2 decoder over quantized weights."""

    weights_chunk_bytes = 24 << 20  # attention probabilities are computed a few heads at a time, this big

    def __init__(self, cfg: ModelConfig, embed: QLinear, layers: list[dict], norm: torch.Tensor,
                 output: QLinear, inv_freq: torch.Tensor, rope_scale: float = 1.0):
        super().__init__()
        self.config = cfg
        self.dtype = torch.bfloat16
        self.embed_layer = embed
        self.norms32 = ([layer["attn_norm"].float().contiguous() for layer in layers],
                        [layer["ffn_norm"].float().contiguous() for layer in layers], norm.float().contiguous())
        self.attn_norm = [n.to(self.dtype) for n in self.norms32[0]]
        self.ffn_norm = [n.to(self.dtype) for n in self.norms32[1]]
        self.qkv = nn.ModuleList(layer["qkv"] for layer in layers)
        self.wo = nn.ModuleList(layer["wo"] for layer in layers)
        self.gate_up = nn.ModuleList(layer["gate_up"] for layer in layers)
        self.down = nn.ModuleList(layer["down"] for layer in layers)
        self.norm_w = norm.to(self.dtype)
        self.output = output
        self.rotary = Rotary(inv_freq, rope_scale, cfg.max_seq_len)
        self.cache: KVCache | None = None
        self.use_native = True  # False: the PyTorch loop only (set when the native kernels are unavailable)
        self._native = None  # (library, model handle), built on first use

    @property
    def device(self) -> torch.device:
        return self.norm_w.device

    def n_bytes(self) -> int:
        """Bytes of weights held."""
        seen, total = set(), 0
        tensors = [*self.attn_norm, *self.ffn_norm, self.norm_w] + [b for m in self.modules() for b in m.buffers()]
        for t in tensors:
            if t.data_ptr() not in seen:
                seen.add(t.data_ptr())
                total += t.numel() * t.element_size()
        return total

    # -- the CausalLM interface (interface.py) ------------------------------------
    def setup_cache(self, max_len: int | None = None, batch: int = 1) -> KVCache:
        """An empty bfloat16 cache for max_len positions (at most the context); forward passes grow it."""
        cfg = self.config
        if batch != 1:
            raise ValueError("the fast path decodes one sequence at a time")
        max_len = min(max_len or cfg.max_seq_len, cfg.max_seq_len)
        self.cache = self._new_cache(max_len)
        return self.cache

    def _new_cache(self, max_len: int) -> KVCache:
        cfg = self.config
        return KVCache(cfg.n_layers, 1, cfg.n_kv_heads, max_len, cfg.head_dim, self.dtype, self.device)

    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        """The residual stream's first value for tokens idx: their embeddings, in bfloat16."""
        return self.embed_layer.rows(idx).to(self.dtype)

    def runs_own_threads(self) -> bool:
        return self.native() is not None

    def describe(self) -> str:
        native = self.native()
        if native is None:
            from . import native as nat

            return f"fast · PyTorch kernels ({nat.why_unavailable() or 'native kernels off'})"
        lib = native[0]
        return f"fast · native {lib.pg_simd().decode()}/{lib.pg_int8().decode()}"

    # -- the native kernels ----------------------------------------------------------------------
    def native(self):
        """(library, model handle) of the native kernels for this model, or None where they are unavailable."""
        if not self.use_native or self.device.type != "cpu":
            return None
        if self._native is None:
            from . import native as nat

            lib = nat.library()
            if lib is None:
                self.use_native = False
                return None
            cfg = self.config
            attn32, ffn32, out32 = self.norms32
            layers = (nat.Layer * cfg.n_layers)(*[
                nat.Layer(attn32[i].data_ptr(), ffn32[i].data_ptr(), self.qkv[i].mat(), self.wo[i].mat(),
                          self.gate_up[i].mat(), self.down[i].mat()) for i in range(cfg.n_layers)])
            desc = nat.Desc(cfg.dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.hidden_dim,
                            self.embed_layer.out_features, NATIVE_DENSE_ROWS - 1, cfg.max_seq_len, cfg.norm_eps,
                            self.rotary.scale, self.rotary.inv_freq.data_ptr(), out32.data_ptr(), self.embed_layer.mat(),
                            self.output.mat(), layers)
            handle = lib.pg_model_new(ctypes.byref(desc))
            if not handle:
                self.use_native = False
                return None
            weakref.finalize(self, lib.pg_model_free, handle)
            self._native = (lib, handle)
        return self._native

    def _native_forward(self, idx: torch.Tensor, start: int, cache: KVCache, last_only: bool) -> torch.Tensor:
        lib, handle = self._native
        ids = idx[0].to(torch.int32).contiguous()
        T = ids.numel()
        out = torch.empty(1, 1 if last_only else T, self.output.out_features)
        rc = lib.pg_forward(handle, ids.data_ptr(), T, start, cache.k.data_ptr(), cache.v.data_ptr(), cache.max_len,
                            out.data_ptr(), int(last_only))
        if rc == -2:
            raise IndexError(f"a token id is outside the vocabulary (0..{self.embed_layer.out_features - 1})")
        if rc:
            raise RuntimeError(f"the native forward pass refused its arguments ({rc})")
        return out

    def unembed(self, h: torch.Tensor) -> torch.Tensor:
        """Logits for a residual-stream vector: final norm, then the output layer (logit lens)."""
        x = h.to(self.dtype).reshape(-1, self.config.dim)
        return self.output(F.rms_norm(x, (self.config.dim,), self.norm_w, self.config.norm_eps)).float().reshape(
            *h.shape[:-1], -1)

    # -- forward -------------------------------------------------------------------
    @torch.inference_mode()
    def forward(self, idx: torch.Tensor, start: int = 0, use_cache: bool = True, need_weights: bool = False,
                return_hidden: bool = False, last_only: bool = False):
        """Logits (1, T, vocab) in float32 for tokens idx (1, T) at positions start..start+T
        (only the last position's, (1, 1, vocab), with last_only: a prefill needs no more)."""
        cfg = self.config
        B, T = idx.shape
        if B != 1:
            raise ValueError("the fast path decodes one sequence at a time")
        if start + T > cfg.max_seq_len:
            raise ValueError(f"sequence of {start + T} tokens is longer than the context ({cfg.max_seq_len})")
        end = start + T
        if not use_cache:  # a one-off pass (e.g. for attention maps) must not disturb the chat's cache
            if start:
                raise ValueError("without the cache, a forward pass starts at position 0")
            cache = self._new_cache(end)
        else:
            if self.cache is None:
                self.setup_cache(end)
            cache = self.cache
            cache.reserve(end, cfg.max_seq_len)
        if T < NATIVE_DENSE_ROWS and not (need_weights or return_hidden) and self.native() is not None:
            return self._native_forward(idx, start, cache, last_only)
        nh, nkv, hs = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        cos, sin = self.rotary.table(start, T, self.dtype)  # (T, hs) each: [cos, cos], [sin, sin]
        x = self.embed(idx[0])  # (T, C)
        keep = causal_mask(T, end, start, idx.device) if T > 1 or need_weights else None
        mask = keep if T > 1 else None
        eps = cfg.norm_eps
        attn, hidden = [], [x.float()[None]] if return_hidden else None
        gqa = nh != nkv
        nqk = nh + nkv
        cos_, sin_ = cos[:, None], sin[:, None]
        future = ~keep if need_weights else None
        # plain lists of the layers' products: no module lookups in the per-token loop, and for a
        # few tokens the quantized kernels called directly
        if T < PREFILL_ROWS and self.native() is None:
            qkv_l, wo_l, gate_up_l, down_l = self._kernels()
        else:
            qkv_l, wo_l = [m.forward for m in self.qkv], [m.forward for m in self.wo]
            gate_up_l, down_l = [m.forward for m in self.gate_up], [m.forward for m in self.down]
        for i in range(cfg.n_layers):
            h = F.rms_norm(x, (cfg.dim,), self.attn_norm[i], eps)
            qkv = qkv_l[i](h).view(T, nqk + nkv, hs)  # (T, nh+2nkv, hs)
            qk = apply_rope(qkv[:, :nqk], cos_, sin_)  # RoPE on q and k together
            q = qk[:, :nh].transpose(0, 1)[None]  # (1, nh, T, hs)
            cache.k[i, 0, :, start:end] = qk[:, nh:].transpose(0, 1)
            cache.v[i, 0, :, start:end] = qkv[:, nqk:].transpose(0, 1)
            k = cache.k[i, :, :, :end]  # (1, nkv, S, hs)
            v = cache.v[i, :, :, :end]
            if need_weights:
                y = self._weights_attention(i, q, k, v, future, need_weights, attn)
            else:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=gqa)  # (1, nh, T, hs)
            x = x + wo_l[i](y[0].transpose(0, 1).reshape(T, nh * hs))
            h = F.rms_norm(x, (cfg.dim,), self.ffn_norm[i], eps)
            gu = gate_up_l[i](h)
            x = x + down_l[i](F.silu(gu[:, : cfg.hidden_dim]) * gu[:, cfg.hidden_dim :])
            if return_hidden:
                hidden.append(x.float()[None])
        if last_only:
            x = x[-1:]
        logits = self.output(F.rms_norm(x, (cfg.dim,), self.norm_w, eps)).float()[None]
        if not (need_weights or return_hidden):
            return logits
        return logits, {"attentions": attn, "hidden": hidden}

    def _weights_attention(self, layer: int, q, k, v, future, need_weights, attn: list) -> torch.Tensor:
        """Written-out attention that also hands out its probabilities (float32), a few heads at a
        time so each temporary stays under ~24 MB: larger ones are fresh memory from the kernel
        every time, and faulting it in cost more than the arithmetic (2,048 tokens: 8 s → 4 s)."""
        _, nh, T, hs = q.shape
        S = k.shape[2]
        rep = nh // k.shape[1]
        per = max(1, self.weights_chunk_bytes // (4 * T * S))
        y = torch.empty(1, nh, T, hs, dtype=self.dtype)
        chunks = []
        for h0 in range(0, nh, per):
            heads = torch.arange(h0, min(nh, h0 + per))
            att = torch.matmul(q[0, heads], k[0, heads // rep].transpose(-2, -1)).float().mul_(1 / math.sqrt(hs))
            att = att.masked_fill_(future, float("-inf")).softmax(-1)[None]  # (1, n, T, S)
            if callable(need_weights):  # a sink takes the weights as they come
                need_weights(layer, att, h0)
            else:
                chunks.append(att)
            y[0, heads] = att[0].to(self.dtype) @ v[0, heads // rep]
        if chunks:
            attn.append(torch.cat(chunks, 1))
        return y

    def _kernels(self):
        """Per layer, a function x → x Wᵀ (+ b) calling PyTorch's int4/int8 kernel with no module in between
        (the path without native kernels)."""
        if getattr(self, "_kernel_fns", None) is None:
            self._kernel_fns = tuple([m.torch_kernel() for m in mods]
                                     for mods in (self.qkv, self.wo, self.gate_up, self.down))
        return self._kernel_fns
