"""Load a GGUF file: metadata → ModelConfig, tensors → our parameter names, vocabulary → tokenizer.

llama.cpp's converter permutes the rows of the Llama family's q and k projections so that
its RoPE can rotate adjacent pairs; our RoPE (like Hugging Face's) rotates the two halves of
each head, so we undo that permutation here. Qwen2 files are not permuted (NeoX RoPE).
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
from .meta import LLAMA_LIKE, gguf_config, quantization_name  # noqa: F401 (re-exported)


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


def gguf_state_dict(f: GGUFFile, cfg: ModelConfig) -> dict[str, Lazy]:
    """Float32 tensors, dequantized on demand, under our parameter names."""
    arch = f.get("general.architecture")
    permuted = LLAMA_LIKE.get(arch, False)
    sd: dict[str, np.ndarray] = {}

    def take(src: str, dst: str, required: bool = True, fn=None):
        if src not in f.tensors:
            if required:
                raise GGUFError(f"the GGUF file lacks the tensor {src!r}")
            return
        sd[dst] = Lazy(f.tensors[src].shape, lambda: fn(f.array(src)) if fn else f.array(src))

    take("token_embd.weight", "tok_embeddings.weight")
    take("output_norm.weight", "norm.weight")
    take("output.weight", "output.weight", required=False)
    if arch == "gpt2":
        take("position_embd.weight", "pos_embeddings.weight")
        take("output_norm.bias", "norm.bias")
    for i in range(cfg.n_layers):
        b, L = f"blk.{i}.", f"layers.{i}."
        take(b + "attn_norm.weight", L + "attention_norm.weight")
        take(b + "ffn_norm.weight", L + "ffn_norm.weight")
        take(b + "attn_output.weight", L + "attention.wo.weight")
        take(b + "ffn_down.weight", L + "feed_forward." + ("w2" if arch != "gpt2" else "proj") + ".weight")
        if arch == "gpt2":
            for n in ("attn_norm", "ffn_norm"):
                take(b + n + ".bias", L + ("attention_norm" if n == "attn_norm" else "ffn_norm") + ".bias")
            take(b + "attn_output.bias", L + "attention.wo.bias")
            take(b + "ffn_up.weight", L + "feed_forward.fc.weight")
            take(b + "ffn_up.bias", L + "feed_forward.fc.bias")
            take(b + "ffn_down.bias", L + "feed_forward.proj.bias")
            for part in ("weight", "bias"):
                name = b + f"attn_qkv.{part}"
                if name not in f.tensors:
                    raise GGUFError(f"the GGUF file lacks the tensor {name!r}")
                shape = f.tensors[name].shape
                third = (shape[0] // 3, *shape[1:])
                for j, dst in enumerate(("wq", "wk", "wv")):
                    sd[L + f"attention.{dst}.{part}"] = Lazy(
                        third, lambda name=name, j=j: np.split(f.array(name), 3, axis=0)[j]
                    )
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
    """One QLinear from the row-concatenation of GGUF tensors: 4-bit groups when all are Q4_0/Q4_1,
    else 8-bit groups (Q8_0 as stored, other types requantized)."""
    from ..model.quant import QLinear, q4_blocks

    if all(f.tensors[n].type.name in _Q4 for n, _ in parts):
        got = []
        for name, heads in parts:
            raw = f.raw(name)
            if heads:
                raw = raw[_row_perm(raw.shape[0], heads)]
            got.append(q4_blocks(raw, f.tensors[name].type.name))
        qs, d, m = (np.concatenate(a) if len(a) > 1 else a[0] for a in zip(*got))
        return QLinear("q4", qs, d, m, bias=bias)
    qs, d = zip(*(_q8_rows(f, name, heads) for name, heads in parts))
    return QLinear("q8", torch.cat(qs), torch.cat(d), bias=bias)


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
    """A FastLlama over this file's weights, kept quantized (Llama/Qwen2 families only)."""
    from ..model.fast import FastLlama
    from ..model.transformer import rope_inv_freq

    arch = f.get("general.architecture")
    if arch not in LLAMA_LIKE:
        raise UnsupportedArchitectureError(f"the fast path runs the Llama family, not {arch!r}")
    permuted = LLAMA_LIKE[arch]

    def vec(name: str) -> torch.Tensor:
        if name not in f.tensors:
            raise GGUFError(f"the GGUF file lacks the tensor {name!r}")
        return torch.from_numpy(np.array(f.array(name), dtype=np.float32))

    layers = []
    for i in range(cfg.n_layers):
        b = f"blk.{i}."
        bias = None
        if cfg.qkv_bias:
            bias = torch.cat([vec(b + n + ".bias") for n in ("attn_q", "attn_k", "attn_v")])
        qh, kh = (cfg.n_heads, cfg.n_kv_heads) if permuted else (None, None)
        for n in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"):
            if b + n + ".weight" not in f.tensors:
                raise GGUFError(f"the GGUF file lacks the tensor {b + n + '.weight'!r}")
        layers.append({
            "attn_norm": vec(b + "attn_norm.weight"),
            "ffn_norm": vec(b + "ffn_norm.weight"),
            "qkv": _qlinear(f, [(b + "attn_q.weight", qh), (b + "attn_k.weight", kh), (b + "attn_v.weight", None)], bias),
            "wo": _qlinear(f, [(b + "attn_output.weight", None)]),
            "gate_up": _qlinear(f, [(b + "ffn_gate.weight", None), (b + "ffn_up.weight", None)]),
            "down": _qlinear(f, [(b + "ffn_down.weight", None)]),
        })
        f.release(b)
        trim()
    embed = _qlinear(f, [("token_embd.weight", None)])
    f.release("token_embd.")
    trim()
    output = _qlinear(f, [("output.weight", None)]) if "output.weight" in f.tensors else embed
    inv_freq, scale = rope_inv_freq(cfg)
    factors = rope_freq_factors(f)
    if factors is not None:
        inv_freq = inv_freq / factors
    return FastLlama(cfg, embed, layers, vec("output_norm.weight"), output, inv_freq, scale)


def tokenizer_from_gguf(path) -> TextTokenizer:
    """Just the tokenizer of a GGUF file (its vocabulary, special tokens and chat template)."""
    f = GGUFFile(path)
    try:
        return gguf_tokenizer(f)
    finally:
        f.close()
