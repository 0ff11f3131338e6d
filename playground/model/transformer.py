"""A decoder-only Transformer: the Llama shape (Llama 2/3, Mistral, Qwen 2/3, Gemma 2/3, Phi-3/4,
SmolLM 2/3) and GPT-2, in one readable file with config switches.

Follows Hugging Face `transformers`' *ForCausalLM classes numerically (tests check logits to
1e-4 on tiny random configs of each family), written in the nanoGPT / gpt-fast style: one config
dataclass (config.py), one KV cache module (cache.py), one RoPE table (rope.py), attention with a
fast path (SDPA) and a written-out path that returns its probabilities (attention.py).

How the families differ, as switches of ModelConfig:
- the MLP's gate: SwiGLU (silu) or GeGLU (gelu_tanh, Gemma); GPT-2's plain GELU MLP;
- norms: one before attention and one before the MLP; Gemma 2/3 add one after each (sandwich);
  QK-norm (Qwen3, Gemma 3) normalizes each head's q and k; Gemma's (1 + w) weights are folded in
  at load, so every RMSNorm here multiplies by its weight;
- embeddings scaled by sqrt(C) (Gemma); logits and attention scores soft-capped (Gemma 2);
- attention: a sliding window on some or all layers (Gemma, Mistral, Phi-3), each kind of layer
  with its own RoPE base (Gemma 3); layers without RoPE (SmolLM3); RoPE on part of each head (Phi).

The fast CPU path (fast.py) is this same model with quantized layers swapped in.

Shapes use one vocabulary: B batch, T query length, S key length, nh heads, nkv key/value
heads, hs head size, C model width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .attention import attend, attend_native, causal_mask
from .cache import KVCache
from .config import ModelConfig
from .rope import Rotary, apply_rope, make_rotary, rope_inv_freq

__all__ = ["KVCache", "Transformer", "causal_mask", "rope_inv_freq"]


# ---------------------------------------------------------------------------- blocks
class RMSNorm(nn.Module):
    """x / rms(x) · weight, computed in float32 (Hugging Face's LlamaRMSNorm)."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig, layer: int):
        super().__init__()
        self.nh, self.nkv, self.hs = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        self.layer = layer
        qkv_bias = cfg.qkv_bias or cfg.bias
        self.wq = nn.Linear(cfg.dim, self.nh * self.hs, bias=qkv_bias)
        self.wk = nn.Linear(cfg.dim, self.nkv * self.hs, bias=qkv_bias)
        self.wv = nn.Linear(cfg.dim, self.nkv * self.hs, bias=qkv_bias)
        self.wo = nn.Linear(self.nh * self.hs, cfg.dim, bias=cfg.bias)
        self.wqkv: nn.Module | None = None  # the fast path's fused q/k/v product (it then drops wq, wk, wv)
        self.q_norm = RMSNorm(self.hs, cfg.norm_eps) if cfg.qk_norm else None
        self.k_norm = RMSNorm(self.hs, cfg.norm_eps) if cfg.qk_norm else None
        self.scale = cfg.attn_scale  # None: 1/sqrt(hs)
        self.softcap = cfg.attn_softcap
        self.window = cfg.window(layer)
        self.dropout = cfg.dropout
        self.values_dtype: torch.dtype | None = None  # the written-out attention's probabilities·v dtype
        self.kernels = None  # the native kernels, when the fast path runs the attention step with them

    def project(self, x: torch.Tensor):
        """q (B, T, nh, hs), k and v (B, T, nkv, hs)."""
        B, T, _ = x.shape
        if self.wqkv is not None:
            qkv = self.wqkv(x).view(B, T, self.nh + 2 * self.nkv, self.hs)
            return qkv.split((self.nh, self.nkv, self.nkv), dim=2)
        return (self.wq(x).view(B, T, self.nh, self.hs), self.wk(x).view(B, T, self.nkv, self.hs),
                self.wv(x).view(B, T, self.nkv, self.hs))

    def forward(self, x, rope, start: int, cache: KVCache | None, need_weights):
        B, T, _ = x.shape
        q, k, v = self.project(x)
        if self.q_norm is not None:  # QK-norm: each head's q and k scaled to unit RMS
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, nh | nkv, T, hs)
        if rope is not None:
            cos, sin = rope  # (T, rd)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:
            k, v = cache.update(self.layer, start, k, v)  # (B, nkv, S, hs), in the cache's dtype
        if self.kernels is not None and cache is not None and not need_weights and not self.training:
            y = attend_native(self.kernels, q, k, v, start, self.scale, self.window, self.softcap)
            return self.wo(y.to(x.dtype)), None
        q = q.to(k.dtype)
        if self.training and self.dropout and not need_weights:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=self.dropout, scale=self.scale,
                                               enable_gqa=self.nh != self.nkv)
            weights = None
        else:
            y, weights = attend(q, k, v, start, self.scale, self.window, self.softcap, need_weights, self.layer,
                                self.values_dtype)
        y = y.transpose(1, 2).reshape(B, T, self.nh * self.hs).to(x.dtype)  # (B, T, nh*hs)
        return self.wo(y), weights


