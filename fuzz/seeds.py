"""The tiny, complete model files the fuzzer mutates, written here from random weights.

GGUF files for every family and storage type the loader supports (Llama, Qwen2, GPT-2 with a
byte-level BPE vocabulary and merges, Llama with a SentencePiece vocabulary; F32, F16, BF16,
Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, and SmolLM2's mix of Q4_1 layers with a Q8_0 embedding), and model
folders (Hugging Face Llama / Qwen2 / GPT-2 in bfloat16, float16 and float32, a sharded one,
and a Playground Studio checkpoint), each with a tokenizer and a chat template.

Everything is deterministic for a given seed, so a run is reproducible. The tests use these
writers too (the hostile files of tests/unit/test_load_validation.py start from them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "hello world, this is a tiny corpus for a tiny tokenizer",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
] * 20
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPM_PIECES = [
    "▁", "t", "h", "e", "a", "n", "d", "o", "r", "l", "w", "s", "i", "c", "k", "u", "q", "b", "he", "▁t", "▁the",
    "an", "▁a", "nd", "▁and", "or", "▁w", "ld", "orld", "▁world", "ll", "llo", "ello", "hello", "▁hello",
]


@dataclass(frozen=True)
class Shape:
    """A tiny model: small enough to load in milliseconds, with every structural feature."""

    vocab: int = 320
    dim: int = 64
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    hidden: int = 128
    context: int = 256

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads


@dataclass(frozen=True)
class Seed:
    name: str
    path: Path  # a .gguf file or a model folder
    family: str  # llama, qwen2, gpt2, llama-spm
    storage: str  # F32, Q4_1, BF16, ...


def tiny_tokenizer(vocab_size: int = 300):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    return tok


# -------------------------------------------------------------------------------- weights
POOL = 4000  # a multiple of 32, so quantized blocks repeat too
def _weights(family: str, s: Shape, rng: np.random.Generator, tied: bool) -> dict[str, np.ndarray]:
    """Random weights under GGUF names (numpy order: rows first). Each tensor is a window of one
    pool of 4,000 random values, repeating: as good as random to a loader, and a saved mutant
    compresses to a few kilobytes (its repeats fall within gzip's window)."""
    pool = rng.standard_normal(POOL).astype(np.float32)

    def take(n):
        start = 32 * int(rng.integers(POOL // 32))
        return pool[(start + np.arange(n)) % POOL]

    def m(rows, cols):
        return take(rows * cols).reshape(rows, cols) * np.float32(0.2)

    def v(n, base=1.0):
        return np.float32(base) + take(n) * np.float32(0.1)

    q, kv = s.heads * s.head_dim, s.kv_heads * s.head_dim
    out = {"token_embd.weight": m(s.vocab, s.dim), "output_norm.weight": v(s.dim)}
    if not tied:
        out["output.weight"] = m(s.vocab, s.dim)
    if family == "gpt2":
        out["position_embd.weight"] = m(s.context, s.dim)
        out["output_norm.bias"] = v(s.dim, 0.0)
    for i in range(s.layers):
        b = f"blk.{i}."
        out[b + "attn_norm.weight"], out[b + "ffn_norm.weight"] = v(s.dim), v(s.dim)
        if family == "gpt2":
            q = kv = s.dim
            out[b + "attn_qkv.weight"], out[b + "attn_qkv.bias"] = m(3 * s.dim, s.dim), v(3 * s.dim, 0.0)
            out[b + "attn_output.weight"], out[b + "attn_output.bias"] = m(s.dim, s.dim), v(s.dim, 0.0)
            out[b + "ffn_up.weight"], out[b + "ffn_up.bias"] = m(s.hidden, s.dim), v(s.hidden, 0.0)
            out[b + "ffn_down.weight"], out[b + "ffn_down.bias"] = m(s.dim, s.hidden), v(s.dim, 0.0)
            out[b + "attn_norm.bias"], out[b + "ffn_norm.bias"] = v(s.dim, 0.0), v(s.dim, 0.0)
            continue
        out[b + "attn_q.weight"], out[b + "attn_k.weight"], out[b + "attn_v.weight"] = m(q, s.dim), m(kv, s.dim), m(kv, s.dim)
        if family == "qwen2":
            out[b + "attn_q.bias"], out[b + "attn_k.bias"], out[b + "attn_v.bias"] = v(q, 0), v(kv, 0), v(kv, 0)
        out[b + "attn_output.weight"] = m(s.dim, q)
        out[b + "ffn_gate.weight"], out[b + "ffn_up.weight"] = m(s.hidden, s.dim), m(s.hidden, s.dim)
        out[b + "ffn_down.weight"] = m(s.dim, s.hidden)
    return out


# -------------------------------------------------------------------------------- GGUF
def write_gguf(path: Path, family: str = "llama", storage: str = "F32", s: Shape = Shape(), seed: int = 0,
               tied: bool = True, merges_extra: list[str] | None = None, meta_override: dict | None = None) -> Path:
    """A complete GGUF file as llama.cpp's converter lays it out. storage: the 2-D tensors' type
    ("Q4_1+Q8_0": Q4_1 layers, Q8_0 embedding, as SmolLM2's file); vectors are always F32.
    merges_extra: merge rules appended to the vocabulary's (to plant bad ones);
    meta_override: metadata values written instead of the true ones (key → value)."""
    import gguf
    from gguf import GGMLQuantizationType as Q

    arch = "llama" if family == "llama-spm" else family
    rng = np.random.default_rng(seed)
    over = dict(meta_override or {})
    w = gguf.GGUFWriter(str(path), arch)

    def put(key: str, adder, value):
        full = key.format(a=arch)
        if full in over:
            w.add_key_value(full, over[full], _gguf_type(over.pop(full)))
        else:
            adder(value)

    put("general.name", w.add_name, f"tiny {family} {storage}")
    put("{a}.block_count", w.add_block_count, s.layers)
    put("{a}.context_length", w.add_context_length, s.context)
    put("{a}.embedding_length", w.add_embedding_length, s.dim)
    put("{a}.feed_forward_length", w.add_feed_forward_length, s.hidden)
    put("{a}.attention.head_count", w.add_head_count, s.heads)
    if family == "gpt2":
        put("{a}.attention.layer_norm_epsilon", w.add_layer_norm_eps, 1e-5)
    else:
        put("{a}.attention.head_count_kv", w.add_head_count_kv, s.kv_heads)
        put("{a}.attention.layer_norm_rms_epsilon", w.add_layer_norm_rms_eps, 1e-5)
        put("{a}.rope.freq_base", w.add_rope_freq_base, 10000.0)
    if family == "llama-spm":
        tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + SPM_PIECES
        types = [2, 3, 3] + [6] * 256 + [1] * len(SPM_PIECES)
        scores = [0.0] * 259 + [float(len(p)) - i * 0.01 for i, p in enumerate(SPM_PIECES)]
        tokens += [f"<pad{i}>" for i in range(len(tokens), s.vocab)]
        types += [5] * (s.vocab - len(types))
        scores += [-1e4] * (s.vocab - len(scores))
        w.add_tokenizer_model("llama")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        put("tokenizer.ggml.bos_token_id", w.add_bos_token_id, 1)
        put("tokenizer.ggml.eos_token_id", w.add_eos_token_id, 2)
        w.add_unk_token_id(0)
        w.add_add_space_prefix(True)
    else:
        tok = tiny_tokenizer()
        vocab = sorted(tok.get_vocab(with_added_tokens=True).items(), key=lambda kv: kv[1])
        tokens = [t for t, _ in vocab]
        types = [3 if t in SPECIALS else 1 for t in tokens]
        tokens += [f"[PAD{i}]" for i in range(len(tokens), s.vocab)]
        types += [5] * (s.vocab - len(types))
        merges = json.loads(tok.to_str())["model"]["merges"]
        merges = [" ".join(m) if isinstance(m, list) else m for m in merges] + list(merges_extra or [])
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("smollm" if family == "llama" else "default")
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        put("tokenizer.ggml.bos_token_id", w.add_bos_token_id, tokens.index("<|endoftext|>"))
        put("tokenizer.ggml.eos_token_id", w.add_eos_token_id, tokens.index("<|im_end|>"))
        w.add_add_bos_token(False)
    put("tokenizer.chat_template", w.add_chat_template, CHAT_TEMPLATE)
    for key, value in over.items():  # keys the writer above does not set
        w.add_key_value(key, value, _gguf_type(value))

    matrix, embed = (storage.split("+") + [None])[:2]
    for name, arr in _weights(family, s, rng, tied).items():
        kind = embed if embed and name == "token_embd.weight" else matrix
        if arr.ndim == 1 or kind == "F32":
            w.add_tensor(name, arr)
        elif kind == "F16":
            w.add_tensor(name, arr.astype(np.float16))
        else:
            qt = getattr(Q, kind)
            w.add_tensor(name, gguf.quants.quantize(arr, qt), raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def _gguf_type(value):
    from gguf import GGUFValueType as V

    if isinstance(value, bool):
        return V.BOOL
    if isinstance(value, int):
        return V.UINT64 if value >= 0 else V.INT64
    if isinstance(value, float):
        return V.FLOAT32
    if isinstance(value, str):
        return V.STRING
    return V.ARRAY


# -------------------------------------------------------------------------------- folders
_HF_LLAMA = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm", "attn_q": "self_attn.q_proj",
             "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
             "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
_HF_GPT2 = {"attn_norm": "ln_1", "ffn_norm": "ln_2", "attn_qkv": "attn.c_attn", "attn_output": "attn.c_proj",
            "ffn_up": "mlp.c_fc", "ffn_down": "mlp.c_proj"}
_OURS = {"attn_norm": "attention_norm", "ffn_norm": "ffn_norm", "attn_q": "attention.wq", "attn_k": "attention.wk",
         "attn_v": "attention.wv", "attn_output": "attention.wo", "ffn_gate": "feed_forward.w1",
         "ffn_up": "feed_forward.w3", "ffn_down": "feed_forward.w2"}


def _hf_name(name: str, family: str) -> tuple[str, bool]:
    """GGUF name → (Hugging Face name, whether HF stores it transposed)."""
    top = {"llama": {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
                     "output.weight": "lm_head.weight"},
           "gpt2": {"token_embd.weight": "transformer.wte.weight", "position_embd.weight": "transformer.wpe.weight",
                    "output_norm.weight": "transformer.ln_f.weight", "output_norm.bias": "transformer.ln_f.bias",
                    "output.weight": "lm_head.weight"}}["gpt2" if family == "gpt2" else "llama"]
    if name in top:
        return top[name], False
    _, i, part, param = name.split(".")
    if family == "gpt2":
        return f"transformer.h.{i}.{_HF_GPT2[part]}.{param}", param == "weight" and part not in ("attn_norm", "ffn_norm")
    return f"model.layers.{i}.{_HF_LLAMA[part]}.{param}", False


def write_folder(folder: Path, family: str = "llama", dtype: str = "BF16", s: Shape = Shape(), seed: int = 0,
                 tied: bool = True, shards: int = 1, playground: bool = False) -> Path:
    """A Hugging Face model folder (config.json, safetensors, tokenizer files, chat template), or
    with playground=True a Studio checkpoint (our parameter names, config under "playground")."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    torch_dtype = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[dtype]
    tensors = {}
    for name, arr in _weights(family, s, rng, tied).items():
        if playground:
            if name.startswith("blk."):
                _, i, part, param = name.split(".")
                key = f"layers.{i}.{_OURS[part]}.{param}"
            else:
                key = {"token_embd.weight": "tok_embeddings.weight", "output_norm.weight": "norm.weight",
                       "output.weight": "output.weight"}[name]
            tensors[key] = torch.from_numpy(arr).to(torch_dtype).contiguous()
            continue
        key, transposed = _hf_name(name, family)
        t = torch.from_numpy(arr)
        tensors[key] = (t.t() if transposed else t).to(torch_dtype).contiguous()
    names = sorted(tensors)
    if shards == 1:
        save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    else:
        weight_map = {}
        for k in range(shards):
            part = {n: tensors[n] for n in names[k::shards]}
            fname = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
            save_file(part, str(folder / fname), metadata={"format": "pt"})
            weight_map.update({n: fname for n in part})
        (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    tok = tiny_tokenizer()
    tok.save(str(folder / "tokenizer.json"))
    eos = tok.token_to_id("<|im_end|>")
    if playground:
        from playground.model.config import ModelConfig

        cfg = ModelConfig(arch="llama", vocab_size=s.vocab, dim=s.dim, n_layers=s.layers, n_heads=s.heads,
                          n_kv_heads=s.kv_heads, hidden_dim=s.hidden, max_seq_len=s.context, tie_embeddings=tied,
                          name="tiny studio checkpoint")
        config = {"playground": cfg.to_dict(), "training": {"steps": 1}}
    elif family == "gpt2":
        config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": s.vocab, "n_embd": s.dim,
                  "n_layer": s.layers, "n_head": s.heads, "n_positions": s.context, "n_inner": s.hidden,
                  "layer_norm_epsilon": 1e-5, "tie_word_embeddings": tied, "eos_token_id": eos}
    else:
        config = {"architectures": ["Qwen2ForCausalLM" if family == "qwen2" else "LlamaForCausalLM"],
                  "model_type": family, "vocab_size": s.vocab, "hidden_size": s.dim, "intermediate_size": s.hidden,
                  "num_hidden_layers": s.layers, "num_attention_heads": s.heads, "num_key_value_heads": s.kv_heads,
                  "max_position_embeddings": s.context, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                  "tie_word_embeddings": tied, "torch_dtype": {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype],
                  "bos_token_id": tok.token_to_id("<|endoftext|>"), "eos_token_id": eos}
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": "<|endoftext|>", "eos_token": "<|im_end|>", "add_bos_token": False, "chat_template": CHAT_TEMPLATE}))
    if not playground:
        (folder / "generation_config.json").write_text(json.dumps({"eos_token_id": [eos]}))
    return folder


# -------------------------------------------------------------------------------- the corpus
GGUF_SEEDS = [
    ("llama", "F32"), ("llama", "F16"), ("llama", "BF16"), ("llama", "Q8_0"), ("llama", "Q4_0"), ("llama", "Q4_1"),
    ("llama", "Q5_0"), ("llama", "Q5_1"), ("llama", "Q4_1+Q8_0"), ("qwen2", "Q8_0"), ("qwen2", "F32"),
    ("gpt2", "F32"), ("gpt2", "Q8_0"), ("llama-spm", "Q4_0"), ("llama-spm", "F16"),
]
FOLDER_SEEDS = [
    ("llama", "BF16", {}), ("llama", "F16", {"tied": False}), ("qwen2", "F32", {}), ("gpt2", "F32", {}),
    ("llama", "BF16", {"shards": 2}), ("llama", "F32", {"playground": True}),
]


def write_corpus(root: Path) -> list[Seed]:
    """Every seed, written under root."""
    root.mkdir(parents=True, exist_ok=True)
    seeds = []
    for n, (family, storage) in enumerate(GGUF_SEEDS):
        name = f"{family}-{storage.replace('+', '-')}.gguf"
        seeds.append(Seed(name, write_gguf(root / name, family, storage, seed=n, tied=n % 2 == 0), family, storage))
    for n, (family, dtype, extra) in enumerate(FOLDER_SEEDS):
        kind = "studio" if extra.get("playground") else "hf"
        name = f"{kind}-{family}-{dtype}" + ("-sharded" if extra.get("shards") else "") + ("-untied" if extra.get("tied") is False else "")
        seeds.append(Seed(name, write_folder(root / name, family, dtype, seed=100 + n, **extra), family, dtype))
    return seeds
