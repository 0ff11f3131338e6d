"""The tutorial's `LanguageModel`, rebuilt by behaviour: token embeddings, PyTorch's
`nn.TransformerEncoder`, and one `nn.Linear` to the vocabulary, trained with Adam on
cross-entropy. As the tutorial writes it, the encoder gets no causal mask and no positional
encoding. Two switches add them.

Why it matters (lesson 6): without the mask, every position attends to every other, including
the very token it is asked to predict, so the training loss falls towards zero while the model
learns nothing it can use when it writes (then the next token does not exist yet). Without
positions, attention sees a bag of tokens: it cannot tell "dog bites man" from "man bites dog".

`prefix_logits` measures a model the way generation uses it: the prediction at position j sees
tokens 0..j only. For a causal model that is its ordinary forward pass; for the unmasked one it is
one pass per prefix (the keys after j hidden by a padding mask). Validation uses it, so the
unmasked model's validation loss is honest, and bad.

(The tutorial's code passes token ids straight to the encoder, which needs vectors; an embedding
layer in front is the smallest change that runs. Its sizes — width 512, 8 heads, 6 layers, 20,000
tokens — are the defaults of `TutorialConfig.as_written()`; the studio starts smaller so a laptop
trains it in a minute.)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .tutorial_config import ARCH, TutorialConfig

__all__ = ["ARCH", "TutorialConfig", "TutorialLanguageModel", "build_tutorial", "sinusoidal_positions"]


def sinusoidal_positions(n: int, dim: int) -> torch.Tensor:
    """The original Transformer's positional encoding (n, dim): sines and cosines of geometrically
    spaced frequencies, added to the embeddings so attention can tell positions apart."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(n, dim)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return pe


class TutorialLanguageModel(nn.Module):
    def __init__(self, cfg: TutorialConfig):
        super().__init__()
        self.config = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.dim)
        layer = nn.TransformerEncoderLayer(cfg.dim, cfg.n_heads, cfg.hidden_dim, cfg.dropout, batch_first=True)
        self.transformer_encoder = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.fc = nn.Linear(cfg.dim, cfg.vocab_size)
        self.register_buffer("pe", sinusoidal_positions(cfg.max_seq_len, cfg.dim), persistent=False)

    def forward(self, idx: torch.Tensor, key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, T, vocab) for token ids idx (B, T). key_padding_mask (B, T): True hides a key."""
        T = idx.shape[1]
        if T > self.config.max_seq_len:
            raise ValueError(f"{T} tokens: this model holds {self.config.max_seq_len}")
        x = self.embed(idx)  # (B, T, C)
        if self.config.positions:
            x = x + self.pe[:T]
        mask = None
        if self.config.causal:
            mask = nn.Transformer.generate_square_subsequent_mask(T, device=idx.device)  # (T, T): -inf above the diagonal
        h = self.transformer_encoder(x, mask=mask, src_key_padding_mask=key_padding_mask,
                                     is_causal=self.config.causal)  # (B, T, C)
        return self.fc(h)

    def prefix_logits(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, vocab) where position j's prediction saw tokens 0..j only (as when writing)."""
        if self.config.causal:
            return self(idx)
        B, T = idx.shape
        rows = idx.repeat_interleave(T, dim=0)  # (B*T, T): row (b, j) is sequence b
        j = torch.arange(T, device=idx.device).repeat(B)  # which prefix each row keeps
        hidden = torch.arange(T, device=idx.device)[None, :] > j[:, None]  # (B*T, T): keys after j
        out = self(rows, key_padding_mask=hidden)  # (B*T, T, vocab)
        return out[torch.arange(B * T), j].view(B, T, -1)


def build_tutorial(cfg: TutorialConfig, seed: int = 1337) -> TutorialLanguageModel:
    torch.manual_seed(seed)
    return TutorialLanguageModel(cfg)
