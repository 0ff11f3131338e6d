"""Model metadata without torch: GGUF metadata and config.json → ModelConfig, quantization names.

The GUI's model picker reads these to describe files, so nothing here may import torch.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import fields
from typing import Any

from ..model.config import ModelConfig
from .errors import ConfigError, UnsupportedArchitectureError
from .gguf_file import GGUFFile

LLAMA_ARCHS = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"}
GPT2_ARCHS = {"GPT2LMHeadModel"}
LLAMA_LIKE = {"llama": True, "mistral": True, "qwen2": False}  # arch → q/k rows permuted by the converter
SUPPORTED = sorted([*LLAMA_LIKE, "gpt2"])


def is_weight_file(name: str) -> bool:
    """A safetensors file of model weights (a checkpoint's optimizer state is not one)."""
    return name.endswith(".safetensors") and not name.startswith("optimizer")


_REQUIRED = object()


def typed(src: dict[str, Any], key: str, kind: type, default: Any = _REQUIRED, where: str = "the GGUF file") -> Any:
    """src[key] checked to be a kind (int: a whole number, not a bool; float: any real number;
    str; bool; dict; list), or default when absent. A mistyped value is a ConfigError naming the key."""
    v = src.get(key)
    if v is None:
        if default is _REQUIRED:
            raise ConfigError(f"{where} lacks the {'metadata key' if where == 'the GGUF file' else 'field'} {key!r}")
        return default
    ok = (isinstance(v, int) and not isinstance(v, bool) if kind is int else
          isinstance(v, (int, float)) and not isinstance(v, bool) if kind is float else isinstance(v, kind))
    if not ok:
        shown = repr(v) if len(repr(v)) < 60 else repr(v)[:57] + "..."
        raise ConfigError(f"{where}: {key!r} is {shown}, not {_KIND_NAMES.get(kind, kind.__name__)}")
    return float(v) if kind is float else v


_KIND_NAMES = {int: "a whole number", float: "a number", str: "text", bool: "true or false", dict: "a table",
               list: "a list"}


def _config(where: str, **fields) -> ModelConfig:
    try:
        return ModelConfig(**fields)
    except (ValueError, TypeError, ZeroDivisionError) as e:
        raise ConfigError(f"{where}: {e}") from None


def gguf_config(f: GGUFFile) -> ModelConfig:
    arch = f.get("general.architecture")
    if arch not in SUPPORTED:
        raise UnsupportedArchitectureError(
            f"this GGUF holds a {arch!r} model; Playground runs {', '.join(SUPPORTED)}"
        )
    a, m = arch, f.metadata
    tokens = m.get("tokenizer.ggml.tokens")
    n_vocab = typed(m, f"{a}.vocab_size", int, 0) or (len(tokens) if isinstance(tokens, list) else 0)
    if not n_vocab and "token_embd.weight" in f.tensors:
        n_vocab = f.tensors["token_embd.weight"].shape[0]
    common = dict(
        vocab_size=n_vocab,
        dim=typed(m, f"{a}.embedding_length", int),
        n_layers=typed(m, f"{a}.block_count", int),
        n_heads=typed(m, f"{a}.attention.head_count", int),
        hidden_dim=typed(m, f"{a}.feed_forward_length", int),
        max_seq_len=typed(m, f"{a}.context_length", int, 2048),
        tie_embeddings="output.weight" not in f.tensors,
        name=typed(m, "general.name", str, f.path.stem),
    )
    where = f"{f.path.name}"
    if a == "gpt2":
        return _config(where, arch="gpt2", bias=True, norm_eps=typed(m, f"{a}.attention.layer_norm_epsilon", float, 1e-5),
                       **common)
    scaling = None
    kind = typed(m, f"{a}.rope.scaling.type", str, None)
    if kind and kind != "none":
        scaling = {"rope_type": kind, "factor": typed(m, f"{a}.rope.scaling.factor", float, 1.0)}
        orig = typed(m, f"{a}.rope.scaling.original_context_length", int, None)
        if orig:
            scaling["original_max_position_embeddings"] = orig
    return _config(
        where,
        arch="llama",
        n_kv_heads=typed(m, f"{a}.attention.head_count_kv", int, common["n_heads"]),
        head_dim=typed(m, f"{a}.attention.key_length", int, None),
        norm_eps=typed(m, f"{a}.attention.layer_norm_rms_epsilon", float, 1e-5),
        rope_theta=typed(m, f"{a}.rope.freq_base", float, 10000.0),
        rope_scaling=scaling,
        qkv_bias="blk.0.attn_q.bias" in f.tensors,
        **common,
    )


def hf_config(raw: dict[str, Any]) -> ModelConfig:
    """config.json → ModelConfig; a missing or mistyped field is a ConfigError naming it."""
    w = "config.json"
    if "playground" in raw:
        own = typed(raw, "playground", dict, where=w)
        cfg = _config(w, **{k: v for k, v in own.items() if k in _FIELDS})
        if not isinstance(cfg.name, str):
            cfg.name = ""
        return cfg
    archs = typed(raw, "architectures", list, [], where=w)
    arch = archs[0] if archs else typed(raw, "model_type", str, "?", where=w)
    if not isinstance(arch, str):
        raise ConfigError(f"config.json: the architecture {arch!r} is not a name")
    name = typed(raw, "_name_or_path", str, "", where=w)
    if arch in GPT2_ARCHS or raw.get("model_type") == "gpt2":
        dim = typed(raw, "n_embd", int, where=w)
        return _config(
            w,
            arch="gpt2",
            vocab_size=typed(raw, "vocab_size", int, where=w),
            dim=dim,
            n_layers=typed(raw, "n_layer", int, where=w),
            n_heads=typed(raw, "n_head", int, where=w),
            hidden_dim=typed(raw, "n_inner", int, None, where=w) or 4 * dim,
            max_seq_len=typed(raw, "n_positions", int, where=w),
            norm_eps=typed(raw, "layer_norm_epsilon", float, 1e-5, where=w),
            bias=True,
            tie_embeddings=typed(raw, "tie_word_embeddings", bool, True, where=w),
            name=name,
        )
    if arch not in LLAMA_ARCHS:
        raise UnsupportedArchitectureError(
            f"config.json names the architecture {arch!r}; Playground runs "
            f"{', '.join(sorted(LLAMA_ARCHS | GPT2_ARCHS))}"
        )
    rope = dict(typed(raw, "rope_parameters", dict, None, where=w) or typed(raw, "rope_scaling", dict, None, where=w) or {})
    theta = typed(rope, "rope_theta", float, None, where=w) or typed(raw, "rope_theta", float, 10000.0, where=w)
    rope.pop("rope_theta", None)
    if rope.get("rope_type", rope.get("type", "default")) in ("default", None):
        rope = {}
    heads = typed(raw, "num_attention_heads", int, where=w)
    return _config(
        w,
        arch="llama",
        vocab_size=typed(raw, "vocab_size", int, where=w),
        dim=typed(raw, "hidden_size", int, where=w),
        n_layers=typed(raw, "num_hidden_layers", int, where=w),
        n_heads=heads,
        n_kv_heads=typed(raw, "num_key_value_heads", int, None, where=w) or heads,
        head_dim=typed(raw, "head_dim", int, None, where=w),
        hidden_dim=typed(raw, "intermediate_size", int, where=w),
        max_seq_len=typed(raw, "max_position_embeddings", int, 2048, where=w),
        norm_eps=typed(raw, "rms_norm_eps", float, 1e-6, where=w),
        rope_theta=theta,
        rope_scaling=rope or None,
        tie_embeddings=typed(raw, "tie_word_embeddings", bool, False, where=w),
        qkv_bias=arch == "Qwen2ForCausalLM" or typed(raw, "attention_bias", bool, False, where=w),
        name=name,
    )


_FIELDS = {f.name for f in fields(ModelConfig)}


def quantization_name(f: GGUFFile) -> str:
    counts = Counter(t.type.name for t in f.tensors.values() if len(t.shape) == 2)
    return counts.most_common(1)[0][0] if counts else "?"


