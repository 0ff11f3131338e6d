"""Model configuration: one dataclass for every decoder-only family we run.

The two families differ in a handful of switches (norm, positions, MLP, biases); everything
else (heads, widths, RoPE) is shared. Loaders translate `config.json` or GGUF metadata into
this; the studio builds it from the user's choices.
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


