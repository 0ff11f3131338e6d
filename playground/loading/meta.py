"""Model metadata without torch: GGUF metadata and config.json → ModelConfig, quantization names.

The GUI's model picker reads these to describe files, so nothing here may import torch.

Each family we run is the "llama" shape with its own switches (model/config.py); the tables
below say which switches a family sets, read from the checkpoint's config.json or from the GGUF
metadata llama.cpp's converter writes (where llama.cpp hard-codes a value instead of storing it,
as Gemma 3's sliding-layer RoPE base or SmolLM3's RoPE-less layers, so do we).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import fields
from typing import Any

from ..model.config import ModelConfig
from .errors import ConfigError, UnsupportedArchitectureError
from .gguf_file import GGUFFile

# config.json "architectures" → our family name
HF_FAMILIES = {
    "LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral", "Qwen2ForCausalLM": "qwen2",
    "Qwen3ForCausalLM": "qwen3", "Gemma2ForCausalLM": "gemma2", "Gemma3ForCausalLM": "gemma3",
    "Gemma3ForConditionalGeneration": "gemma3", "Phi3ForCausalLM": "phi3", "SmolLM3ForCausalLM": "smollm3",
    "GPT2LMHeadModel": "gpt2",
}
# GGUF general.architecture values we run (llama.cpp's names, which are ours)
GGUF_FAMILIES = ("gemma2", "gemma3", "gpt2", "llama", "mistral", "phi3", "qwen2", "qwen3", "smollm3")
SUPPORTED = sorted(GGUF_FAMILIES)
# families whose q/k rows llama.cpp's converter permutes (its "normal" RoPE; the others use NeoX's)
PERMUTED_QK = {"llama", "mistral", "smollm3"}
GEMMA = {"gemma2", "gemma3"}
# Gemma 2 and 3 alternate sliding and global layers; every n-th is global
SLIDING_PATTERN = {"gemma2": 2, "gemma3": 6}


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
_FIELDS = {f.name for f in fields(ModelConfig)}


def _config(where: str, **values) -> ModelConfig:
    try:
        return ModelConfig(**values)
    except (ValueError, TypeError, ZeroDivisionError) as e:
        raise ConfigError(f"{where}: {e}") from None


def _numbers(v: Any, what: str, where: str) -> list[float]:
    """A list of numbers (LongRoPE's factors), or a ConfigError."""
    if not isinstance(v, (list, tuple)) and getattr(v, "ndim", None) != 1:
        raise ConfigError(f"{where}: {what} is not a list of numbers")
    out = []
    for x in v:
        if isinstance(x, bool) or not isinstance(x, (int, float)) and not hasattr(x, "item"):
            raise ConfigError(f"{where}: {what} holds {x!r}, not a number")
        out.append(float(x))
    return out


def pattern_layer_types(n_layers: int, every: int) -> list[str]:
    """Sliding layers with a global one every `every` layers (the last of each run), as Gemma has."""
    return ["full_attention" if (i + 1) % every == 0 else "sliding_attention" for i in range(n_layers)]


def gemma_attn_scale(family: str, n_layers: int, dim: int, n_heads: int, head_dim: int) -> float:
    """llama.cpp's rule for GGUF files, which do not store query_pre_attn_scalar: 1/sqrt(head size),
    except the 27B models (their query scalar is dim / heads)."""
    big = (family == "gemma2" and n_layers == 46) or (family == "gemma3" and n_layers == 62)
    return 1 / math.sqrt(dim / n_heads if big else head_dim)


# ---------------------------------------------------------------------------- GGUF
def gguf_config(f: GGUFFile) -> ModelConfig:
    arch = f.get("general.architecture")
    if arch not in GGUF_FAMILIES:
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
        family=a,
    )
    where = f"{f.path.name}"
    if a == "gpt2":
        return _config(where, arch="gpt2", bias=True, norm_eps=typed(m, f"{a}.attention.layer_norm_epsilon", float, 1e-5),
                       **common)
    n_layers, dim, n_heads = common["n_layers"], common["dim"], common["n_heads"]
    key_length = typed(m, f"{a}.attention.key_length", int, None)
    head_dim = key_length or (dim // n_heads if n_heads > 0 else 0)  # (ModelConfig checks dim / heads)
    scaling = None
    kind = typed(m, f"{a}.rope.scaling.type", str, None)
    if kind and kind != "none":
        scaling = {"rope_type": kind, "factor": typed(m, f"{a}.rope.scaling.factor", float, 1.0)}
        orig = typed(m, f"{a}.rope.scaling.original_context_length", int, None)
        if orig:
            scaling["original_max_position_embeddings"] = orig
    sw: dict[str, Any] = {}
    window = typed(m, f"{a}.attention.sliding_window", int, None)
    if a in GEMMA:
        window = window or (4096 if a == "gemma2" else 0)  # Gemma 3 without the key: no sliding layers
        softcap = typed(m, f"{a}.attn_logit_softcapping", float, None)
        final = typed(m, f"{a}.final_logit_softcapping", float, None)
        scale = typed(m, f"{a}.attention.scale", float, None)
        sw = dict(mlp_act="gelu_tanh", sandwich_norm=True, embed_scale=math.sqrt(dim) if dim > 0 else 1.0,
                  qk_norm=a == "gemma3", attn_softcap=softcap or None, final_softcap=final or None,
                  attn_scale=scale or (gemma_attn_scale(a, n_layers, dim, n_heads, head_dim) if head_dim > 0 else None),
                  layer_types=pattern_layer_types(n_layers, SLIDING_PATTERN[a]) if window and n_layers > 0 else None)
        if a == "gemma3":
            sw["rope_local_theta"] = typed(m, f"{a}.rope.freq_base_swa", float, 10000.0)
    elif a == "qwen3":
        sw = dict(qk_norm=True)
    elif a == "smollm3":  # llama.cpp: every fourth layer has no RoPE (no key stores it)
        sw = dict(rope_layers=[(i + 1) % 4 != 0 for i in range(n_layers)] if 0 < n_layers <= 4096 else None)
    elif a == "phi3":
        rd = typed(m, f"{a}.rope.dimension_count", int, None)
        if rd and rd != head_dim:
            sw["rotary_dim"] = rd
        if "rope_factors_long.weight" in f.tensors and "rope_factors_short.weight" in f.tensors:
            scaling = {"rope_type": "longrope",
                       "long_factor": _numbers(f.array("rope_factors_long.weight"), "rope_factors_long", where),
                       "short_factor": _numbers(f.array("rope_factors_short.weight"), "rope_factors_short", where),
                       "original_max_position_embeddings": typed(m, f"{a}.rope.scaling.original_context_length",
                                                                 int, common["max_seq_len"])}
            attn_factor = typed(m, f"{a}.rope.scaling.attn_factor", float, None)
            if attn_factor is not None:
                scaling["attention_factor"] = attn_factor
    return _config(
        where,
        arch="llama",
        n_kv_heads=typed(m, f"{a}.attention.head_count_kv", int, n_heads),
        head_dim=key_length,
        norm_eps=typed(m, f"{a}.attention.layer_norm_rms_epsilon", float, 1e-5),
        rope_theta=typed(m, f"{a}.rope.freq_base", float, 10000.0),
        rope_scaling=scaling,
        qkv_bias="blk.0.attn_q.bias" in f.tensors,
        sliding_window=window or None,
        **sw,
        **common,
    )


# ---------------------------------------------------------------------------- config.json
def _rope_params(raw: dict[str, Any], layer_type: str | None = None, where: str = "config.json") -> tuple[float, dict]:
    """(theta, scaling) from config.json: transformers 5's rope_parameters (per layer type where a
    model has several) or the older rope_theta / rope_scaling."""
    params = typed(raw, "rope_parameters", dict, None, where=where) or {}
    if layer_type is not None and isinstance(params.get(layer_type), dict):
        params = params[layer_type]
    elif layer_type is not None and "full_attention" in params:
        params = typed(params, "full_attention", dict, {}, where=where)
    params = dict(params or typed(raw, "rope_scaling", dict, None, where=where) or {})
    theta = typed(params, "rope_theta", float, None, where=where) or typed(raw, "rope_theta", float, 10000.0, where=where)
    params.pop("rope_theta", None)
    params.pop("partial_rotary_factor", None)
    if params.get("rope_type", params.get("type", "default")) in ("default", None):
        return theta, {}
    if "original_max_position_embeddings" not in params and raw.get("original_max_position_embeddings"):
        params["original_max_position_embeddings"] = typed(raw, "original_max_position_embeddings", int, where=where)
    for key in ("long_factor", "short_factor"):
        if key in params:
            params[key] = _numbers(params[key], f"rope {key}", where)
    return theta, params


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
    family = HF_FAMILIES.get(arch) or ("gpt2" if raw.get("model_type") == "gpt2" else None)
    if family is None:
        raise UnsupportedArchitectureError(
            f"config.json names the architecture {arch!r}; Playground runs {', '.join(sorted(HF_FAMILIES))}"
        )
    if family == "gpt2":
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
            family="gpt2",
        )
    if "text_config" in raw:  # Gemma 3's multimodal checkpoints: the language model's own config
        raw = {**typed(raw, "text_config", dict, where=w),
               "tie_word_embeddings": typed(raw, "tie_word_embeddings", bool, True, where=w)}
    dim = typed(raw, "hidden_size", int, where=w)
    n_heads = typed(raw, "num_attention_heads", int, where=w)
    n_layers = typed(raw, "num_hidden_layers", int, where=w)
    explicit_head_dim = typed(raw, "head_dim", int, None, where=w)
    head_dim = explicit_head_dim or (dim // n_heads if n_heads > 0 else 0)  # (ModelConfig checks dim / heads)
    theta, scaling = _rope_params(raw, "full_attention" if family == "gemma3" else None)
    act = typed(raw, "hidden_activation", str, None, where=w) or typed(raw, "hidden_act", str, "silu", where=w)
    sw: dict[str, Any] = dict(mlp_act="gelu_tanh" if "gelu" in act else "silu")
    window = typed(raw, "sliding_window", int, None, where=w) if typed(raw, "use_sliding_window", bool, True, where=w) else None
    layer_types = typed(raw, "layer_types", list, None, where=w) if window else None
    if family in GEMMA:
        if window and layer_types is None:
            every = (typed(raw, "sliding_window_pattern", int, None, where=w)
                     or typed(raw, "_sliding_window_pattern", int, None, where=w) or SLIDING_PATTERN[family])
            layer_types = pattern_layer_types(n_layers, every) if 0 < n_layers <= 4096 and every > 0 else None
        scalar = typed(raw, "query_pre_attn_scalar", float, float(head_dim), where=w)
        sw.update(sandwich_norm=True, embed_scale=math.sqrt(dim) if dim > 0 else 1.0, qk_norm=family == "gemma3",
                  attn_scale=scalar ** -0.5 if scalar > 0 else None,
                  attn_softcap=typed(raw, "attn_logit_softcapping", float, None, where=w),
                  final_softcap=typed(raw, "final_logit_softcapping", float, None, where=w))
        if family == "gemma3":
            local = typed(raw, "rope_parameters", dict, None, where=w) or {}
            sw["rope_local_theta"] = (_rope_params(raw, "sliding_attention")[0] if isinstance(local.get("sliding_attention"), dict)
                                      else typed(raw, "rope_local_base_freq", float, 10000.0, where=w))
    elif family == "qwen3":
        sw["qk_norm"] = True
    elif family == "smollm3":
        flags = typed(raw, "no_rope_layers", list, None, where=w)  # 1: the layer uses RoPE (sic)
        if flags is None:
            every = typed(raw, "no_rope_layer_interval", int, 4, where=w)
            flags = [int((i + 1) % every != 0) for i in range(n_layers)] if 0 < n_layers <= 4096 and every > 0 else []
        if flags and not all(flags):
            sw["rope_layers"] = [bool(v) for v in flags]
    elif family == "phi3":
        params = typed(raw, "rope_parameters", dict, None, where=w) or {}
        factor = (typed(params, "partial_rotary_factor", float, None, where=w)
                  or typed(raw, "partial_rotary_factor", float, 1.0, where=w))
        if factor != 1.0:
            sw["rotary_dim"] = int(head_dim * factor)
    if layer_types is not None and "sliding_attention" not in layer_types:
        window, layer_types = None, None
    return _config(
        w,
        arch="llama",
        vocab_size=typed(raw, "vocab_size", int, where=w),
        dim=dim,
        n_layers=n_layers,
        n_heads=n_heads,
        n_kv_heads=typed(raw, "num_key_value_heads", int, None, where=w) or n_heads,
        head_dim=explicit_head_dim,
        hidden_dim=typed(raw, "intermediate_size", int, where=w),
        max_seq_len=typed(raw, "max_position_embeddings", int, 2048, where=w),
        norm_eps=typed(raw, "rms_norm_eps", float, 1e-6, where=w),
        rope_theta=theta,
        rope_scaling=scaling or None,
        tie_embeddings=typed(raw, "tie_word_embeddings", bool, family in GEMMA, where=w),
        qkv_bias=family == "qwen2" or typed(raw, "attention_bias", bool, False, where=w),
        name=name,
        family=family,
        sliding_window=window or None,
        layer_types=layer_types,
        **sw,
    )


def quantization_name(f: GGUFFile) -> str:
    counts = Counter(t.type.name for t in f.tensors.values() if len(t.shape) == 2)
    return counts.most_common(1)[0][0] if counts else "?"
