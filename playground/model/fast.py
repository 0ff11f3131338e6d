"""The fast CPU path: the same Transformer (transformer.py) over the file's quantized weights.

What changes against the reference, all of it speed:
- weights stay quantized as the file has them (quant.QLinear), and q/k/v and the MLP's gate/up
  are one matrix product each (`wqkv`, `w13`);
- the residual stream, norms and RoPE stay float32; matrix products take bfloat16 or int8
  activations (see quant.py); the KV cache is bfloat16, shared with the native kernels;
- a few tokens at a time (decoding, short prompts) run as one call into the native kernels
  (native/, built with the package), no interpreter work per layer, for the architectures their
  forward pass covers (`native_supports`); everything else (long prompts, attention maps, hidden
  states, other architectures, no kernels) runs the Transformer's own forward pass.
"""

from __future__ import annotations

import ctypes
import weakref
from contextlib import contextmanager

import torch
from torch import nn

from .allocator import keep_prefill_memory
from .cache import KVCache
from .config import ModelConfig
from .quant import NATIVE_DENSE_ROWS, QLinear
from .transformer import Transformer

# kernel variants whose prompt attention beats PyTorch's SDPA here (FastLlama._route_attention)
PROMPT_ATTENTION_VARIANTS = frozenset({"avx512"})


class QEmbedding(nn.Module):
    """Token embeddings read from a quantized matrix's rows (float32)."""

    def __init__(self, layer: QLinear):
        super().__init__()
        self.layer = layer

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.layer.rows(idx)


def native_supports(cfg: ModelConfig) -> bool:
    """Whether the native kernels' forward pass computes this architecture (else the PyTorch path runs,
    with native products). Everything of the llama shape but LongRoPE (its frequencies switch with
    the sequence's length) and biases beyond q/k/v."""
    longrope = (cfg.rope_scaling or {}).get("rope_type") in ("longrope", "su")
    return cfg.arch == "llama" and not longrope and not cfg.bias


def _mats(module) -> list:
    """The pg_mat of each part of a (possibly split) product."""
    return module.mats() if hasattr(module, "mats") else [module.mat()]


