"""`load_model(path)`: GGUF files, Hugging Face folders and Playground checkpoints → a runnable model."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..model.config import ModelConfig
from ..model.transformer import Transformer, rope_inv_freq
from ..tokenization.tokenizer import TextTokenizer
from .errors import (
    MissingFileError,
    ModelLoadError,
)
from .gguf_file import GGUFFile
from .hf import PICKLE_SUFFIXES, load_hf_folder, refuse_pickle

_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


@dataclass
class LoadedModel:
    model: Transformer  # or FastLlama: the same forward() contract
    tokenizer: TextTokenizer
    config: ModelConfig
    path: Path
    format: str  # "gguf" | "hf" | "playground"
    quantization: str  # what the file stores, e.g. "Q4_1", "F32", "BF16"
    load_s: float

    @property
    def name(self) -> str:
        """The one display name (loading/names.py); a Playground checkpoint is named by its folder."""
        from .names import display_name

        return display_name(self.config.name if self.format != "playground" else None, self.path)

    @property
    def device(self) -> torch.device:
        return self.model.tok_embeddings.weight.device


def pick_device(device: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple's MPS, then the CPU."""
    if device != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def build_model(cfg: ModelConfig, state: dict, device: torch.device, dtype: torch.dtype,
                freq_factors: torch.Tensor | None = None) -> Transformer:
    """Our Transformer with these weights, checked for missing, extra and misshapen tensors."""
    with torch.device("meta"):
        model = Transformer(cfg)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if cfg.tie_embeddings:
        expected.pop("output.weight", None)
        state = {k: v for k, v in state.items() if k != "output.weight"}
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ModelLoadError(
            "the weights do not fit the architecture: "
            + (f"missing {missing[:5]}{'…' if len(missing) > 5 else ''} " if missing else "")
            + (f"unexpected {extra[:5]}{'…' if len(extra) > 5 else ''}" if extra else "")
        )
    for k, shape in expected.items():
        if tuple(state[k].shape) != shape:
            raise ModelLoadError(f"tensor {k} has shape {tuple(state[k].shape)}, the config implies {shape}")
    model.to_empty(device=device)
    with torch.no_grad():
        for k, p in model.state_dict().items():
            if k in state:
                v = state[k]
                v = v() if callable(v) else v
                p.copy_(torch.from_numpy(v) if isinstance(v, np.ndarray) else v)
        if cfg.tie_embeddings:
            model.output.weight = model.tok_embeddings.weight
        inv_freq, _ = rope_inv_freq(cfg) if cfg.arch == "llama" else (torch.zeros(1), 1.0)
        if freq_factors is not None:
            inv_freq = inv_freq / freq_factors.float()
        model.inv_freq = inv_freq.to(device)
    model.to(dtype=dtype)
    model.inv_freq = model.inv_freq.float()
    return model.eval()


def _load_gguf(path: Path, device, dtype, fast: bool) -> LoadedModel:
    from .gguf_loader import (
        LLAMA_LIKE,
        fast_model_from_gguf,
        gguf_config,
        gguf_state_dict,
        gguf_tokenizer,
        quantization_name,
        rope_freq_factors,
    )

    t0 = time.perf_counter()
    f = GGUFFile(path)
    state: dict = {}
    try:
        cfg = gguf_config(f)
        tokenizer = gguf_tokenizer(f)
        quant = quantization_name(f)
        if fast and device.type == "cpu" and f.get("general.architecture") in LLAMA_LIKE:
            model = fast_model_from_gguf(f, cfg)
            return LoadedModel(model, tokenizer, cfg, path, "gguf", quant, time.perf_counter() - t0)
        state = gguf_state_dict(f, cfg)
        model = build_model(cfg, state, device, dtype, rope_freq_factors(f))
    finally:
        del state  # views into the map must go before it closes
        f.close()
    return LoadedModel(model, tokenizer, cfg, path, "gguf", quant, time.perf_counter() - t0)


PRECISIONS = ("auto", "float32", "bfloat16", "float16")


def load_model(path: str | os.PathLike, device: str = "auto", dtype: torch.dtype | str = torch.float32) -> LoadedModel:
    """Load a model from a .gguf file or a model folder (Hugging Face or Playground checkpoint).

    dtype "auto" picks the fast path on a CPU for GGUF files of the Llama family (weights kept
    quantized, bfloat16 activations) and the float32 reference model otherwise; a torch dtype
    or its name always gives the reference model in that precision.
    """
    path = Path(path).expanduser()
    dev = pick_device(device)
    fast = dtype == "auto"
    if fast:
        dtype = torch.float32 if dev.type == "cpu" else torch.bfloat16
    if isinstance(dtype, str):
        if dtype not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {dtype!r}")
        dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    if not path.exists():
        raise MissingFileError(f"{path} does not exist")
    if path.is_dir():
        t0 = time.perf_counter()
        cfg, state, tokenizer = load_hf_folder(path)
        model = build_model(cfg, state, dev, dtype)
        fmt = "playground" if "playground" in (path / "config.json").read_text() else "hf"
        dt = next(iter(state.values())).dtype
        quant = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}.get(dt, str(dt))
        return LoadedModel(model, tokenizer, cfg, path, fmt, quant, time.perf_counter() - t0)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        refuse_pickle(path)
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"GGUF" or path.suffix.lower() == ".gguf":
        return _load_gguf(path, dev, dtype, fast)
    if head[:2] in _PICKLE_MAGIC or head == b"PK\x03\x04":
        refuse_pickle(path)
    if path.suffix == ".safetensors":
        return load_model(path.parent, device, dtype)
    raise ModelLoadError(f"{path.name} is not a model file Playground knows (.gguf, or a folder with config.json)")
