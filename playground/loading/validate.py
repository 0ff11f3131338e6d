"""Check a whole model before building any of it.

A file is only believed once everything the architecture needs is there and consistent:
- the configuration is in sane ranges (`check_config`);
- every tensor the architecture needs is present, with the shape the configuration implies and
  a type we can read (`check_tensors`, driven by `SPECS` below);
- the vocabulary, merges, scores and special-token ids agree with each other and with the
  model (`check_gguf_vocab`, `check_token_ids`).
Each failure is a typed `ModelLoadError` naming the key or tensor and what was expected. The
memory the load will take is checked separately (memory.py), also before any allocation.

The expected tensors are data, one list per architecture: a new family is a new entry in
`SPECS` (and, for Hugging Face folders, in `HF_ARCHS`), nothing else here changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..model.config import ModelConfig
from .errors import ConfigError, TensorError, TokenizerError

# -------------------------------------------------------------------------------- sane ranges
# Generous bounds that every real model of today's families is far inside; a value beyond them
# is a corrupt or hostile file, and refusing it up front keeps loops and allocations bounded.
LIMITS = {
    "vocab_size": 1 << 22,  # 4.2 M tokens (the largest vocabularies are ~260 k)
    "dim": 1 << 16,
    "n_layers": 1024,
    "n_heads": 1024,
    "n_kv_heads": 1024,
    "head_dim": 2048,
    "hidden_dim": 1 << 19,
    "max_seq_len": 1 << 24,  # 16.7 M positions (the longest contexts are ~10 M)
}


@dataclass(frozen=True)
class TensorSpec:
    """One tensor an architecture needs.

    gguf / hf: its name in a GGUF file (llama.cpp's converter) and in a Hugging Face checkpoint
    (without the `model.` / `transformer.` prefix); "{i}" stands for the layer number.
    shape: numpy order (rows first), in the symbols of `dims()`. hf_shape: where the Hugging
    Face checkpoint stores it differently (GPT-2's Conv1D keeps (in, out)).
    when: a ModelConfig flag that must be true for the tensor to exist ("!flag": false; "optional":
    checked only where the file has it).
    """

    gguf: str
    hf: str
    shape: tuple[str, ...]
    when: str = ""
    hf_shape: tuple[str, ...] | None = None

    def needed(self, cfg: ModelConfig) -> bool:
        if not self.when or self.when == "optional":
            return True
        flag = self.when.lstrip("!")
        return bool(getattr(cfg, flag)) != self.when.startswith("!")


def dims(cfg: ModelConfig) -> dict[str, int]:
    """The symbols tensor shapes are written in."""
    q, kv = cfg.n_heads * cfg.head_dim, cfg.n_kv_heads * cfg.head_dim
    return {"vocab": cfg.vocab_size, "dim": cfg.dim, "hidden": cfg.hidden_dim, "ctx": cfg.max_seq_len,
            "head_dim": cfg.head_dim, "half_head": cfg.head_dim // 2, "q": q, "kv": kv, "qkv": q + 2 * kv,
            "gate_up": 2 * cfg.hidden_dim, "half_rot": (cfg.rotary_dim or cfg.head_dim) // 2}


def _llama_family() -> list[TensorSpec]:
    L, H = "blk.{i}.", "layers.{i}."
    return [
        TensorSpec("token_embd.weight", "embed_tokens.weight", ("vocab", "dim")),
        TensorSpec("output_norm.weight", "norm.weight", ("dim",)),
        TensorSpec("output.weight", "lm_head.weight", ("vocab", "dim"), when="!tie_embeddings"),
        TensorSpec("rope_freqs.weight", "", ("half_head",), when="optional"),  # Llama 3.1's RoPE divisors
        TensorSpec(L + "attn_norm.weight", H + "input_layernorm.weight", ("dim",)),
        TensorSpec(L + "attn_q.weight", H + "self_attn.q_proj.weight", ("q", "dim")),
        TensorSpec(L + "attn_k.weight", H + "self_attn.k_proj.weight", ("kv", "dim")),
        TensorSpec(L + "attn_v.weight", H + "self_attn.v_proj.weight", ("kv", "dim")),
        TensorSpec(L + "attn_q.bias", H + "self_attn.q_proj.bias", ("q",), when="qkv_bias"),
        TensorSpec(L + "attn_k.bias", H + "self_attn.k_proj.bias", ("kv",), when="qkv_bias"),
        TensorSpec(L + "attn_v.bias", H + "self_attn.v_proj.bias", ("kv",), when="qkv_bias"),
        TensorSpec(L + "attn_output.weight", H + "self_attn.o_proj.weight", ("dim", "q")),
        TensorSpec(L + "ffn_norm.weight", H + "post_attention_layernorm.weight", ("dim",)),
        TensorSpec(L + "ffn_gate.weight", H + "mlp.gate_proj.weight", ("hidden", "dim")),
        TensorSpec(L + "ffn_up.weight", H + "mlp.up_proj.weight", ("hidden", "dim")),
        TensorSpec(L + "ffn_down.weight", H + "mlp.down_proj.weight", ("dim", "hidden")),
        TensorSpec(L + "attn_q_norm.weight", H + "self_attn.q_norm.weight", ("head_dim",), when="qk_norm"),  # Qwen3
        TensorSpec(L + "attn_k_norm.weight", H + "self_attn.k_norm.weight", ("head_dim",), when="qk_norm"),
    ]


def _gemma() -> list[TensorSpec]:
    """Gemma 2 and 3: four norms per layer (Hugging Face's post_attention_layernorm follows the attention
    here), QK-norm in Gemma 3, tied embeddings."""
    L, H = "blk.{i}.", "layers.{i}."
    out = [t for t in _llama_family() if "norm" not in t.gguf or t.gguf in ("output_norm.weight",)]
    out += [
        TensorSpec(L + "attn_norm.weight", H + "input_layernorm.weight", ("dim",)),
        TensorSpec(L + "post_attention_norm.weight", H + "post_attention_layernorm.weight", ("dim",)),
        TensorSpec(L + "ffn_norm.weight", H + "pre_feedforward_layernorm.weight", ("dim",)),
        TensorSpec(L + "post_ffw_norm.weight", H + "post_feedforward_layernorm.weight", ("dim",)),
        TensorSpec(L + "attn_q_norm.weight", H + "self_attn.q_norm.weight", ("head_dim",), when="qk_norm"),
        TensorSpec(L + "attn_k_norm.weight", H + "self_attn.k_norm.weight", ("head_dim",), when="qk_norm"),
    ]
    return out


def _phi3() -> list[TensorSpec]:
    """Phi-3 and Phi-4-mini: q/k/v in one matrix, gate and up in another; LongRoPE's factors."""
    L, H = "blk.{i}.", "layers.{i}."
    fused = {"attn_q", "attn_k", "attn_v", "ffn_gate", "ffn_up"}
    out = [t for t in _llama_family() if not any(t.gguf.startswith(L + n + ".") for n in fused)
           and "q_norm" not in t.gguf and "k_norm" not in t.gguf]
    out += [
        TensorSpec(L + "attn_qkv.weight", H + "self_attn.qkv_proj.weight", ("qkv", "dim")),
        TensorSpec(L + "ffn_up.weight", H + "mlp.gate_up_proj.weight", ("gate_up", "dim")),
        TensorSpec("rope_factors_long.weight", "", ("half_rot",), when="optional"),
        TensorSpec("rope_factors_short.weight", "", ("half_rot",), when="optional"),
    ]
    return out


def _gpt2() -> list[TensorSpec]:
    L, H = "blk.{i}.", "h.{i}."
    out = [
        TensorSpec("token_embd.weight", "wte.weight", ("vocab", "dim")),
        TensorSpec("position_embd.weight", "wpe.weight", ("ctx", "dim")),
        TensorSpec("output_norm.weight", "ln_f.weight", ("dim",)),
        TensorSpec("output_norm.bias", "ln_f.bias", ("dim",)),
        TensorSpec("output.weight", "lm_head.weight", ("vocab", "dim"), when="!tie_embeddings"),
    ]
    for g, h in (("attn_norm", "ln_1"), ("ffn_norm", "ln_2")):
        out += [TensorSpec(L + g + ".weight", H + h + ".weight", ("dim",)),
                TensorSpec(L + g + ".bias", H + h + ".bias", ("dim",))]
    for g, h, rows, cols in (("attn_qkv", "attn.c_attn", "qkv", "dim"), ("attn_output", "attn.c_proj", "dim", "q"),
                             ("ffn_up", "mlp.c_fc", "hidden", "dim"), ("ffn_down", "mlp.c_proj", "dim", "hidden")):
        out += [TensorSpec(L + g + ".weight", H + h + ".weight", (rows, cols), hf_shape=(cols, rows)),
                TensorSpec(L + g + ".bias", H + h + ".bias", (rows,))]
    return out


# GGUF `general.architecture` → the tensors that architecture needs
SPECS: dict[str, list[TensorSpec]] = {
    "llama": _llama_family(),
    "mistral": _llama_family(),
    "qwen2": _llama_family(),
    "qwen3": _llama_family(),
    "smollm3": _llama_family(),
    "gemma2": _gemma(),
    "gemma3": _gemma(),
    "phi3": _phi3(),
    "gpt2": _gpt2(),
}
# Hugging Face `architectures[0]` → (its SPECS entry, the prefix its checkpoints put on every name)
HF_ARCHS: dict[str, tuple[str, str]] = {
    "LlamaForCausalLM": ("llama", "model."),
    "MistralForCausalLM": ("mistral", "model."),
    "Qwen2ForCausalLM": ("qwen2", "model."),
    "Qwen3ForCausalLM": ("qwen3", "model."),
    "SmolLM3ForCausalLM": ("smollm3", "model."),
    "Gemma2ForCausalLM": ("gemma2", "model."),
    "Gemma3ForCausalLM": ("gemma3", "model."),
    # the text part of the multimodal checkpoints (transformers 5's names; 4's were language_model.model.)
    "Gemma3ForConditionalGeneration": ("gemma3", "model.language_model."),
    "Phi3ForCausalLM": ("phi3", "model."),
    "GPT2LMHeadModel": ("gpt2", "transformer."),
}
# where a family's checkpoints may put their names instead (older transformers)
HF_PREFIX_ALTERNATIVES = ("language_model.model.",)

# What a tensor may be stored as. Matrices: anything we can dequantize; vectors (norms, biases): floats.
GGUF_MATRIX_TYPES = frozenset({
    "F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
    "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ1_S", "IQ1_M", "IQ4_NL", "IQ4_XS", "TQ1_0", "TQ2_0", "MXFP4",
})
GGUF_VECTOR_TYPES = frozenset({"F32", "F16", "BF16"})
HF_FLOAT_TYPES = frozenset({"F32", "F16", "BF16"})


def expected_tensors(arch: str, cfg: ModelConfig, naming: str = "gguf",
                     present: Iterable[str] = ()) -> dict[str, tuple[int, ...]]:
    """Name → shape of every tensor `arch` needs under this configuration ("gguf" or "hf" names),
    plus the optional ones among `present`."""
    try:
        spec = SPECS[arch]
    except KeyError:
        raise TensorError(f"Playground has no tensor list for the architecture {arch!r}") from None
    sym = dims(cfg)
    present = set(present)
    out: dict[str, tuple[int, ...]] = {}
    for t in spec:
        name = t.gguf if naming == "gguf" else t.hf
        if not name or not t.needed(cfg):
            continue
        shape = tuple(sym[s] for s in (t.hf_shape if naming == "hf" and t.hf_shape else t.shape))
        for i in range(cfg.n_layers) if "{i}" in name else [None]:
            n = name.format(i=i)
            if t.when != "optional" or n in present:
                out[n] = shape
    return out


def check_tensors(found: Mapping[str, tuple[tuple[int, ...], str]], expected: Mapping[str, tuple[int, ...]],
                  where: str, matrix_types: Iterable[str], vector_types: Iterable[str]) -> None:
    """Every expected tensor is in `found` (name → (shape, type name)) with that shape and a usable type."""
    if len(expected) > len(found):  # cheap first: a file claiming many layers cannot hold them
        missing = next(n for n in expected if n not in found)
        raise TensorError(f"{where} lacks the tensor {missing!r} ({len(expected)} tensors expected, "
                          f"{len(found)} present)")
    matrix_types, vector_types = frozenset(matrix_types), frozenset(vector_types)
    for name, shape in expected.items():
        got = found.get(name)
        if got is None:
            raise TensorError(f"{where} lacks the tensor {name!r} (expected shape {list(shape)})")
        gshape, gtype = got
        if tuple(gshape) != shape:
            raise TensorError(f"tensor {name!r} has shape {list(gshape)}; the model's configuration implies {list(shape)}")
        allowed = vector_types if len(shape) == 1 else matrix_types
        if gtype not in allowed:
            raise TensorError(f"tensor {name!r} is stored as {gtype}; Playground reads "
                              f"{', '.join(sorted(allowed))} for a {'vector' if len(shape) == 1 else 'matrix'}")


# -------------------------------------------------------------------------------- configuration
def check_config(cfg: ModelConfig, where: str) -> None:
    """Sizes, head counts, context and numeric settings in sane ranges."""
    for name, top in LIMITS.items():
        v = getattr(cfg, name)
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= top:
            raise ConfigError(f"{where}: {name} is {v!r}; expected a whole number from 1 to {top:,}")
    if cfg.n_heads % cfg.n_kv_heads:
        raise ConfigError(f"{where}: {cfg.n_heads} attention heads cannot share {cfg.n_kv_heads} key/value heads evenly")
    if cfg.arch != "gpt2" and cfg.head_dim % 2:
        raise ConfigError(f"{where}: the head size {cfg.head_dim} is odd; rotary positions need an even one")
    if cfg.n_heads * cfg.head_dim > 1 << 18:
        raise ConfigError(f"{where}: {cfg.n_heads} heads of {cfg.head_dim} is beyond any real model")
    for name in ("tie_embeddings", "qkv_bias", "bias"):
        if not isinstance(getattr(cfg, name), bool):
            raise ConfigError(f"{where}: {name} is {getattr(cfg, name)!r}, not true or false")
    if isinstance(cfg.dropout, bool) or not isinstance(cfg.dropout, (int, float)) or not 0 <= cfg.dropout < 1:
        raise ConfigError(f"{where}: dropout is {cfg.dropout!r}; expected a probability below 1")
    _finite(cfg.norm_eps, "the norm epsilon", where, 0.0, 1.0)
    _finite(cfg.rope_theta, "the RoPE base", where, 0.0, 1e12)
    sc = cfg.rope_scaling
    if sc is not None:
        if not isinstance(sc, dict):
            raise ConfigError(f"{where}: the RoPE scaling is {sc!r}, not a table of settings")
        for key in ("factor", "low_freq_factor", "high_freq_factor"):
            if key in sc and sc[key] is not None:
                _finite(sc[key], f"the RoPE scaling {key}", where, 0.0, 1e6)
        orig = sc.get("original_max_position_embeddings")
        if orig is not None and (not isinstance(orig, int) or isinstance(orig, bool) or not 1 <= orig <= LIMITS["max_seq_len"]):
            raise ConfigError(f"{where}: the RoPE scaling's original context {orig!r} is not a sane length")
        kind = sc.get("rope_type", sc.get("type"))
        if kind is not None and not isinstance(kind, str):
            raise ConfigError(f"{where}: the RoPE scaling type {kind!r} is not a name")
        for key in ("long_factor", "short_factor"):  # LongRoPE: one divisor per rotated pair
            v = sc.get(key)
            if v is not None and (not isinstance(v, list) or len(v) != (cfg.rotary_dim or cfg.head_dim) // 2):
                raise ConfigError(f"{where}: the RoPE {key} needs {(cfg.rotary_dim or cfg.head_dim) // 2} numbers")
            for x in v or ():
                _finite(x, f"a RoPE {key}", where, 0.0, 1e6)
    _check_family_switches(cfg, where)


def _check_family_switches(cfg: ModelConfig, where: str) -> None:
    """The switches of the families beyond Llama (model/config.py): sane values only."""
    for name in ("qk_norm", "sandwich_norm"):
        if not isinstance(getattr(cfg, name), bool):
            raise ConfigError(f"{where}: {name} is {getattr(cfg, name)!r}, not true or false")
    _finite(cfg.embed_scale, "the embedding scale", where, 0.0, 1e4)
    for name, what in (("attn_scale", "the attention scale"), ("attn_softcap", "the attention soft-cap"),
                       ("final_softcap", "the logit soft-cap"), ("rope_local_theta", "the sliding layers' RoPE base")):
        v = getattr(cfg, name)
        if v is not None:
            _finite(v, what, where, 0.0, 1e12)
    w = cfg.sliding_window
    if w is not None and (isinstance(w, bool) or not isinstance(w, int) or not 1 <= w <= LIMITS["max_seq_len"]):
        raise ConfigError(f"{where}: the sliding window {w!r} is not a sane length")
    for name, ok in (("layer_types", lambda v: v in ("sliding_attention", "full_attention")),
                     ("rope_layers", lambda v: isinstance(v, bool))):
        per = getattr(cfg, name)
        if per is not None and (not isinstance(per, list) or len(per) != cfg.n_layers or not all(map(ok, per))):
            raise ConfigError(f"{where}: {name} must give each of the {cfg.n_layers} layers a valid entry")


def _finite(v, what: str, where: str, lo: float, hi: float) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo < v <= hi:
        raise ConfigError(f"{where}: {what} is {v!r}; expected a number above {lo:g} and at most {hi:g}")


# -------------------------------------------------------------------------------- vocabulary
MAX_TOKEN_BYTES = 4096  # the longest real tokens are runs of a few hundred spaces or dashes


def check_gguf_vocab(f, cfg: ModelConfig) -> None:
    """The GGUF vocabulary: token list, types, scores and merges agree, and fit the model."""
    tokens = f.get("tokenizer.ggml.tokens")
    if not isinstance(tokens, list) or not tokens:
        raise TokenizerError("the GGUF file carries no vocabulary (tokenizer.ggml.tokens is missing or not a list of strings)")
    if not all(isinstance(t, str) for t in tokens):
        raise TokenizerError("tokenizer.ggml.tokens holds something other than strings")
    if len(tokens) > cfg.vocab_size:
        raise TokenizerError(f"the vocabulary has {len(tokens):,} tokens but the model's embedding only "
                             f"{cfg.vocab_size:,} rows (tokenizer.ggml.tokens vs token_embd.weight)")
    long = next((i for i, t in enumerate(tokens) if len(t) > MAX_TOKEN_BYTES), None)
    if long is not None:
        raise TokenizerError(f"token {long} is {len(tokens[long]):,} characters long (at most {MAX_TOKEN_BYTES:,} expected)")
    model = f.get("tokenizer.ggml.model")
    if model not in ("gpt2", "llama"):
        raise TokenizerError(f"the GGUF vocabulary type {model!r} is not supported (supported: gpt2, llama)")
    for key in ("tokenizer.ggml.token_type", "tokenizer.ggml.scores"):
        arr = f.get(key)
        if arr is None:
            continue
        if getattr(arr, "dtype", None) is None or arr.dtype.kind not in "iuf" or arr.ndim != 1:
            raise TokenizerError(f"{key} must be an array of numbers")
        if len(arr) != len(tokens):
            raise TokenizerError(f"{key} has {len(arr):,} entries for {len(tokens):,} tokens")
    pre = f.get("tokenizer.ggml.pre")
    if pre is not None and not isinstance(pre, str):
        raise TokenizerError(f"tokenizer.ggml.pre is {pre!r}, not a name")
    template = f.get("tokenizer.chat_template")
    if template is not None and not isinstance(template, str):
        raise TokenizerError("tokenizer.chat_template is not text")
    if model == "gpt2":
        merges = f.get("tokenizer.ggml.merges")
        if merges is not None:
            if not isinstance(merges, list) or not all(isinstance(m, str) for m in merges):
                raise TokenizerError("tokenizer.ggml.merges must be a list of strings")
            check_merges(merges, tokens)
    for key in ("bos", "eos", "eot", "eom", "unknown", "padding", "sep", "cls", "mask"):
        check_token_id(f.get(f"tokenizer.ggml.{key}_token_id"), len(tokens), f"tokenizer.ggml.{key}_token_id")
    for key in ("tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token", "tokenizer.ggml.add_space_prefix"):
        v = f.get(key)
        if v is not None and not isinstance(v, bool):
            raise TokenizerError(f"{key} is {v!r}, not true or false")


def check_merges(merges: list[str], tokens: list[str]) -> None:
    """Each merge is "a b" where a, b and their join are all tokens of the vocabulary."""
    vocab = set(tokens)
    for n, m in enumerate(merges):
        a, sep, b = m.partition(" ")
        if not sep or not a or not b:
            raise TokenizerError(f"merge rule {n} ({m[:40]!r}) is not two tokens separated by a space")
        for part in (a, b):
            if part not in vocab:
                raise TokenizerError(f"merge rule {n} ({m[:40]!r}) names {part[:40]!r}, which is not in the vocabulary")
        if a + b not in vocab:
            raise TokenizerError(f"merge rule {n} ({m[:40]!r}) makes {(a + b)[:40]!r}, which is not in the vocabulary")


def check_token_id(v, n_tokens: int, key: str) -> None:
    if v is None:
        return
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n_tokens:
        raise TokenizerError(f"{key} is {v!r}; expected a token id from 0 to {n_tokens - 1}")


def check_token_ids(n_model_vocab: int, id_limit: int, where: str) -> None:
    """The tokenizer can only produce ids the model has embeddings for (id_limit: its largest id + 1)."""
    if id_limit > n_model_vocab:
        raise TokenizerError(f"{where} has token ids up to {id_limit - 1:,} but the model's embedding only "
                             f"{n_model_vocab:,} rows; the tokenizer does not belong to these weights")