class FastLlama(Transformer):
    """Inference-only Transformer over quantized weights (any of our "llama"-shaped families).

    `parts` holds the weights under our parameter names: QLinear products for
    "tok_embeddings", "output" (absent when tied) and each layer's "attention.wqkv",
    "attention.wo", "feed_forward.w13", "feed_forward.w2"; float tensors for the norms."""

    def __init__(self, cfg: ModelConfig, parts: dict, freq_factors: torch.Tensor | None = None):
        with torch.device("meta"):  # the skeleton's own float weights are never allocated
            super().__init__(cfg)
        self.tok_embeddings = QEmbedding(parts["tok_embeddings"])
        self.output = parts.get("output", parts["tok_embeddings"])
        for i, layer in enumerate(self.layers):
            L = f"layers.{i}."
            att, mlp = layer.attention, layer.feed_forward
            del att.wq, att.wk, att.wv, mlp.w1, mlp.w3
            att.wqkv, att.wo = parts[L + "attention.wqkv"], parts[L + "attention.wo"]
            mlp.w13, mlp.w2 = parts[L + "feed_forward.w13"], parts[L + "feed_forward.w2"]
            att.values_dtype = torch.bfloat16  # wo rounds its input to bfloat16 anyway
        # one token's products whose inputs carry the largest outliers take x as two int8 roundings
        # in the native kernels (engine.c): SmolLM2 Q4_1's mean KL against the exact model 0.0042 → 0.0026
        for layer in [self.output, *(b.feed_forward.w2 for b in self.layers)]:
            layer.precise = True
        norms = {k: v for k, v in parts.items() if isinstance(v, torch.Tensor)}
        for name, module in self.named_modules():
            if name + ".weight" in norms:
                module.weight = nn.Parameter(norms.pop(name + ".weight").float().contiguous(), requires_grad=False)
        if norms:
            raise ValueError(f"weights the model has no place for: {sorted(norms)[:5]}")
        if any(p.is_meta for p in self.parameters()):
            missing = [n for n, p in self.named_parameters() if p.is_meta]
            raise ValueError(f"weights missing for the fast path: {missing[:5]}")
        self.set_rope(freq_factors)
        self.eval()
        self.use_native = True  # False: the PyTorch path only (set when the native kernels are unavailable)
        keep_prefill_memory()  # the prompt path's temporaries stay in the heap (allocator.py)
        self._native = None  # (kernels, model handle), built on first use
        self._attention_kernels = None  # what each layer's attention step runs on (_route_attention)

    @property
    def cache_dtype(self) -> torch.dtype:
        return torch.bfloat16  # what the native kernels read and write

    def n_bytes(self) -> int:
        """Bytes of weights held."""
        seen, total = set(), 0
        for t in [*self.parameters(), *self.buffers()]:
            if t is not None and t.data_ptr() not in seen:
                seen.add(t.data_ptr())
                total += t.numel() * t.element_size()
        return total

    # -- the CausalLM interface (interface.py) ------------------------------------
    def runs_own_threads(self) -> bool:
        """The native kernels' pool runs the forward pass, or (for architectures their forward pass does
        not cover yet) at least every few-token matrix product."""
        from . import native as nat

        return self.use_native and self.device.type == "cpu" and nat.library() is not None

    def describe(self) -> str:
        from . import native as nat

        if not native_supports(self.config):
            return f"fast · {nat.in_use(self)} products; PyTorch for the rest ({self.config.family}'s LongRoPE)"
        return f"fast · {nat.in_use(self)}"

    # -- the native kernels ----------------------------------------------------------------------
    def native(self):
        """(kernels, model handle) of the native kernels for this model, or None where they are
        unavailable or do not cover its architecture."""
        if not self.use_native or self.device.type != "cpu" or not native_supports(self.config):
            return None
        if self._native is None:
            from . import native as nat

            lib = nat.library()
            if lib is None:
                self.use_native = False
                return None
            cfg = self.config
            layers = (nat.Layer * cfg.n_layers)()
            for i, (b, L) in enumerate(zip(self.layers, layers)):
                att, mlp = b.attention, b.feed_forward
                for name, norm in (("attn_norm", b.attention_norm), ("ffn_norm", b.ffn_norm),
                                   ("post_attn_norm", b.post_attention_norm), ("post_ffn_norm", b.post_ffn_norm),
                                   ("q_norm", att.q_norm), ("k_norm", att.k_norm)):
                    setattr(L, name, None if norm is None else norm.weight.data_ptr())
                rotary = (self.rotary_local if cfg.local_rope(i) else self.rotary) if cfg.uses_rope(i) else None
                if rotary is not None:
                    L.inv_freq, L.rope_dims, L.rope_scale = rotary.inv_freq.data_ptr(), 2 * rotary.inv_freq.numel(), rotary.scale
                L.window = cfg.window(i) or 0
                qkv, gate_up = _mats(att.wqkv), _mats(mlp.w13)
                L.n_qkv, L.n_gate_up = len(qkv), len(gate_up)
                for j, m in enumerate(qkv):
                    L.qkv[j] = m
                for j, m in enumerate(gate_up):
                    L.gate_up[j] = m
                L.wo, L.down = att.wo.mat(), mlp.w2.mat()
            desc = nat.Desc(cfg.dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.hidden_dim,
                            self.tok_embeddings.layer.out_features, NATIVE_DENSE_ROWS - 1, cfg.max_seq_len,
                            int(cfg.mlp_act == "gelu_tanh"), cfg.norm_eps, cfg.embed_scale,
                            cfg.attn_scale or cfg.head_dim ** -0.5, cfg.attn_softcap or 0.0, cfg.final_softcap or 0.0,
                            self.norm.weight.data_ptr(), self.tok_embeddings.layer.mat(), self.output.mat(), layers)
            self._native_layers = layers  # the kernels keep pointers into it
            handle = lib.pg_model_new(ctypes.byref(desc))
            if not handle:
                self.use_native = False
                return None
            weakref.finalize(self, lib.pg_model_free, handle)
            self._native = (lib, handle)
        return self._native

    def _route_attention(self) -> None:
        """The PyTorch path's attention step (prompts of 32+ tokens, architectures the native forward
        pass lacks) on the native kernels where they are the faster (attention.attend_native: the
        AVX-512 variant, whose attend_prompt takes a head's queries in pairs), else PyTorch's SDPA.
        Measured on 2 cores, SmolLM2 Q4_1's 512-token prompt: AVX-512 faster than SDPA (Q4_K_M pass
        295 → 244 ms); AVX2's one-query-at-a-time attend on the calling thread 1,392 → 835 tok/s."""
        from . import native as nat

        lib = nat.library() if self.use_native and self.device.type == "cpu" else None
        if lib is not None and lib.variant not in PROMPT_ATTENTION_VARIANTS:
            lib = None
        if lib is not self._attention_kernels:
            for block in self.layers:
                block.attention.kernels = lib
            self._attention_kernels = lib

    def _native_forward(self, idx: torch.Tensor, start: int, cache: KVCache, last_only: bool) -> torch.Tensor:
        lib, handle = self._native
        ids = idx[0].to(torch.int32).contiguous()
        T = ids.numel()
        out = torch.empty(1, 1 if last_only else T, self.output.out_features)
        rc = lib.pg_forward(handle, ids.data_ptr(), T, start, cache.k.data_ptr(), cache.v.data_ptr(), cache.max_len,
                            out.data_ptr(), int(last_only))
        if rc == -2:
            raise IndexError(f"a token id is outside the vocabulary (0..{self.output.out_features - 1})")
        if rc:
            raise RuntimeError(f"the native forward pass refused its arguments ({rc})")
        return out

    def decode_one(self, token: int, pos: int) -> torch.Tensor | None:
        """The logits (vocab,) after `token` at position `pos` of the cache (as
        `self(torch.tensor([[token]]), start=pos, use_cache=True)[0, -1]`), through the native forward
        pass with as few Python steps as can be: a decode step runs just after the weights streamed
        through the caches, where each small torch call costs several µs (model() took ~0.15 ms more
        than pg_forward itself on SmolLM2 bf16). None where the native pass does not run this
        (then call the model)."""
        nat = self.native()
        cache = self.cache
        if nat is None or cache is None:
            return None
        lib, handle = nat
        if pos + 1 > self.config.max_seq_len:
            raise ValueError(f"sequence of {pos + 1} tokens is longer than the context ({self.config.max_seq_len})")
        if not 0 <= token < self.output.out_features:
            raise IndexError(f"a token id is outside the vocabulary (0..{self.output.out_features - 1})")
        cache.reserve(pos + 1, self.config.max_seq_len)
        tok = self.__dict__.get("_one_token")
        if tok is None:
            tok = self.__dict__["_one_token"] = ctypes.c_int32()
        tok.value = token
        out = torch.empty(self.output.out_features)
        rc = lib.pg_forward(handle, ctypes.addressof(tok), 1, pos, cache.k.data_ptr(), cache.v.data_ptr(),
                            cache.max_len, out.data_ptr(), 1)
        if rc == -2:
            raise IndexError(f"a token id is outside the vocabulary (0..{self.output.out_features - 1})")
        if rc:
            raise RuntimeError(f"the native forward pass refused its arguments ({rc})")
        return out

    # -- forward -------------------------------------------------------------------
    @torch.inference_mode()
    def forward(self, idx: torch.Tensor, start: int = 0, use_cache: bool = False, need_weights=False,
                return_hidden: bool = False, last_only: bool = False):
        """As Transformer.forward, for one sequence (B = 1); logits in float32."""
        B, T = idx.shape
        if B != 1:
            raise ValueError("the fast path decodes one sequence at a time")
        if not use_cache and start:
            raise ValueError("without the cache, a forward pass starts at position 0")
        if T < NATIVE_DENSE_ROWS and not (need_weights or return_hidden) and self.native() is not None:
            end = start + T
            if end > self.config.max_seq_len:
                raise ValueError(f"sequence of {end} tokens is longer than the context ({self.config.max_seq_len})")
            if use_cache:
                if self.cache is None:
                    self.setup_cache(end)
                self.cache.reserve(end, self.config.max_seq_len)
                cache = self.cache
            else:  # a one-off pass must not disturb the chat's cache
                cache = KVCache(self.config.n_layers, 1, self.config.n_kv_heads, end, self.config.head_dim,
                                self.cache_dtype)
            return self._native_forward(idx, start, cache, last_only)
        self._route_attention()
        if T < NATIVE_DENSE_ROWS and self.runs_own_threads():
            # a few tokens on the PyTorch path: its ops are tiny and the products run on the native
            # pool, so PyTorch's own threads would only compete with it (2 cores: 2 ms → 60+ ms a token)
            with one_torch_thread():
                return super().forward(idx, start, use_cache, need_weights, return_hidden, last_only)
        return super().forward(idx, start, use_cache, need_weights, return_hidden, last_only)


@contextmanager
def one_torch_thread():
    """PyTorch's intra-op threads at one for a block (restored after)."""
    old = torch.get_num_threads()
    if old == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)
