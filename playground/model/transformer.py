"""A decoder-only Transformer for the Llama family (Llama 2/3, SmolLM, Mistral, Qwen2) and GPT-2.

Follows Hugging Face `transformers`' LlamaForCausalLM / Qwen2ForCausalLM / GPT2LMHeadModel
numerically (tests check logits to 1e-4), written in the nanoGPT / gpt-fast style: one config
dataclass, one KV cache module, attention with a fast path (SDPA) and a written-out path that
returns its probabilities for the attention viewer.

Shapes use one vocabulary: B batch, T query length, S key length, nh heads, nkv key/value
heads, hs head size, C model width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .cache import KVCache
from .config import ModelConfig
from .rope import Rotary, apply_rope, rope_inv_freq

__all__ = ["KVCache", "Transformer", "causal_mask", "rope_inv_freq"]


# ---------------------------------------------------------------------------- blocks
class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.nh, self.nkv, self.hs = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        qkv_bias = cfg.qkv_bias or cfg.bias
        self.wq = nn.Linear(cfg.dim, self.nh * self.hs, bias=qkv_bias)
        self.wk = nn.Linear(cfg.dim, self.nkv * self.hs, bias=qkv_bias)
        self.wv = nn.Linear(cfg.dim, self.nkv * self.hs, bias=qkv_bias)
        self.wo = nn.Linear(self.nh * self.hs, cfg.dim, bias=cfg.bias)
        self.dropout = cfg.dropout
        self.use_rope = cfg.arch == "llama"

    def forward(self, x, rope, start: int, cache: KVCache | None, layer: int, need_weights: bool):
        B, T, _ = x.shape
        q = self.wq(x).view(B, T, self.nh, self.hs).transpose(1, 2)  # (B, nh, T, hs)
        k = self.wk(x).view(B, T, self.nkv, self.hs).transpose(1, 2)  # (B, nkv, T, hs)
        v = self.wv(x).view(B, T, self.nkv, self.hs).transpose(1, 2)  # (B, nkv, T, hs)
        if self.use_rope:
            cos, sin = rope  # (T, hs)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:
            k, v = cache.update(layer, start, k, v)  # (B, nkv, S, hs)
        S = k.shape[2]
        weights = None
        if need_weights:
            # Written-out attention: softmax(q k^T / sqrt(hs)) with the future masked.
            rep = self.nh // self.nkv
            kr = k.repeat_interleave(rep, dim=1)  # (B, nh, S, hs)
            vr = v.repeat_interleave(rep, dim=1)
            att = (q @ kr.transpose(-2, -1)) / math.sqrt(self.hs)  # (B, nh, T, S)
            mask = causal_mask(T, S, start, x.device)
            att = att.masked_fill(~mask, float("-inf"))
            weights = torch.softmax(att.float(), dim=-1).to(q.dtype)
            y = weights @ vr  # (B, nh, T, hs)
        else:
            dropout = self.dropout if self.training else 0.0
            if T == S:
                y = F.scaled_dot_product_attention(
                    q, k, v, is_causal=T > 1, dropout_p=dropout, enable_gqa=self.nh != self.nkv
                )
            else:
                mask = causal_mask(T, S, start, x.device) if T > 1 else None
                y = F.scaled_dot_product_attention(
                    q, k, v, attn_mask=mask, dropout_p=dropout, enable_gqa=self.nh != self.nkv
                )
        y = y.transpose(1, 2).reshape(B, T, self.nh * self.hs)  # (B, T, nh*hs)
        return self.wo(y), weights


def causal_mask(T: int, S: int, start: int, device) -> torch.Tensor:
    """(T, S) booleans: query i (at position start+i) may see key j when j <= start+i."""
    q_pos = torch.arange(start, start + T, device=device)[:, None]
    k_pos = torch.arange(S, device=device)[None, :]
    return k_pos <= q_pos


class SwiGLU(nn.Module):
    """Llama MLP: w2(silu(w1 x) * w3 x)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.w1 = nn.Linear(cfg.dim, cfg.hidden_dim, bias=cfg.bias)  # gate
        self.w3 = nn.Linear(cfg.dim, cfg.hidden_dim, bias=cfg.bias)  # up
        self.w2 = nn.Linear(cfg.hidden_dim, cfg.dim, bias=cfg.bias)  # down

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class GeluMLP(nn.Module):
    """GPT-2 MLP: proj(gelu_tanh(fc x))."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.dim, cfg.hidden_dim, bias=cfg.bias)
        self.proj = nn.Linear(cfg.hidden_dim, cfg.dim, bias=cfg.bias)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x), approximate="tanh"))


def make_norm(cfg: ModelConfig) -> nn.Module:
    if cfg.arch == "llama":
        return RMSNorm(cfg.dim, cfg.norm_eps)
    return nn.LayerNorm(cfg.dim, eps=cfg.norm_eps, bias=cfg.bias)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.attention_norm = make_norm(cfg)
        self.attention = Attention(cfg)
        self.ffn_norm = make_norm(cfg)
        self.feed_forward = SwiGLU(cfg) if cfg.arch == "llama" else GeluMLP(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, rope, start, cache, layer, need_weights):
        h, weights = self.attention(self.attention_norm(x), rope, start, cache, layer, need_weights)
        x = x + self.drop(h)
        x = x + self.drop(self.feed_forward(self.ffn_norm(x)))
        return x, weights


# ---------------------------------------------------------------------------- model
class Transformer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.tok_embeddings = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.pos_embeddings = nn.Embedding(cfg.max_seq_len, cfg.dim) if cfg.arch == "gpt2" else None
        self.drop = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = make_norm(cfg)
        self.output = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.output.weight = self.tok_embeddings.weight
        self.rotary = Rotary(*rope_inv_freq(cfg), limit=cfg.max_seq_len) if cfg.arch == "llama" else None
        self.cache: KVCache | None = None

    @property
    def device(self) -> torch.device:
        return self.tok_embeddings.weight.device

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

    def setup_cache(self, max_len: int | None = None, batch: int = 1) -> KVCache:
        """An empty cache for max_len positions (at most the context); forward passes grow it as needed."""
        cfg = self.config
        max_len = min(max_len or cfg.max_seq_len, cfg.max_seq_len)
        p = self.tok_embeddings.weight
        self.cache = KVCache(cfg.n_layers, batch, cfg.n_kv_heads, max_len, cfg.head_dim, p.dtype, p.device)
        return self.cache

    def rope(self, start: int, T: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """cos, sin (T, hs) for positions start..start+T, in x's dtype and on its device."""
        if self.rotary is None:
            return None
        if self.rotary.inv_freq.device != x.device:
            self.rotary = self.rotary.to(x.device)
        return self.rotary.table(start, T, x.dtype)

    # -- the CausalLM interface (interface.py) ------------------------------------
    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        """The residual stream's first value for tokens idx: their embeddings."""
        return self.tok_embeddings(idx)

    def unembed(self, h: torch.Tensor) -> torch.Tensor:
        """Logits (float32) for residual-stream vectors: final norm, then the output layer (logit lens)."""
        return self.output(self.norm(h.to(self.tok_embeddings.weight.dtype))).float()

    def runs_own_threads(self) -> bool:
        return False

    def describe(self) -> str:
        return f"reference · {str(self.tok_embeddings.weight.dtype).removeprefix('torch.')}"

    # -- forward ----------------------------------------------------------------
    def forward(
        self,
        idx: torch.Tensor,
        start: int = 0,
        use_cache: bool = False,
        need_weights: bool = False,
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
        rope = self.rope(start, T, x)
        attn, hidden = [], [x] if return_hidden else None
        for i, layer in enumerate(self.layers):
            x, w = layer(x, rope, start, cache, i, bool(need_weights))
            if callable(need_weights):  # a sink takes each layer's weights as they come: (layer, w, first head)
                need_weights(i, w, 0)
            elif need_weights:
                attn.append(w)
            if return_hidden:
                hidden.append(x)
        if last_only:  # a prefill needs only the next token's logits
            x = x[:, -1:]
        logits = self.output(self.norm(x))
        if not (need_weights or return_hidden):
            return logits
        return logits, {"attentions": attn, "hidden": hidden}
