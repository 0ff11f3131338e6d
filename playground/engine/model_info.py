"""What the UI and the session may know about the loaded model (no torch objects, no Qt)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..texts import translate


@dataclass
class ModelInfo:
    """The loaded model as the window, the session and the records see it (a `ModelIdentity`)."""

    name: str
    path: str
    format: str
    quantization: str
    arch: str
    n_params: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    dim: int
    vocab_size: int
    context: int
    load_s: float
    backend: str  # e.g. "fast · native avx512/vnni" or "reference · float32"
    tokenizer: Any = None  # a TextTokenizer, for counting tokens of a draft (thread-safe)
    sha256: str = ""  # of the model file(s): a reply records it, so a replay knows its model
    template_sha256: str = ""  # of the chat template
    weights: str = ""  # how the weights are held ("Q8_0 blocks, quantized at load from BF16", "Q4_1, as stored")
    weights_bytes: int = 0  # and the memory they take

    def weights_line(self) -> str:
        """e.g. "weights Q4_1, as stored · 98 MB" (empty when the loader did not say)."""
        if not self.weights:
            return ""
        return translate("ModelInfo", "weights {weights} · {mb:.0f} MB").format(weights=self.weights_held(),
                                                                              mb=self.weights_bytes / 2**20)

    def weights_held(self) -> str:
        """`weights` in the interface's language (the field itself stays the loader's English)."""
        w = self.weights
        if w.startswith(_CONVERTED):
            return translate("ModelInfo", "Q8_0 blocks, quantized at load from {type}").format(type=w[len(_CONVERTED):])
        if w.endswith(_STORED):
            return translate("ModelInfo", "{type}, as stored").format(type=w[: -len(_STORED)])
        return w


_CONVERTED = "Q8_0 blocks, quantized at load from "  # the loader's two wordings (loading/api.py)
_STORED = ", as stored"


def model_info(lm, sha256: str = "") -> ModelInfo:
    import hashlib

    c = lm.config
    return ModelInfo(lm.name, str(lm.path), lm.format, lm.quantization, c.family or c.arch, c.n_params, c.n_layers, c.n_heads,
                     c.n_kv_heads, c.dim, c.vocab_size, c.max_seq_len, lm.load_s, _backend(lm), lm.tokenizer, sha256,
                     hashlib.sha256((lm.tokenizer.chat_template or "").encode()).hexdigest(),
                     getattr(lm, "weights", ""), getattr(lm, "weights_bytes", 0))


def model_sha256(lm) -> str:
    """The model file's hash (cached by path, size and mtime), or "" for a model with no file."""
    from .file_hash import cached_sha256

    try:
        return cached_sha256(lm.path) if lm.path.exists() else ""
    except OSError:
        return ""


def _backend(lm) -> str:
    """Which code runs the model, as the status bar says it (the model says: CausalLM.describe)."""
    return lm.model.describe()
