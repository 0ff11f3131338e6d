"""Model metadata without torch: GGUF metadata and config.json → ModelConfig, quantization names.

The GUI's model picker reads these to describe files, so nothing here may import torch.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..model.config import ModelConfig
from .errors import GGUFError, UnsupportedArchitectureError
from .gguf_file import GGUFFile

LLAMA_ARCHS = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"}
GPT2_ARCHS = {"GPT2LMHeadModel"}
LLAMA_LIKE = {"llama": True, "mistral": True, "qwen2": False}  # arch → q/k rows permuted by the converter
SUPPORTED = sorted([*LLAMA_LIKE, "gpt2"])


def is_weight_file(name: str) -> bool:
    """A safetensors file of model weights (a checkpoint's optimizer state is not one)."""
    return name.endswith(".safetensors") and not name.startswith("optimizer")


def _require(f: GGUFFile, key: str):
    v = f.get(key)
    if v is None:
        raise GGUFError(f"the GGUF file lacks the metadata key {key!r}")
    return v


def gguf_config(f: GGUFFile) -> ModelConfig:
    arch = f.get("general.architecture")
    if arch not in SUPPORTED:
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
    )
    if a == "gpt2":
        return ModelConfig(arch="gpt2", bias=True, norm_eps=float(f.get(f"{a}.attention.layer_norm_epsilon", 1e-5)), **common)
    scaling = None
    kind = f.get(f"{a}.rope.scaling.type")
    if kind and kind != "none":
        scaling = {"rope_type": kind, "factor": float(f.get(f"{a}.rope.scaling.factor", 1.0))}
        orig = f.get(f"{a}.rope.scaling.original_context_length")
        if orig:
            scaling["original_max_position_embeddings"] = int(orig)
    return ModelConfig(
        arch="llama",
        n_kv_heads=int(f.get(f"{a}.attention.head_count_kv", common["n_heads"])),
        head_dim=f.get(f"{a}.attention.key_length"),
        norm_eps=float(f.get(f"{a}.attention.layer_norm_rms_epsilon", 1e-5)),
        rope_theta=float(f.get(f"{a}.rope.freq_base", 10000.0)),
        rope_scaling=scaling,
        qkv_bias="blk.0.attn_q.bias" in f.tensors,
        **common,
    )


def hf_config(raw: dict[str, Any]) -> ModelConfig:
    if "playground" in raw:
        return ModelConfig.from_dict(raw["playground"])
    archs = raw.get("architectures") or []
    arch = archs[0] if archs else raw.get("model_type", "?")
    if arch in GPT2_ARCHS or raw.get("model_type") == "gpt2":
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
        )
    if arch not in LLAMA_ARCHS:
        raise UnsupportedArchitectureError(
            f"config.json names the architecture {arch!r}; Playground runs "
            f"{', '.join(sorted(LLAMA_ARCHS | GPT2_ARCHS))}"
        )
    rope = dict(raw.get("rope_parameters") or raw.get("rope_scaling") or {})
    theta = rope.pop("rope_theta", None) or raw.get("rope_theta", 10000.0)
    if rope.get("rope_type", rope.get("type", "default")) in ("default", None):
        rope = {}
    return ModelConfig(
        arch="llama",
        vocab_size=raw["vocab_size"],
        dim=raw["hidden_size"],
        n_layers=raw["num_hidden_layers"],
        n_heads=raw["num_attention_heads"],
        n_kv_heads=raw.get("num_key_value_heads") or raw["num_attention_heads"],
        head_dim=raw.get("head_dim"),
        hidden_dim=raw["intermediate_size"],
        max_seq_len=raw.get("max_position_embeddings", 2048),
        norm_eps=raw.get("rms_norm_eps", 1e-6),
        rope_theta=float(theta),
        rope_scaling=rope or None,
        tie_embeddings=raw.get("tie_word_embeddings", False),
        qkv_bias=arch == "Qwen2ForCausalLM" or bool(raw.get("attention_bias", False)),
        name=raw.get("_name_or_path", ""),
    )


def quantization_name(f: GGUFFile) -> str:
    counts = Counter(t.type.name for t in f.tensors.values() if len(t.shape) == 2)
    return counts.most_common(1)[0][0] if counts else "?"


