"""Load a GGUF file: metadata → ModelConfig, tensors → our parameter names, vocabulary → tokenizer.

llama.cpp's converter permutes the rows of the Llama family's q and k projections so that
its RoPE can rotate adjacent pairs; our RoPE (like Hugging Face's) rotates the two halves of
each head, so we undo that permutation here (Llama, Mistral, SmolLM3; Qwen, Gemma and Phi files
are not permuted: NeoX RoPE). Phi-3 files fuse q/k/v into attn_qkv and gate/up into ffn_up; we
split them for the reference model. Gemma files store their norms as 1 + w already.
"""

from __future__ import annotations

import numpy as np
import torch

from ..model.config import ModelConfig
from ..tokenization.tokenizer import TextTokenizer
from ._heap import trim
from .errors import GGUFError, UnsupportedArchitectureError
from .gguf_file import GGUFFile
from .gguf_vocab import build_byte_level, build_sentencepiece
from .hf import wrap_tokenizer
from .meta import PERMUTED_QK, gguf_config, quantization_name  # noqa: F401 (re-exported)


def _unpermute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Invert llama.cpp's q/k row permutation (pairs interleaved → halves)."""
    rows = w.shape[0]
    return w.reshape(n_heads, rows // n_heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


class Lazy:
    """A tensor that is dequantized only when the model copies it in (keeps peak memory low)."""

    def __init__(self, shape: tuple[int, ...], make):
        self.shape, self._make = tuple(shape), make

    def __call__(self) -> np.ndarray:
        return self._make()


# GGUF's per-layer tensors → ours (the llama shape)
_LAYER_TENSORS = {
    "attn_norm": "attention_norm", "ffn_norm": "ffn_norm", "post_attention_norm": "post_attention_norm",
    "post_ffw_norm": "post_ffn_norm", "attn_q_norm": "attention.q_norm", "attn_k_norm": "attention.k_norm",
    "attn_output": "attention.wo", "ffn_down": "feed_forward.w2",
}


def gguf_state_dict(f: GGUFFile, cfg: ModelConfig) -> dict[str, Lazy]:
    """Float32 tensors, dequantized on demand, under our parameter names."""
    arch = f.get("general.architecture")
    permuted = arch in PERMUTED_QK
    sd: dict[str, np.ndarray] = {}

    def take(src: str, dst: str, required: bool = True, fn=None):
        if src not in f.tensors:
            if required:
                raise GGUFError(f"the GGUF file lacks the tensor {src!r}")
            return
        sd[dst] = Lazy(f.tensors[src].shape, lambda: fn(f.array(src)) if fn else f.array(src))

    def split(src: str, dsts: list[str], sizes: list[int]):
        """Rows of one fused tensor → several of ours (GPT-2's and Phi-3's qkv, Phi-3's gate/up)."""
        if src not in f.tensors:
            raise GGUFError(f"the GGUF file lacks the tensor {src!r}")
        shape = f.tensors[src].shape
        if shape[0] != sum(sizes):
            raise GGUFError(f"{src} has {shape[0]} rows; the config implies {sum(sizes)}")
        bounds = np.cumsum([0, *sizes])
        for j, dst in enumerate(dsts):
            sd[dst] = Lazy((sizes[j], *shape[1:]),
                           lambda j=j: np.ascontiguousarray(f.array(src)[bounds[j] : bounds[j + 1]]))

    take("token_embd.weight", "tok_embeddings.weight")
    take("output_norm.weight", "norm.weight")
    take("output.weight", "output.weight", required=False)
    if arch == "gpt2":
        take("position_embd.weight", "pos_embeddings.weight")
        take("output_norm.bias", "norm.bias")
        for i in range(cfg.n_layers):
            b, L = f"blk.{i}.", f"layers.{i}."
            for n, dst in (("attn_norm", "attention_norm"), ("ffn_norm", "ffn_norm")):
                take(b + n + ".weight", L + dst + ".weight")
                take(b + n + ".bias", L + dst + ".bias")
            for n, dst in (("attn_output", "attention.wo"), ("ffn_up", "feed_forward.fc"),
                           ("ffn_down", "feed_forward.proj")):
                take(b + n + ".weight", L + dst + ".weight")
                take(b + n + ".bias", L + dst + ".bias")
            for part in ("weight", "bias"):
                split(b + f"attn_qkv.{part}", [L + f"attention.{n}.{part}" for n in ("wq", "wk", "wv")], [cfg.dim] * 3)
        return sd
    q_rows, kv_rows = cfg.n_heads * cfg.head_dim, cfg.n_kv_heads * cfg.head_dim
    for i in range(cfg.n_layers):
        b, L = f"blk.{i}.", f"layers.{i}."
        for src, dst in _LAYER_TENSORS.items():
            take(b + src + ".weight", L + dst + ".weight", required=src in ("attn_norm", "ffn_norm", "attn_output",
                                                                               "ffn_down"))
        if arch == "phi3":  # fused q/k/v, and gate/up
            split(b + "attn_qkv.weight", [L + f"attention.{n}.weight" for n in ("wq", "wk", "wv")],
                  [q_rows, kv_rows, kv_rows])
            split(b + "ffn_up.weight", [L + "feed_forward.w1.weight", L + "feed_forward.w3.weight"],
                  [cfg.hidden_dim, cfg.hidden_dim])
            continue
        take(b + "ffn_gate.weight", L + "feed_forward.w1.weight")
        take(b + "ffn_up.weight", L + "feed_forward.w3.weight")
        for src, dst, heads in (("attn_q", "wq", cfg.n_heads), ("attn_k", "wk", cfg.n_kv_heads), ("attn_v", "wv", None)):
            fn = (lambda w, h=heads: _unpermute(w, h)) if permuted and heads else None
            take(b + src + ".weight", L + f"attention.{dst}.weight", fn=fn)
            take(b + src + ".bias", L + f"attention.{dst}.bias", required=cfg.qkv_bias, fn=fn)
    return sd


def gguf_tokenizer(f: GGUFFile) -> TextTokenizer:
    """The file's tokenizer. What the tokenizers library or the chat template compiler raise
    becomes a TokenizerError with its message (validate.check_gguf_vocab has run before)."""
    return wrap_tokenizer(f.path.name, lambda: _gguf_tokenizer(f))


def _gguf_tokenizer(f: GGUFFile) -> TextTokenizer:
    model = f.get("tokenizer.ggml.model")
    tokens = f.get("tokenizer.ggml.tokens")
    if not tokens:
        raise GGUFError("the GGUF file carries no vocabulary (tokenizer.ggml.tokens)")
    types = f.get("tokenizer.ggml.token_type")
    if types is not None and len(types) != len(tokens):
        raise GGUFError("tokenizer.ggml.token_type and tokenizer.ggml.tokens differ in length")
    if model == "gpt2":
        tok = build_byte_level(tokens, f.get("tokenizer.ggml.merges") or [], f.get("tokenizer.ggml.pre"), types)
        default_add_bos = False
    elif model == "llama":
        scores = f.get("tokenizer.ggml.scores")
        tok = build_sentencepiece(
            tokens, scores, types, f.get("tokenizer.ggml.unknown_token_id"),
            bool(f.get("tokenizer.ggml.add_space_prefix", True)),
        )
        default_add_bos = True
    else:
        raise GGUFError(f"the GGUF vocabulary type {model!r} is not supported (supported: gpt2, llama)")

    def token(key: str) -> tuple[int | None, str]:
        i = f.get(key)
        if i is None or not 0 <= int(i) < len(tokens):
            return None, ""
        return int(i), tokens[int(i)]

    bos_id, bos = token("tokenizer.ggml.bos_token_id")
    eos_id, eos = token("tokenizer.ggml.eos_token_id")
    eos_ids = [i for i in (eos_id, token("tokenizer.ggml.eot_token_id")[0]) if i is not None]
    # ChatML models end a turn with <|im_end|>; llama.cpp treats it as end-of-generation too
    for name in ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>"):
        i = tok.token_to_id(name)
        if i is not None and i not in eos_ids:
            eos_ids.append(i)
    return TextTokenizer(
        tok,
        bos_id=bos_id,
        eos_ids=eos_ids,
        add_bos=bool(f.get("tokenizer.ggml.add_bos_token", default_add_bos)),
        chat_template=f.get("tokenizer.chat_template"),
        bos_token=bos,
        eos_token=eos,
    )


def rope_freq_factors(f: GGUFFile) -> torch.Tensor | None:
    """Llama 3.1+ files store their RoPE scaling as per-frequency divisors."""
    if "rope_freqs.weight" in f.tensors:
        return torch.from_numpy(f.array("rope_freqs.weight").copy())
    return None


# ---------------------------------------------------------------------------- the fast path
_Q4 = {"Q4_0", "Q4_1"}


def _row_perm(rows: int, n_heads: int) -> np.ndarray:
    """Row indices that undo the converter's q/k permutation (a pure row gather)."""
    return _unpermute(np.arange(rows), n_heads)


def _qlinear(f: GGUFFile, parts: list[tuple[str, int | None]], bias: torch.Tensor | None = None):
    """One product over the row-concatenation of GGUF tensors (q|k|v, gate|up), kept as the file
    stores them: Q4_0/Q4_1 as 4-bit groups, Q8_0 as 8-bit groups, the other block formats and
    F16/BF16 as their raw blocks (model/blocklinear.py). F32 weights become 8-bit groups. Parts
    stored in different types stay separate products, side by side (blocklinear.Parts)."""
    from ..model.blocklinear import RAW_KINDS, BlockLinear, Parts
    from ..model.quant import QLinear, q4_blocks

    types = {f.tensors[n].type.name for n, _ in parts}
    if len(types) > 1:  # e.g. Q4_K_M's q and k in Q4_K, v in Q6_K
        biases = [None] * len(parts)
        if bias is not None:
            sizes = [f.tensors[n].shape[0] for n, _ in parts]
            biases = list(torch.split(bias, sizes))
        return Parts([_qlinear(f, [p], b) for p, b in zip(parts, biases)])
    kind = types.pop()

    def rows(name: str, heads: int | None) -> np.ndarray:
        raw = f.raw(name)
        return raw[_row_perm(raw.shape[0], heads)] if heads else raw

    if kind in _Q4:
        got = [q4_blocks(rows(name, heads), kind) for name, heads in parts]
        qs, d, m = (np.concatenate(a) if len(a) > 1 else a[0] for a in zip(*got))
        return QLinear("q4", qs, d, m, bias=bias)
    if kind in RAW_KINDS:
        cols = f.tensors[parts[0][0]].shape[1]
        raw = [rows(name, heads) for name, heads in parts]
        # one copy out of the file's pages (BlockLinear keeps a tensor as given, and copies an array)
        kept = np.concatenate(raw) if len(raw) > 1 else np.array(raw[0], dtype=np.uint8, copy=True)
        return BlockLinear(kind, torch.from_numpy(kept), cols, bias=bias)
    qs, d = zip(*(_q8_rows(f, name, heads) for name, heads in parts))
    return QLinear("q8", torch.cat(qs) if len(qs) > 1 else qs[0], torch.cat(d) if len(d) > 1 else d[0], bias=bias)


def _q8_rows(f: GGUFFile, name: str, heads: int | None, chunk: int = 4096):
    """8-bit groups of 32 for a tensor of any type: Q8_0 as stored; others dequantized a few
    thousand rows at a time (the float32 copy of a large matrix never exists whole) and requantized
    as llama.cpp's converter makes Q8_0 (float_fast.q8_0_into)."""
    from gguf.quants import dequantize

    from ..model.quant import q8_0_blocks
    from .float_fast import q8_0_into

    raw = f.raw(name)
    if heads:
        raw = raw[_row_perm(raw.shape[0], heads)]
    rows, cols = f.tensors[name].shape
    if cols % 32:
        raise UnsupportedArchitectureError(f"{name} has rows of {cols}, not a multiple of 32")
    if f.tensors[name].type.name == "Q8_0":
        qs, d = q8_0_blocks(raw)
        return torch.from_numpy(qs), torch.from_numpy(d)
    q = torch.empty(rows, cols, dtype=torch.int8)
    d = torch.empty(rows, cols // 32, dtype=torch.float16)
    for a in range(0, rows, chunk):
        part = dequantize(np.ascontiguousarray(raw[a : a + chunk]), f.tensors[name].type).reshape(-1, cols)
        q8_0_into(torch.from_numpy(np.array(part, dtype=np.float32)), q[a : a + chunk], d[a : a + chunk])
    return q, d


def fast_model_from_gguf(f: GGUFFile, cfg: ModelConfig):
    """A FastLlama over this file's weights, kept quantized (every "llama"-shaped family)."""
    from ..model.fast import FastLlama

    arch = f.get("general.architecture")
    if cfg.arch != "llama":
        raise UnsupportedArchitectureError(f"the fast path runs the Llama-shaped families, not {arch!r}")
    qh, kh = (cfg.n_heads, cfg.n_kv_heads) if arch in PERMUTED_QK else (None, None)

    def vec(name: str) -> torch.Tensor:
        if name not in f.tensors:
            raise GGUFError(f"the GGUF file lacks the tensor {name!r}")
        return torch.from_numpy(np.array(f.array(name), dtype=np.float32))

    def need(*names: str) -> None:
        for n in names:
            if n not in f.tensors:
                raise GGUFError(f"the GGUF file lacks the tensor {n!r}")

    parts: dict = {"norm.weight": vec("output_norm.weight")}
    for i in range(cfg.n_layers):
        b, L = f"blk.{i}.", f"layers.{i}."
        bias = None
        if cfg.qkv_bias:
            bias = torch.cat([vec(b + n + ".bias") for n in ("attn_q", "attn_k", "attn_v")])
        if arch == "phi3":  # fused in the file already
            need(b + "attn_qkv.weight", b + "ffn_up.weight")
            qkv = [(b + "attn_qkv.weight", None)]
            gate_up = [(b + "ffn_up.weight", None)]
        else:
            need(b + "attn_q.weight", b + "attn_k.weight", b + "attn_v.weight", b + "ffn_gate.weight", b + "ffn_up.weight")
            qkv = [(b + "attn_q.weight", qh), (b + "attn_k.weight", kh), (b + "attn_v.weight", None)]
            gate_up = [(b + "ffn_gate.weight", None), (b + "ffn_up.weight", None)]
        need(b + "attn_output.weight", b + "ffn_down.weight")
        parts[L + "attention.wqkv"] = _qlinear(f, qkv, bias)
        parts[L + "attention.wo"] = _qlinear(f, [(b + "attn_output.weight", None)])
        parts[L + "feed_forward.w13"] = _qlinear(f, gate_up)
        parts[L + "feed_forward.w2"] = _qlinear(f, [(b + "ffn_down.weight", None)])
        for src, dst in _LAYER_TENSORS.items():
            if src.endswith("norm") and (b + src + ".weight" in f.tensors or src in ("attn_norm", "ffn_norm")):
                parts[L + dst + ".weight"] = vec(b + src + ".weight")
        f.release(b)
        trim()
    parts["tok_embeddings"] = _qlinear(f, [("token_embd.weight", None)])
    f.release("token_embd.")
    trim()
    if "output.weight" in f.tensors:
        parts["output"] = _qlinear(f, [("output.weight", None)])
    return FastLlama(cfg, parts, rope_freq_factors(f))


def tokenizer_from_gguf(path) -> TextTokenizer:
    """Just the tokenizer of a GGUF file (its vocabulary, special tokens and chat template)."""
    f = GGUFFile(path)
    try:
        return gguf_tokenizer(f)
    finally:
        f.close()
