"""`load_model(path)`: GGUF files, Hugging Face folders and Playground checkpoints → a runnable model."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..model.config import ModelConfig
from ..model.interface import CausalLM
from ..model.transformer import Transformer
from ..tokenization.tokenizer import TextTokenizer
from . import memory, validate
from .errors import (
    MissingFileError,
    ModelLoadError,
)
from .gguf_file import GGUFFile
from .hf import PICKLE_SUFFIXES, SafetensorsReader, open_hf_folder, refuse_pickle

_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


@dataclass
class LoadedModel:
    model: CausalLM  # the reference Transformer or the fast path's FastLlama
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
        return self.model.device


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
        model.set_rope(freq_factors)
    model.to(dtype=dtype)
    return model.eval()


def _load_gguf(path: Path, device, dtype, fast: bool, context: int | None) -> LoadedModel:
    from .gguf_loader import (
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
        use_fast = fast and device.type == "cpu" and cfg.arch == "llama"
        _validate_gguf(f, cfg, use_fast, dtype, context)
        tokenizer = gguf_tokenizer(f)
        quant = quantization_name(f)
        with _library_errors(path.name):
            if use_fast:
                model = fast_model_from_gguf(f, cfg)
                return LoadedModel(model, tokenizer, cfg, path, "gguf", quant, time.perf_counter() - t0)
            state = gguf_state_dict(f, cfg)
            model = build_model(cfg, state, device, dtype, rope_freq_factors(f))
    finally:
        del state  # views into the map must go before it closes
        f.close()
    return LoadedModel(model, tokenizer, cfg, path, "gguf", quant, time.perf_counter() - t0)


def _validate_gguf(f: GGUFFile, cfg: ModelConfig, fast: bool, dtype: torch.dtype, context: int | None) -> None:
    """Everything about a GGUF file that can be checked before building: configuration ranges,
    every tensor's presence, shape and type, the vocabulary, and the memory the load needs."""
    arch = f.get("general.architecture")
    where = f.path.name
    validate.check_config(cfg, where)
    expected = validate.expected_tensors(arch, cfg, "gguf", present=f.tensors)
    table = {n: (t.shape, t.type.name) for n, t in f.tensors.items()}
    validate.check_tensors(table, expected, where, validate.GGUF_MATRIX_TYPES, validate.GGUF_VECTOR_TYPES)
    validate.check_gguf_vocab(f, cfg)
    needed = {n: table[n] for n in expected}
    if fast:
        kept, transient = memory.fast_weight_bytes(needed)
        mapped = f.size + memory.NATIVE_SCORES_PER_POSITION * cfg.max_seq_len
        plan = memory.plan(cfg, kept, transient, context, 2, mapped)
    else:
        kept, transient = memory.float_weight_bytes({n: s for n, (s, _) in needed.items()}, 4)
        plan = memory.plan(cfg, kept, transient, context, torch.tensor([], dtype=dtype).element_size(), f.size)
    memory.check(plan, where)


@contextmanager
def _library_errors(where: str):
    """torch, numpy and safetensors errors while building a model that passed validation become a
    ModelLoadError that keeps their message (validation should have caught them: the fuzz counts these)."""
    try:
        yield
    except ModelLoadError:
        raise
    except (RuntimeError, ValueError, TypeError, IndexError, KeyError, MemoryError, OSError) as e:
        raise ModelLoadError(f"{where} could not be built: {type(e).__name__}: {e}") from e


PRECISIONS = ("auto", "float32", "bfloat16", "float16")


def load_model(path: str | os.PathLike, device: str = "auto", dtype: torch.dtype | str = torch.float32,
               context: int | None = None) -> LoadedModel:
    """Load a model from a .gguf file or a model folder (Hugging Face or Playground checkpoint).

    dtype "auto" picks the fast path on a CPU for GGUF files of the Llama family (weights kept
    quantized, bfloat16 activations) and the float32 reference model otherwise; a torch dtype
    or its name always gives the reference model in that precision.

    The whole model is validated before anything is built (validate.py), and the memory it
    needs, with a KV cache for `context` tokens (default: memory.PLANNED_CONTEXT), is checked
    against what is available (memory.py). Every failure is a ModelLoadError.
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
    try:
        return _load(path, dev, dtype, fast, context)
    except OSError as e:  # unreadable files, permissions, a folder that vanished
        raise ModelLoadError(f"cannot read {path}: {e.strerror or e}") from e


def _load(path: Path, dev: torch.device, dtype: torch.dtype, fast: bool, context: int | None) -> LoadedModel:
    if not path.exists():
        raise MissingFileError(f"{path} does not exist")
    if path.is_dir():
        return _load_folder(path, dev, dtype, context)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        refuse_pickle(path)
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"GGUF" or path.suffix.lower() == ".gguf":
        return _load_gguf(path, dev, dtype, fast, context)
    if head[:2] in _PICKLE_MAGIC or head == b"PK\x03\x04":
        refuse_pickle(path)
    if path.suffix == ".safetensors":
        return _load_folder(path.parent, dev, dtype, context)
    raise ModelLoadError(f"{path.name} is not a model file Playground knows (.gguf, or a folder with config.json)")


def _load_folder(path: Path, dev: torch.device, dtype: torch.dtype, context: int | None) -> LoadedModel:
    t0 = time.perf_counter()
    h = open_hf_folder(path)
    cfg = h.cfg
    kept, transient = memory.float_weight_bytes({n: s for n, (s, _, _) in h.table.items()}, 4)
    elem = torch.tensor([], dtype=dtype).element_size()
    memory.check(memory.plan(cfg, kept, transient, context, elem, h.file_bytes), path.name or str(path))
    reader = SafetensorsReader(h.table)
    try:
        with _library_errors(path.name):
            model = build_model(cfg, h.lazy_state(reader), dev, dtype)
    finally:
        reader.close()
    return LoadedModel(model, h.tokenizer, cfg, path, h.format, h.stored_type(), time.perf_counter() - t0)