class GatedMLP(nn.Module):
    """w2(act(w1 x) · w3 x): SwiGLU (act = silu, Llama) or GeGLU (act = tanh-approximated GELU, Gemma)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.w1 = nn.Linear(cfg.dim, cfg.hidden_dim, bias=cfg.bias)  # gate
        self.w3 = nn.Linear(cfg.dim, cfg.hidden_dim, bias=cfg.bias)  # up
        self.w2 = nn.Linear(cfg.hidden_dim, cfg.dim, bias=cfg.bias)  # down
        self.w13: nn.Module | None = None  # the fast path's fused gate and up product
        self.hidden = cfg.hidden_dim
        self.gelu = cfg.mlp_act == "gelu_tanh"

    def forward(self, x):
        if self.w13 is not None:
            gate, up = self.w13(x).split(self.hidden, dim=-1)
        else:
            gate, up = self.w1(x), self.w3(x)
        gate = F.gelu(gate, approximate="tanh") if self.gelu else F.silu(gate)
        return self.w2(gate * up)


class GeluMLP(nn.Module):
    """GPT-2 MLP: proj(gelu_tanh(fc x))."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.dim, cfg.hidden_dim, bias=cfg.bias)
        self.proj = nn.Linear(cfg.hidden_dim, cfg.dim, bias=cfg.bias)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x), approximate="tanh"))


def make_norm(cfg: ModelConfig, dim: int | None = None) -> nn.Module:
    if cfg.arch == "llama":
        return RMSNorm(dim or cfg.dim, cfg.norm_eps)
    return nn.LayerNorm(dim or cfg.dim, eps=cfg.norm_eps, bias=cfg.bias)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, layer: int):
        super().__init__()
        self.attention_norm = make_norm(cfg)
        self.attention = Attention(cfg, layer)
        self.ffn_norm = make_norm(cfg)
        self.feed_forward = GatedMLP(cfg) if cfg.arch == "llama" else GeluMLP(cfg)
        # Gemma's sandwich: the attention's and the MLP's outputs are normalized too
        self.post_attention_norm = make_norm(cfg) if cfg.sandwich_norm else None
        self.post_ffn_norm = make_norm(cfg) if cfg.sandwich_norm else None
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, rope, start, cache, need_weights):
        h, weights = self.attention(self.attention_norm(x), rope, start, cache, need_weights)
        if self.post_attention_norm is not None:
            h = self.post_attention_norm(h)
        x = x + self.drop(h)
        h = self.feed_forward(self.ffn_norm(x))
        if self.post_ffn_norm is not None:
            h = self.post_ffn_norm(h)
        return x + self.drop(h), weights


