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
from typing import Any

from ..model.config import ModelConfig
from .errors import GGUFError, UnsupportedArchitectureError
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


def _require(f: GGUFFile, key: str):
    v = f.get(key)
    if v is None:
        raise GGUFError(f"the GGUF file lacks the metadata key {key!r}")
    return v


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
    a = arch
    n_vocab = f.get(f"{a}.vocab_size") or len(f.get("tokenizer.ggml.tokens") or [])
    if not n_vocab and "token_embd.weight" in f.tensors:
        n_vocab = f.tensors["token_embd.weight"].shape[0]
    common = dict(
        vocab_size=int(n_vocab),
        dim=int(_require(f, f"{a}.embedding_length")),
        n_layers=int(_require(f, f"{a}.block_count")),
        n_heads=int(_require(f, f"{a}.attention.head_count")),
        hidden_dim=int(_require(f, f"{a}.feed_forward_length")),
        max_seq_len=int(f.get(f"{a}.context_length", 2048)),
        tie_embeddings="output.weight" not in f.tensors,
        name=str(f.get("general.name", f.path.stem)),
        family=a,
    )
    if a == "gpt2":
        return ModelConfig(arch="gpt2", bias=True, norm_eps=float(f.get(f"{a}.attention.layer_norm_epsilon", 1e-5)), **common)
    n_layers, dim, n_heads = common["n_layers"], common["dim"], common["n_heads"]
    head_dim = int(f.get(f"{a}.attention.key_length") or dim // n_heads)
    scaling = None
    kind = f.get(f"{a}.rope.scaling.type")
    if kind and kind != "none":
        scaling = {"rope_type": kind, "factor": float(f.get(f"{a}.rope.scaling.factor", 1.0))}
        orig = f.get(f"{a}.rope.scaling.original_context_length")
        if orig:
            scaling["original_max_position_embeddings"] = int(orig)
    sw: dict[str, Any] = {}
    window = f.get(f"{a}.attention.sliding_window")
    if a in GEMMA:
        window = int(window or (4096 if a == "gemma2" else 0))  # Gemma 3 without the key: no sliding layers
        softcap = f.get(f"{a}.attn_logit_softcapping")
        final = f.get(f"{a}.final_logit_softcapping")
        sw = dict(mlp_act="gelu_tanh", sandwich_norm=True, embed_scale=math.sqrt(dim), qk_norm=a == "gemma3",
                  attn_scale=float(f.get(f"{a}.attention.scale") or gemma_attn_scale(a, n_layers, dim, n_heads, head_dim)),
                  attn_softcap=float(softcap) if softcap else None, final_softcap=float(final) if final else None,
                  layer_types=pattern_layer_types(n_layers, SLIDING_PATTERN[a]) if window else None)
        if a == "gemma3":
            sw["rope_local_theta"] = float(f.get(f"{a}.rope.freq_base_swa", 10000.0))
    elif a == "qwen3":
        sw = dict(qk_norm=True)
    elif a == "smollm3":  # llama.cpp: every fourth layer has no RoPE (no key stores it)
        sw = dict(rope_layers=[(i + 1) % 4 != 0 for i in range(n_layers)])
    elif a == "phi3":
        rd = f.get(f"{a}.rope.dimension_count")
        if rd and int(rd) != head_dim:
            sw["rotary_dim"] = int(rd)
        if "rope_factors_long.weight" in f.tensors and "rope_factors_short.weight" in f.tensors:
            scaling = {"rope_type": "longrope",
                       "long_factor": [float(v) for v in f.array("rope_factors_long.weight")],
                       "short_factor": [float(v) for v in f.array("rope_factors_short.weight")],
                       "original_max_position_embeddings": int(f.get(f"{a}.rope.scaling.original_context_length")
                                                               or common["max_seq_len"])}
            attn_factor = f.get(f"{a}.rope.scaling.attn_factor")
            if attn_factor is not None:
                scaling["attention_factor"] = float(attn_factor)
    return ModelConfig(
        arch="llama",
        n_kv_heads=int(f.get(f"{a}.attention.head_count_kv", n_heads)),
        head_dim=head_dim,
        norm_eps=float(f.get(f"{a}.attention.layer_norm_rms_epsilon", 1e-5)),
        rope_theta=float(f.get(f"{a}.rope.freq_base", 10000.0)),
        rope_scaling=scaling,
        qkv_bias="blk.0.attn_q.bias" in f.tensors,
        sliding_window=int(window) if window else None,
        **sw,
        **common,
    )


# ---------------------------------------------------------------------------- config.json
def _rope_params(raw: dict[str, Any], layer_type: str | None = None) -> tuple[float, dict[str, Any]]:
    """(theta, scaling) from config.json: transformers 5's rope_parameters (per layer type where a
    model has several) or the older rope_theta / rope_scaling."""
    params = raw.get("rope_parameters") or {}
    if layer_type is not None and isinstance(params.get(layer_type), dict):
        params = params[layer_type]
    elif layer_type is not None and "full_attention" in params:
        params = params["full_attention"]
    params = dict(params or raw.get("rope_scaling") or {})
    theta = params.pop("rope_theta", None) or raw.get("rope_theta", 10000.0)
    params.pop("partial_rotary_factor", None)
    if params.get("rope_type", params.get("type", "default")) in ("default", None):
        return float(theta), {}
    if "original_max_position_embeddings" not in params and raw.get("original_max_position_embeddings"):
        params["original_max_position_embeddings"] = raw["original_max_position_embeddings"]
    return float(theta), params


def hf_config(raw: dict[str, Any]) -> ModelConfig:
    if "playground" in raw:
        return ModelConfig.from_dict(raw["playground"])
    archs = raw.get("architectures") or []
    arch = archs[0] if archs else raw.get("model_type", "?")
    family = HF_FAMILIES.get(arch) or ("gpt2" if raw.get("model_type") == "gpt2" else None)
    if family is None:
        raise UnsupportedArchitectureError(
            f"config.json names the architecture {arch!r}; Playground runs {', '.join(sorted(HF_FAMILIES))}"
        )
    if family == "gpt2":
        return ModelConfig(
            arch="gpt2",
            vocab_size=raw["vocab_size"],
            dim=raw["n_embd"],
            n_layers=raw["n_layer"],
            n_heads=raw["n_head"],
            hidden_dim=raw.get("n_inner") or 4 * raw["n_embd"],
            max_seq_len=raw["n_positions"],
            norm_eps=raw.get("layer_norm_epsilon", 1e-5),
            bias=True,
            tie_embeddings=raw.get("tie_word_embeddings", True),
            name=raw.get("_name_or_path", ""),
            family="gpt2",
        )
    top = raw
    if "text_config" in raw:  # Gemma 3's multimodal checkpoints: the language model's own config
        raw = {**raw["text_config"], "tie_word_embeddings": raw.get("tie_word_embeddings", True)}
    dim, n_heads, n_layers = raw["hidden_size"], raw["num_attention_heads"], raw["num_hidden_layers"]
    head_dim = raw.get("head_dim") or dim // n_heads
    theta, scaling = _rope_params(raw, "full_attention" if family == "gemma3" else None)
    act = raw.get("hidden_activation") or raw.get("hidden_act") or "silu"
    sw: dict[str, Any] = dict(mlp_act="gelu_tanh" if "gelu" in act else "silu")
    window = raw.get("sliding_window") if raw.get("use_sliding_window", True) else None
    layer_types = raw.get("layer_types") if window else None
    if family in GEMMA:
        if window and layer_types is None:
            every = raw.get("sliding_window_pattern") or raw.get("_sliding_window_pattern") or SLIDING_PATTERN[family]
            layer_types = pattern_layer_types(n_layers, every)
        sw.update(sandwich_norm=True, embed_scale=math.sqrt(dim), qk_norm=family == "gemma3",
                  attn_scale=raw.get("query_pre_attn_scalar", head_dim) ** -0.5,
                  attn_softcap=raw.get("attn_logit_softcapping"), final_softcap=raw.get("final_logit_softcapping"))
        if family == "gemma3":
            sw["rope_local_theta"] = float(_rope_params(raw, "sliding_attention")[0]
                                           if isinstance((raw.get("rope_parameters") or {}).get("sliding_attention"), dict)
                                           else raw.get("rope_local_base_freq", 10000.0))
    elif family == "qwen3":
        sw["qk_norm"] = True
    elif family == "smollm3":
        flags = raw.get("no_rope_layers")  # 1: the layer uses RoPE (sic)
        if flags is None:
            every = raw.get("no_rope_layer_interval", 4)
            flags = [int((i + 1) % every != 0) for i in range(n_layers)]
        if not all(flags):
            sw["rope_layers"] = [bool(v) for v in flags]
    elif family == "phi3":
        params = raw.get("rope_parameters") or {}
        factor = params.get("partial_rotary_factor") or raw.get("partial_rotary_factor") or 1.0
        if factor != 1.0:
            sw["rotary_dim"] = int(head_dim * factor)
    if layer_types is not None and "sliding_attention" not in layer_types:
        window, layer_types = None, None
    return ModelConfig(
        arch="llama",
        vocab_size=raw["vocab_size"],
        dim=dim,
        n_layers=n_layers,
        n_heads=n_heads,
        n_kv_heads=raw.get("num_key_value_heads") or n_heads,
        head_dim=head_dim,
        hidden_dim=raw["intermediate_size"],
        max_seq_len=raw.get("max_position_embeddings", 2048),
        norm_eps=raw.get("rms_norm_eps", 1e-6),
        rope_theta=theta,
        rope_scaling=scaling or None,
        tie_embeddings=raw.get("tie_word_embeddings", family in GEMMA),
        qkv_bias=family == "qwen2" or bool(raw.get("attention_bias", False)),
        name=top.get("_name_or_path", ""),
        family=family,
        sliding_window=int(window) if window else None,
        layer_types=layer_types,
        **sw,
    )


def quantization_name(f: GGUFFile) -> str:
    counts = Counter(t.type.name for t in f.tensors.values() if len(t.shape) == 2)
    return counts.most_common(1)[0][0] if counts else "?"
