"""`load_model(path)`: GGUF files, Hugging Face folders and Playground checkpoints → a runnable model.

Precision (`dtype`):
- "auto": on a CPU, every Llama-family model runs on the fast path (FastLlama, native kernels):
  a GGUF keeps its quantized blocks as stored (Q4_0/Q4_1/Q8_0; other types become 8-bit blocks),
  a float checkpoint (Hugging Face folder, Studio checkpoint, F16/BF16/F32 GGUF) is quantized at
  load to 8-bit blocks as llama.cpp's converter makes Q8_0; GPT-2 and other devices run the
  reference model in float32 (bfloat16 on a GPU);
- "exact": the weights as stored: on a CPU, every Llama-family model whose matrices are GGUF blocks
  or bfloat16/float16 runs on the fast path with them kept bit for bit (a bfloat16 Hugging Face
  folder's values become the kernels' BF16 rows, as a BF16 GGUF's); float32 matrices (Studio
  checkpoints), GPT-2 and other devices run the reference model in the stored type;
- "float32" / "bfloat16" / "float16" (or a torch dtype): the reference model in that type.
`LoadedModel.weights` says which was used, `weights_bytes` the memory the weights take.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..model.config import ModelConfig
from ..model.interface import CausalLM
from ..model.transformer import Transformer
from ..texts import translate
from ..tokenization.tokenizer import TextTokenizer
from . import memory, validate
from .errors import (
    MissingFileError,
    ModelLoadError,
)
from .gguf_file import GGUFFile
from .hf import PICKLE_SUFFIXES, open_hf_folder, refuse_pickle
from .safetensors_file import MappedSafetensors

_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
PRECISIONS = ("auto", "exact", "float32", "bfloat16", "float16")
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
_KEPT_BLOCKS = {"Q4_0", "Q4_1", "Q8_0"}  # split into the kernels' arrays, values as the GGUF stores them
# what the fast path also keeps as stored, as raw blocks for the native kernels (model/blocklinear.RAW_KINDS):
# only F32 matrices become Q8_0 blocks at load
_RAW_BLOCKS = memory.RAW_BLOCKS
_FLOAT_KEPT = {"F16", "BF16"}  # a folder's matrix types the fast path keeps as stored ("exact")


@dataclass
class LoadedModel:
    model: CausalLM  # the reference Transformer or the fast path's FastLlama
    tokenizer: TextTokenizer
    config: ModelConfig
    path: Path
    format: str  # "gguf" | "hf" | "playground"
    quantization: str  # what the file stores, e.g. "Q4_1", "F32", "BF16"
    load_s: float
    weights: str = ""  # how the weights are held, e.g. "Q8_0, quantized at load" or "BF16, as stored"
    weights_bytes: int = 0  # the memory they take

    @property
    def name(self) -> str:
        """The one display name (loading/names.py); a Playground checkpoint is named by its folder."""
        from .names import display_name

        return display_name(self.config.name if self.format != "playground" else None, self.path)

    @property
    def device(self) -> torch.device:
        return self.model.device


def _held(model, how: str) -> tuple[str, int]:
    """(description, bytes) of the weights a model holds."""
    if hasattr(model, "n_bytes"):
        return how, model.n_bytes()
    seen, total = set(), 0
    for t in list(model.parameters()) + list(model.buffers()):
        if t.data_ptr() not in seen:
            seen.add(t.data_ptr())
            total += t.numel() * t.element_size()
    return how, total


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
                freq_factors: torch.Tensor | None = None, copied: Callable[[object], None] | None = None,
                progress: Callable[[float], None] | None = None) -> Transformer:
    """Our Transformer with these weights, checked for missing, extra and misshapen tensors.

    Parameters are allocated in `dtype` directly and each state value (a tensor, an array, or a
    callable that makes one) is read only when copied in; copied(value) is called after each copy
    (to drop its file pages), progress gets 0..1."""
    with torch.device("meta"):
        model = Transformer(cfg)
    model.to(dtype=dtype)  # on the meta device: nothing is allocated yet
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
        params = model.state_dict()
        for n, (k, p) in enumerate(params.items()):
            if k in state:
                v = state[k]
                got = v() if callable(v) else v
                p.copy_(torch.from_numpy(got) if isinstance(got, np.ndarray) else got)
                del got
                if copied:
                    copied(v)
            if progress and n % 16 == 15:
                progress(n / len(params))
        if cfg.tie_embeddings:
            model.output.weight = model.tok_embeddings.weight
        model.set_rope(freq_factors)
    model.to(dtype=dtype)
    return model.eval()


def _load_gguf(path: Path, device, dtype, mode: str, context: int | None, progress) -> LoadedModel:
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
        quant = quantization_name(f)
        matrices = {t.type.name for t in f.tensors.values() if len(t.shape) == 2}
        llama = device.type == "cpu" and cfg.arch == "llama" and fast_fits(cfg)
        use_fast = llama and (mode == "auto" or (mode == "exact" and matrices <= _KEPT_BLOCKS | _RAW_BLOCKS))
        if mode == "exact" and not use_fast:
            dtype = torch.bfloat16 if matrices == {"BF16"} else torch.float32
        _validate_gguf(f, cfg, use_fast, dtype, context)
        tokenizer = gguf_tokenizer(f)
        with _library_errors(path.name):
            if use_fast:
                model = fast_model_from_gguf(f, cfg)
                kept = matrices <= _KEPT_BLOCKS | _RAW_BLOCKS
                how = f"{quant}, as stored" if kept else f"Q8_0 blocks, quantized at load from {quant}"
            else:
                state = gguf_state_dict(f, cfg)
                model = build_model(cfg, state, device, dtype, rope_freq_factors(f), progress=progress)
                how = _float_name(dtype) + (", as stored" if _float_name(dtype) == quant else f", from {quant}")
    finally:
        del state  # views into the map must go before it closes
        f.close()
    how, size = _held(model, how)
    return LoadedModel(model, tokenizer, cfg, path, "gguf", quant, time.perf_counter() - t0, how, size)


def fast_fits(cfg: ModelConfig) -> bool:
    """The fast path works on blocks of 32 along every matrix row (else the reference model runs)."""
    return all(n % 32 == 0 for n in (cfg.dim, cfg.hidden_dim, cfg.n_heads * cfg.head_dim))


def _float_name(dtype: torch.dtype) -> str:
    return {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}.get(dtype, str(dtype))


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
        elem = torch.tensor([], dtype=dtype).element_size()
        kept, transient = memory.float_weight_bytes({n: s for n, (s, _) in needed.items()}, elem)
        plan = memory.plan(cfg, kept, transient, context, elem, f.size)
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


def load_model(path: str | os.PathLike, device: str = "auto", dtype: torch.dtype | str = torch.float32,
               context: int | None = None, progress: Callable[[float], None] | None = None) -> LoadedModel:
    """Load a model from a .gguf file or a model folder (Hugging Face or Playground checkpoint).

    dtype: "auto", "exact", "float32", "bfloat16", "float16" or a torch dtype (see the module doc).
    The whole model is validated before anything is built (validate.py), and the memory it
    needs, with a KV cache for `context` tokens (default: memory.PLANNED_CONTEXT), is checked
    against what is available (memory.py). Every failure is a ModelLoadError. progress, if
    given, is called with the fraction done (0..1) as the weights convert.
    """
    path = Path(path).expanduser()
    dev = pick_device(device)
    if isinstance(dtype, torch.dtype):
        mode = "dtype"
    elif dtype in ("auto", "exact"):
        mode = dtype
        dtype = torch.float32 if dev.type == "cpu" else torch.bfloat16
    elif dtype in _DTYPES:
        mode, dtype = "dtype", _DTYPES[dtype]
    else:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {dtype!r}")
    try:
        return _load(path, dev, dtype, mode, context, progress)
    except OSError as e:  # unreadable files, permissions, a folder that vanished
        raise ModelLoadError(translate("Loading", "cannot read {path}: {error}").format(path=path, error=e.strerror or e)) from e


def _load(path: Path, dev: torch.device, dtype: torch.dtype, mode: str, context: int | None, progress) -> LoadedModel:
    if not path.exists():
        raise MissingFileError(translate("Loading", "{path} does not exist").format(path=path))
    if path.is_dir():
        return _load_folder(path, dev, dtype, mode, context, progress)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        refuse_pickle(path)
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"GGUF" or path.suffix.lower() == ".gguf":
        return _load_gguf(path, dev, dtype, mode, context, progress)
    if head[:2] in _PICKLE_MAGIC or head == b"PK\x03\x04":
        refuse_pickle(path)
    if path.suffix == ".safetensors":
        return _load_folder(path.parent, dev, dtype, mode, context, progress)
    raise ModelLoadError(translate("Loading", "{name} is not a model file Playground knows (.gguf, or a folder with "
                                              "config.json)").format(name=path.name))


def _load_folder(path: Path, dev: torch.device, dtype: torch.dtype, mode: str, context: int | None,
                 progress) -> LoadedModel:
    """A Hugging Face folder or Studio checkpoint: validated from its headers, then put layer by
    layer onto the fast path on a CPU (Llama family): quantized to Q8_0 blocks ("auto") or, for
    bfloat16/float16 matrices, kept bit for bit as the kernels' BF16/F16 rows ("exact"); otherwise
    copied into the reference model. Each tensor's file pages are dropped once it is converted."""
    from .float_fast import fast_model_from_float

    t0 = time.perf_counter()
    h = open_hf_folder(path)
    cfg, stored = h.cfg, h.stored_type()
    where = path.name or str(path)
    matrices = {t.dtype for t in h.table.values() if len(t.shape) == 2}
    llama = dev.type == "cpu" and cfg.arch == "llama" and fast_fits(cfg)
    as_stored = mode == "exact" and llama and matrices <= _FLOAT_KEPT
    use_fast = llama and (mode == "auto" or as_stored)
    if mode == "exact":
        dtype = torch.bfloat16 if stored == "BF16" else torch.float32
    shapes = {n: (t.shape, t.dtype if as_stored else "F32") for n, t in h.table.items()}
    if use_fast:
        kept, transient = memory.fast_weight_bytes(shapes)
        plan = memory.plan(cfg, kept, transient, context, 2, h.file_bytes + memory.NATIVE_SCORES_PER_POSITION * cfg.max_seq_len)
    else:
        elem = torch.tensor([], dtype=dtype).element_size()
        kept, transient = memory.float_weight_bytes({n: s for n, (s, _) in shapes.items()}, elem)
        plan = memory.plan(cfg, kept, transient, context, elem, h.file_bytes)
    memory.check(plan, where)
    reader = MappedSafetensors(h.table)
    try:
        state = h.lazy_state(reader)
        with _library_errors(where):
            if use_fast:
                layer_names = {}  # layer → the file's tensors it reads
                for k, v in state.items():
                    i = int(k.split(".")[1]) if k.startswith("layers.") else -1
                    layer_names.setdefault(i, []).extend(v.names)
                model = fast_model_from_float(cfg, state, lambda k: state[k](),
                                              lambda i: reader.release(layer_names.get(i, [])), progress,
                                              as_stored=as_stored)
                how = f"{stored}, as stored" if as_stored else f"Q8_0 blocks, quantized at load from {stored}"
            else:
                model = build_model(cfg, state, dev, dtype, copied=lambda v: reader.release(v.names), progress=progress)
                how = _float_name(dtype) + (", as stored" if _float_name(dtype) == stored else f", from {stored}")
    finally:
        reader.close()
    how, size = _held(model, how)
    return LoadedModel(model, h.tokenizer, cfg, path, h.format, stored, time.perf_counter() - t0, how, size)