# ---------------------------------------------------------------------------- model
class Transformer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        # built on the meta device as a skeleton for a file's weights: no random init (normal_ on meta
        # tensors imports torch._dynamo, 1.5 s of a load)
        skeleton = torch.empty(0).is_meta
        self.tok_embeddings = nn.Embedding(cfg.vocab_size, cfg.dim,
                                           _weight=torch.empty(cfg.vocab_size, cfg.dim) if skeleton else None)
        self.pos_embeddings = None
        if cfg.arch == "gpt2":
            self.pos_embeddings = nn.Embedding(cfg.max_seq_len, cfg.dim,
                                               _weight=torch.empty(cfg.max_seq_len, cfg.dim) if skeleton else None)
        self.drop = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(Block(cfg, i) for i in range(cfg.n_layers))
        self.norm = make_norm(cfg)
        self.output = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.output.weight = self.tok_embeddings.weight
        self.rotary = self.rotary_local = None
        if not skeleton:  # (a skeleton's loader sets it, with the file's frequency factors)
            self.set_rope()
        self.cache: KVCache | None = None

    @property
    def device(self) -> torch.device:
        return self.norm.weight.device

    # -- set-up ---------------------------------------------------------------
    def init_weights(self, seed: int | None = None) -> None:
        """GPT-2 style initialisation for training from scratch (normal 0.02, scaled residuals)."""
        if seed is not None:
            torch.manual_seed(seed)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * self.config.n_layers) if name.endswith(("wo.weight", "w2.weight", "proj.weight")) else 0.02
                nn.init.normal_(p, mean=0.0, std=std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def set_rope(self, freq_factors: torch.Tensor | None = None) -> None:
        """The RoPE tables: one for the model, and the sliding layers' own where they have one.
        freq_factors: per-frequency divisors a GGUF file may store (Llama 3.1)."""
        cfg = self.config
        self.rotary: Rotary | None = make_rotary(cfg, freq_factors=freq_factors) if cfg.arch == "llama" else None
        self.rotary_local = make_rotary(cfg, local=True) if cfg.rope_local_theta is not None else None

    def setup_cache(self, max_len: int | None = None, batch: int = 1) -> KVCache:
        """An empty cache for max_len positions (at most the context); forward passes grow it as needed."""
        cfg = self.config
        max_len = min(max_len or cfg.max_seq_len, cfg.max_seq_len)
        self.cache = KVCache(cfg.n_layers, batch, cfg.n_kv_heads, max_len, cfg.head_dim, self.cache_dtype, self.device)
        return self.cache

    @property
    def cache_dtype(self) -> torch.dtype:
        return self.norm.weight.dtype

    def _ropes(self, start: int, T: int, x: torch.Tensor) -> list:
        """Each layer's cos, sin (T, rd) for positions start..start+T (None: that layer has no RoPE)."""
        cfg = self.config
        if self.rotary is None:
            return [None] * cfg.n_layers
        if self.rotary.inv_freq.device != x.device:
            self.rotary = self.rotary.to(x.device)
            self.rotary_local = self.rotary_local and self.rotary_local.to(x.device)
        main = self.rotary.table(start, T, x.dtype)
        local = self.rotary_local.table(start, T, x.dtype) if self.rotary_local is not None else main
        return [(local if cfg.local_rope(i) else main) if cfg.uses_rope(i) else None for i in range(cfg.n_layers)]

    # -- the CausalLM interface (interface.py) ------------------------------------
    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        """The residual stream's first value for tokens idx: their embeddings (scaled, for Gemma)."""
        x = self.tok_embeddings(idx)
        if self.config.embed_scale != 1.0:  # in the weights' dtype, as Hugging Face rounds it
            x = x * torch.tensor(self.config.embed_scale, dtype=x.dtype)
        return x

    def unembed(self, h: torch.Tensor) -> torch.Tensor:
        """Logits (float32) for residual-stream vectors: final norm, output layer, soft-capping (logit lens)."""
        logits = self.output(self.norm(h.to(self.norm.weight.dtype)))
        cap = self.config.final_softcap
        if cap is not None:
            logits = torch.tanh(logits / cap) * cap
        return logits.float()

    def runs_own_threads(self) -> bool:
        return False

    def describe(self) -> str:
        return f"reference · {str(self.norm.weight.dtype).removeprefix('torch.')}"

    # -- forward ----------------------------------------------------------------
    def forward(
        self,
        idx: torch.Tensor,
        start: int = 0,
        use_cache: bool = False,
        need_weights=False,
        return_hidden: bool = False,
        last_only: bool = False,
    ):
        """Logits (B, T, vocab) for tokens idx (B, T) at positions start..start+T.

        With use_cache, keys and values are written to (and read from) self.cache, so a
        decode step passes one token. need_weights returns the attention probabilities of
        every layer (or, if it is a callable, hands each layer's to it: long contexts need not
        hold them all in float32 at once) as a list of (B, nh, T, S); return_hidden the residual
        stream after the embedding and after every layer, for the logit lens.
        """
        B, T = idx.shape
        if start + T > self.config.max_seq_len:
            raise ValueError(f"sequence of {start + T} tokens is longer than the context ({self.config.max_seq_len})")
        cache = None
        if use_cache:
            if self.cache is None or self.cache.k.shape[1] != B:
                self.setup_cache(start + T, batch=B)
            cache = self.cache
            cache.reserve(start + T, self.config.max_seq_len)
        x = self.embed(idx)  # (B, T, C)
        if self.pos_embeddings is not None:
            x = x + self.pos_embeddings(torch.arange(start, start + T, device=idx.device))
        x = self.drop(x)
        ropes = self._ropes(start, T, x)
        attn, hidden = [], [x] if return_hidden else None
        for i, layer in enumerate(self.layers):
            x, w = layer(x, ropes[i], start, cache, need_weights)
            if need_weights and not callable(need_weights):
                attn.append(w)
            if return_hidden:
                hidden.append(x)
        if last_only:  # a prefill needs only the next token's logits
            x = x[:, -1:]
        logits = self.unembed(x)
        if not (need_weights or return_hidden):
            return logits
        return logits, {"attentions": attn, "hidden": hidden}
