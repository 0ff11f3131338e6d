"""The tutorial encoder's configuration (no torch, so the studio can size it on the GUI thread).
The model itself is in tutorial_model.py."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

ARCH = "tutorial-encoder"


@dataclass
class TutorialConfig:
    vocab_size: int = 2048
    dim: int = 128  # d_model (the tutorial: 512)
    n_heads: int = 4  # nhead (the tutorial: 8)
    n_layers: int = 2  # num_layers (the tutorial: 6)
    hidden_dim: int = 512  # the feed-forward width (PyTorch's default, the tutorial's: 2048)
    max_seq_len: int = 64  # the longest sequence (the positional table's length)
    dropout: float = 0.1  # PyTorch's default for TransformerEncoderLayer
    causal: bool = False  # the tutorial: no causal mask
    positions: bool = False  # the tutorial: no positional encoding
    arch: str = ARCH
    name: str = "tutorial-encoder"
    tie_embeddings: bool = False  # (the checkpoint writer asks)

    def __post_init__(self) -> None:
        if self.dim % self.n_heads:
            raise ValueError(f"the width {self.dim} must be a multiple of the number of heads {self.n_heads}")
        for k in ("vocab_size", "dim", "n_heads", "n_layers", "hidden_dim", "max_seq_len"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1")

    @classmethod
    def as_written(cls, **over) -> TutorialConfig:
        """The tutorial's own sizes."""
        return cls(**{**dict(vocab_size=20000, dim=512, n_heads=8, n_layers=6, hidden_dim=2048), **over})

    @property
    def n_params(self) -> int:
        d, h, v = self.dim, self.hidden_dim, self.vocab_size
        layer = 4 * d * d + 4 * d + 2 * d * h + h + d + 4 * d  # attention, feed-forward, two LayerNorms
        return v * d + self.n_layers * layer + d * v + v

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TutorialConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
