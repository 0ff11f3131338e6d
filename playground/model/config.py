"""Model configuration: one dataclass for every decoder-only family we run.

Two shapes: "gpt2" (LayerNorm, learned positions, GELU MLP) and "llama", the RMSNorm / RoPE /
gated-MLP decoder that Llama, Mistral, Qwen 2 and 3, Gemma 2 and 3, Phi-3/4 and SmolLM 2 and 3
all are. Those differ in a handful of switches below (the comments say who sets each); the
defaults are Llama's. Loaders translate `config.json` or GGUF metadata into this; the studio
builds it from the user's choices.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

ARCHS = ("llama", "gpt2")


@dataclass
class ModelConfig:
    arch: str = "llama"  # "llama": RMSNorm, RoPE, SwiGLU; "gpt2": LayerNorm, learned positions, GELU
    vocab_size: int = 32000
    dim: int = 512  # d_model, the width of the residual stream
    n_layers: int = 8
    n_heads: int = 8
    n_kv_heads: int | None = None  # grouped-query attention; None means n_heads
    head_dim: int | None = None  # None means dim // n_heads
    hidden_dim: int = 1376  # MLP inner width
    max_seq_len: int = 2048  # context window
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    rope_scaling: dict[str, Any] | None = None  # {"rope_type": "llama3" | "linear" | "yarn", ...}
    tie_embeddings: bool = False  # output layer shares the token embedding
    qkv_bias: bool = False  # Qwen2 has biases on q, k, v
    bias: bool = False  # biases on every linear and norm (GPT-2)
    dropout: float = 0.0  # training only
    name: str = ""
    family: str = ""  # the checkpoint's own architecture name: "llama", "qwen3", "gemma3", "phi3", ...
    # -- switches of the "llama" shape (defaults: Llama) --
    mlp_act: str = "silu"  # the gate's activation: "silu" (SwiGLU) or "gelu_tanh" (GeGLU: Gemma)
    qk_norm: bool = False  # RMSNorm over each head's q and k before RoPE (Qwen3, Gemma 3)
    sandwich_norm: bool = False  # also a norm after attention and after the MLP (Gemma 2 and 3)
    embed_scale: float = 1.0  # embeddings are multiplied by this (Gemma: sqrt(dim))
    attn_scale: float | None = None  # q·k multiplier; None: 1/sqrt(head_dim) (Gemma: query_pre_attn_scalar^-1/2)
    attn_softcap: float | None = None  # attention scores s → c·tanh(s/c) before the softmax (Gemma 2)
    final_softcap: float | None = None  # logits l → c·tanh(l/c) (Gemma 2)
    sliding_window: int | None = None  # a query sees only this many keys, itself included (sliding layers)
    layer_types: list[str] | None = None  # per layer "sliding_attention" | "full_attention"; None: every
    #                                       layer slides when sliding_window is set (Mistral, Phi-3)
    rope_local_theta: float | None = None  # RoPE base of the sliding layers, unscaled (Gemma 3: 10,000)
    rope_layers: list[bool] | None = None  # per layer: does it apply RoPE? None: all (SmolLM3 skips every 4th)
    rotary_dim: int | None = None  # how many of a head's coordinates RoPE turns; None: all (Phi-4-mini: 3/4)

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"unknown architecture {self.arch!r}; expected one of {ARCHS}")
        if self.n_kv_heads is None:
            self.n_kv_heads = self.n_heads
        if self.head_dim is None:
            if self.dim % self.n_heads:
                raise ValueError(f"dim {self.dim} is not divisible by n_heads {self.n_heads}")
            self.head_dim = self.dim // self.n_heads
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads {self.n_heads} is not a multiple of n_kv_heads {self.n_kv_heads}")
        for name in ("vocab_size", "dim", "n_layers", "n_heads", "hidden_dim", "max_seq_len"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not self.family:
            self.family = self.arch
        if self.mlp_act not in ("silu", "gelu_tanh"):
            raise ValueError(f"unknown MLP activation {self.mlp_act!r}; expected silu or gelu_tanh")
        for name in ("layer_types", "rope_layers"):
            per_layer = getattr(self, name)
            if per_layer is not None and len(per_layer) != self.n_layers:
                raise ValueError(f"{name} has {len(per_layer)} entries for {self.n_layers} layers")
        if self.layer_types is not None and set(self.layer_types) - {"sliding_attention", "full_attention"}:
            raise ValueError(f"unknown layer types {sorted(set(self.layer_types))}")
        if self.rotary_dim is not None and not (0 < self.rotary_dim <= self.head_dim and self.rotary_dim % 2 == 0):
            raise ValueError(f"rotary_dim {self.rotary_dim} must be even and at most the head size {self.head_dim}")

    # -- per-layer views of the switches --------------------------------------------------
    def window(self, layer: int) -> int | None:
        """How many keys layer `layer` sees (None: all before it)."""
        if self.sliding_window is None:
            return None
        if self.layer_types is None or self.layer_types[layer] == "sliding_attention":
            return self.sliding_window
        return None

    def uses_rope(self, layer: int) -> bool:
        return self.arch == "llama" and (self.rope_layers is None or bool(self.rope_layers[layer]))

    def local_rope(self, layer: int) -> bool:
        """Whether the layer takes the sliding layers' own RoPE base (Gemma 3)."""
        return self.rope_local_theta is not None and self.window(layer) is not None

    @property
    def plain_llama(self) -> bool:
        """Nothing but Llama's own switches (what the native kernels' forward pass runs today)."""
        return (self.arch == "llama" and self.mlp_act == "silu" and not self.qk_norm and not self.sandwich_norm
                and self.embed_scale == 1.0 and self.attn_scale is None and self.attn_softcap is None
                and self.final_softcap is None and self.sliding_window is None and self.rope_layers is None
                and self.rotary_dim in (None, self.head_dim) and self.rope_local_theta is None and not self.bias
                and (self.rope_scaling or {}).get("rope_type") not in ("longrope", "su"))

    @property
    def n_params(self) -> int:
        """Parameter count, computed from the shapes (tied embeddings counted once)."""
        hd, nh, nkv = self.head_dim, self.n_heads, self.n_kv_heads
        attn = self.dim * hd * (nh + 2 * nkv) + nh * hd * self.dim
        if self.arch == "llama":
            mlp = 3 * self.dim * self.hidden_dim
            norms = 2 * self.dim
        else:
            mlp = 2 * self.dim * self.hidden_dim + self.hidden_dim + self.dim
            norms = 4 * self.dim
            attn += hd * (nh + 2 * nkv) + self.dim
        if self.qkv_bias:
            attn += hd * (nh + 2 * nkv)
        if self.qk_norm:
            norms += 2 * hd
        if self.sandwich_norm:
            norms += 2 * self.dim
        per_layer = attn + mlp + norms
        emb = self.vocab_size * self.dim
        total = emb + self.n_layers * per_layer + self.dim * (2 if self.arch == "gpt2" else 1)
        if self.arch == "gpt2":
            total += self.max_seq_len * self.dim
        if not self.tie_embeddings:
            total += emb
        return total

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# Named presets, for the studio and for tests.
PRESETS: dict[str, ModelConfig] = {
    "smollm2-135m": ModelConfig(
        arch="llama", vocab_size=49152, dim=576, n_layers=30, n_heads=9, n_kv_heads=3,
        hidden_dim=1536, max_seq_len=8192, norm_eps=1e-5, rope_theta=100000.0,
        tie_embeddings=True, name="SmolLM2-135M",
    ),
    "tiny-llama": ModelConfig(
        arch="llama", vocab_size=512, dim=64, n_layers=2, n_heads=4, n_kv_heads=2,
        hidden_dim=128, max_seq_len=256, name="tiny-llama",
    ),
    "tiny-gpt2": ModelConfig(
        arch="gpt2", vocab_size=512, dim=64, n_layers=2, n_heads=4, hidden_dim=256,
        max_seq_len=256, bias=True, tie_embeddings=True, norm_eps=1e-5, name="tiny-gpt2",
    ),
}


def preset(name: str) -> ModelConfig:
    try:
        base = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known: {sorted(PRESETS)}") from None
    return ModelConfig(**{f.name: getattr(base, f.name) for f in fields(base)})


