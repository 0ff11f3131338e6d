"""Builders for tiny models and files used across the tests."""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "hello world, this is a tiny corpus for a tiny tokenizer",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
] * 20


def tiny_tokenizer(vocab_size: int = 300) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def write_tokenizer_files(folder: Path, vocab_size: int = 300) -> Tokenizer:
    tok = tiny_tokenizer(vocab_size)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": "<|endoftext|>", "eos_token": "<|im_end|>",
        "chat_template": "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                         "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
    }))
    return tok


# Tiny configs of every family we run, with each family's own features switched on and sized so
# they matter in a 48-token test (sliding windows of 8, soft caps that bite, partial RoPE, ...).
TINY_FAMILY = {
    "llama": {},
    "qwen2": {},
    "mistral": {"sliding_window": 8, "head_dim": 16},
    "qwen3": {"head_dim": 16},
    "gemma2": {"head_dim": 16, "query_pre_attn_scalar": 16, "sliding_window": 8, "num_hidden_layers": 3,
               "attn_logit_softcapping": 0.15, "final_logit_softcapping": 3.0},
    # six layers: five sliding, then a global one (the pattern llama.cpp hard-codes for Gemma 3)
    "gemma3": {"head_dim": 16, "query_pre_attn_scalar": 16, "sliding_window": 8, "num_hidden_layers": 6,
               "rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1000000.0},
                                   "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}},
    "phi3": {"rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5}},
    "smollm3": {"num_hidden_layers": 4},  # the fourth layer has no RoPE
}


def tiny_hf_model(kind: str, **overrides):
    """A random transformers model of the given family, small enough to run in milliseconds."""
    import torch
    import transformers as tf

    torch.manual_seed(0)
    if kind == "gpt2":
        cfg = tf.GPT2Config(vocab_size=320, n_embd=64, n_layer=2, n_head=4, n_positions=128, **overrides)
        model = tf.GPT2LMHeadModel(cfg)
    else:
        common = dict(vocab_size=320, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      rms_norm_eps=1e-6)
        if kind not in ("llama", "qwen2"):  # their default special ids lie outside a tiny vocabulary
            common.update(bos_token_id=None, eos_token_id=None, pad_token_id=None)
        common.update(TINY_FAMILY[kind])
        common.update(overrides)
        classes = {"llama": "Llama", "qwen2": "Qwen2", "mistral": "Mistral", "qwen3": "Qwen3", "gemma2": "Gemma2",
                   "gemma3": "Gemma3Text", "phi3": "Phi3", "smollm3": "SmolLM3"}
        name = classes[kind]
        config = getattr(tf, f"{name}Config")(**common)
        model = getattr(tf, f"{name.removesuffix('Text')}ForCausalLM")(config)
    # random init leaves some weights tiny; spread them so differences would show
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


def sharpen(model, factor: float = 20.0):
    """Scale a random model's output layer so its next-token distributions are as peaked as a trained
    model's (logits with a spread of ~3 rather than ~0.2): then top-1 agreement means something."""
    import torch

    with torch.no_grad():
        model.get_output_embeddings().weight.mul_(factor)
    return model


def agreement(ref_logits, logits) -> tuple[float, float]:
    """Teacher-forced comparison of two models' logits (..., vocab) over the same positions:
    (mean KL(ref ‖ other) in nats, share of positions whose top token is the same)."""
    lp, lq = ref_logits.float().log_softmax(-1), logits.float().log_softmax(-1)
    kl = (lp.exp() * (lp - lq)).sum(-1)
    return kl.mean().item(), (lp.argmax(-1) == lq.argmax(-1)).float().mean().item()


def save_hf(model, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    write_tokenizer_files(folder)
    return folder


def permute_qk(w, n_head: int):
    """llama.cpp's converter permutation of q/k rows (halves → interleaved pairs)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


# Block formats gguf-py reads but cannot write (K-quants, IQ4): tests build their weights from random
# valid blocks instead. Per type: the byte offsets of its float16 scales and a size that makes
# weights of ~0.05 (block bytes and weights per block come from gguf's GGML_QUANT_SIZES).
# weights of ~0.05 around 0 (where a format has minimums, they are sized to cancel the mean of d·sc·q).
RANDOM_BLOCK_SCALES = {
    "Q4_K": {0: 2e-4, 2: 1.5e-3}, "Q5_K": {0: 1e-4, 2: 1.55e-3}, "Q6_K": {208: 3.5e-5}, "Q3_K": {108: 1.2e-3},
    "Q2_K": {80: 4e-3, 82: 6e-3}, "IQ4_NL": {0: 7e-4}, "IQ4_XS": {0: 4e-5},
}


def random_blocks(kind: str, rows: int, cols: int, seed: int = 0):
    """Random valid GGUF blocks of `kind` for a (rows, cols) weight: random bits, sane float16 scales."""
    import gguf
    import numpy as np

    block, size = gguf.GGML_QUANT_SIZES[getattr(gguf.GGMLQuantizationType, kind)]
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, (rows, cols // block, size), dtype=np.uint8)
    for offset, scale in RANDOM_BLOCK_SCALES[kind].items():
        d = (scale * rng.uniform(0.5, 1.5, (rows, cols // block))).astype(np.float16)
        raw[..., offset : offset + 2] = d.view(np.uint8).reshape(rows, cols // block, 2)
    return raw.reshape(rows, -1)


def make_exactly_quantizable(model, kind: str) -> dict:
    """Replace each 2-D weight of a transformers model by the values of random valid `kind` blocks
    (gguf-py cannot quantize these types); return {float32 row bytes: its blocks}, so the GGUF writer
    stores exactly those blocks wherever the row goes (q/k rows are permuted on the way)."""
    import gguf
    import numpy as np
    import torch

    rows_to_blocks = {}
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            if p.dim() != 2:
                continue
            raw = random_blocks(kind, p.shape[0], p.shape[1], seed=i)
            w = gguf.quants.dequantize(raw, getattr(gguf.GGMLQuantizationType, kind)).astype(np.float32)
            p.copy_(torch.from_numpy(w.reshape(p.shape)))
            for r in range(p.shape[0]):
                rows_to_blocks[w[r].tobytes()] = raw[r]
    return rows_to_blocks


GGUF_ARCH = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "gemma2": "gemma2",
             "gemma3_text": "gemma3", "phi3": "phi3", "smollm3": "smollm3", "gpt2": "gpt2"}


def write_llama_gguf(model, tok: Tokenizer, path: Path, qtype: str = "F32", chat_template: str | None = None,
                     bos: str = "<|endoftext|>", eos: str = "<|im_end|>") -> Path:
    """Write a transformers model of any family we run as llama.cpp's converter would: tensor names,
    q/k permutation (Llama, Mistral, SmolLM3), fused qkv (GPT-2, Phi-3) and gate/up (Phi-3), Gemma's
    norms stored as 1 + w, the metadata keys it writes (and not those it leaves to llama.cpp's code),
    vocabulary and chat template. qtype: what 2-D weights are stored as (F32, F16, BF16 or a quant type)."""
    import gguf
    import numpy as np
    from gguf import GGMLQuantizationType as Q

    cfg = model.config
    arch = GGUF_ARCH[cfg.model_type]
    exact_blocks = make_exactly_quantizable(model, qtype) if qtype in RANDOM_BLOCK_SCALES else None
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(f"tiny test {arch}")
    if arch == "gpt2":
        w.add_block_count(cfg.n_layer)
        w.add_context_length(cfg.n_positions)
        w.add_embedding_length(cfg.n_embd)
        w.add_feed_forward_length(cfg.n_inner or 4 * cfg.n_embd)
        w.add_head_count(cfg.n_head)
        w.add_layer_norm_eps(cfg.layer_norm_epsilon)
    else:
        _llama_shape_metadata(w, model, arch)
    w.add_vocab_size(cfg.vocab_size)
    vocab = sorted(tok.get_vocab(with_added_tokens=True).items(), key=lambda kv: kv[1])
    tokens = [t for t, _ in vocab]
    specials = {t.content for t in tok.get_added_tokens_decoder().values() if t.special}
    types = [3 if t in specials else 1 for t in tokens]
    tokens += [f"[PAD{i}]" for i in range(len(tokens), cfg.vocab_size)]
    types += [5] * (cfg.vocab_size - len(types))
    merges = json.loads(tok.to_str())["model"]["merges"]
    merges = [" ".join(m) if isinstance(m, list) else m for m in merges]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(tok.token_to_id(bos or "<|endoftext|>"))
    w.add_eos_token_id(tok.token_to_id(eos))
    w.add_add_bos_token(False)
    if chat_template:
        w.add_chat_template(chat_template)

    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    out: dict[str, np.ndarray] = {}
    if arch == "gpt2":
        sd = {k.removeprefix("transformer."): v for k, v in sd.items()}
        out["token_embd.weight"] = sd["wte.weight"]
        out["position_embd.weight"] = sd["wpe.weight"]
        out["output_norm.weight"], out["output_norm.bias"] = sd["ln_f.weight"], sd["ln_f.bias"]
        for i in range(cfg.n_layer):
            h, b = f"h.{i}.", f"blk.{i}."
            for src, dst in (("ln_1", "attn_norm"), ("ln_2", "ffn_norm")):
                out[b + dst + ".weight"], out[b + dst + ".bias"] = sd[h + src + ".weight"], sd[h + src + ".bias"]
            for src, dst in (("attn.c_attn", "attn_qkv"), ("attn.c_proj", "attn_output"),
                             ("mlp.c_fc", "ffn_up"), ("mlp.c_proj", "ffn_down")):
                out[b + dst + ".weight"] = sd[h + src + ".weight"].T  # Conv1D stores (in, out)
                out[b + dst + ".bias"] = sd[h + src + ".bias"]
    else:
        out.update(_llama_shape_tensors(model, arch, sd))
    for name, arr in out.items():
        if arr.ndim == 1 or qtype == "F32":
            w.add_tensor(name, np.ascontiguousarray(arr, dtype=np.float32))
        elif qtype == "F16":
            w.add_tensor(name, np.ascontiguousarray(arr).astype(np.float16))
        elif exact_blocks is not None:
            rows = np.ascontiguousarray(arr, dtype=np.float32)
            w.add_tensor(name, np.stack([exact_blocks[r.tobytes()] for r in rows]), raw_dtype=getattr(Q, qtype))
        else:
            q = getattr(Q, qtype)
            w.add_tensor(name, gguf.quants.quantize(np.ascontiguousarray(arr), q), raw_dtype=q)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


write_gguf = write_llama_gguf


def _llama_shape_metadata(w, model, arch: str) -> None:
    cfg = model.config
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    if head_dim != cfg.hidden_size // cfg.num_attention_heads or arch in ("gemma2", "gemma3"):
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    rope = cfg.rope_parameters
    rope = rope.get("full_attention", rope)  # Gemma 3: the global layers' (llama.cpp knows the local base)
    w.add_rope_freq_base(float(rope["rope_theta"]))
    if rope.get("rope_type") == "linear":
        w.add_rope_scaling_type(gguf_scaling("linear"))
        w.add_rope_scaling_factor(float(rope["factor"]))
    window = getattr(cfg, "sliding_window", None)
    if arch == "gemma2":
        w.add_attn_logit_softcapping(cfg.attn_logit_softcapping)
        w.add_final_logit_softcapping(cfg.final_logit_softcapping)
        w.add_sliding_window(window)
    elif arch == "gemma3":
        if cfg.final_logit_softcapping:
            w.add_final_logit_softcapping(cfg.final_logit_softcapping)
        w.add_sliding_window(window)
    elif arch == "phi3":
        w.add_rope_dimension_count(int(head_dim * rope.get("partial_rotary_factor", 1.0)))
        w.add_sliding_window(window or 0)
        if rope.get("rope_type") == "longrope":
            import math

            orig = rope["original_max_position_embeddings"]
            w.add_rope_scaling_orig_ctx_len(orig)
            scale = cfg.max_position_embeddings / orig
            w.add_rope_scaling_attn_factors(math.sqrt(1 + math.log(scale) / math.log(orig)) if scale > 1 else 1.0)
    elif window and cfg.model_type == "mistral":  # llama.cpp's converter drops it; a file may carry it
        w.add_sliding_window(window)


def gguf_scaling(name: str):
    import gguf

    return {"linear": gguf.RopeScalingType.LINEAR}[name]


def _llama_shape_tensors(model, arch: str, sd: dict) -> dict:
    import numpy as np

    cfg = model.config
    out: dict[str, np.ndarray] = {}
    gemma = arch in ("gemma2", "gemma3")
    if gemma:  # Gemma's RMSNorm multiplies by 1 + w; the converter stores 1 + w
        sd = {k: (v + 1 if k.endswith("norm.weight") else v) for k, v in sd.items()}
    out["token_embd.weight"] = sd["model.embed_tokens.weight"]
    out["output_norm.weight"] = sd["model.norm.weight"]
    if not cfg.tie_word_embeddings:
        out["output.weight"] = sd["lm_head.weight"]
    part = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
            "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
            "self_attn.qkv_proj": "attn_qkv", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
            "mlp.gate_up_proj": "ffn_up", "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm",
            "post_attention_layernorm": "post_attention_norm" if gemma else "ffn_norm",
            "pre_feedforward_layernorm": "ffn_norm", "post_feedforward_layernorm": "post_ffw_norm"}
    permuted = arch in ("llama", "smollm3")
    for i in range(cfg.num_hidden_layers):
        for src, dst in part.items():
            for kind in ("weight", "bias"):
                key = f"model.layers.{i}.{src}.{kind}"
                if key not in sd:
                    continue
                arr = sd[key]
                if permuted and dst == "attn_q":
                    arr = permute_qk(arr, cfg.num_attention_heads)
                elif permuted and dst == "attn_k":
                    arr = permute_qk(arr, cfg.num_key_value_heads)
                out[f"blk.{i}.{dst}.{kind}"] = arr
    rope = cfg.rope_parameters
    if arch == "phi3" and rope.get("rope_type") == "longrope":
        out["rope_factors_long.weight"] = np.array(rope["long_factor"], dtype=np.float32)
        out["rope_factors_short.weight"] = np.array(rope["short_factor"], dtype=np.float32)
    return out


def roundtrip_weights(model, qtype: str) -> None:
    """Replace each 2-D weight of a transformers model by what qtype stores (for reference logits)."""
    import gguf
    import numpy as np
    import torch
    from gguf import GGMLQuantizationType as Q

    with torch.no_grad():
        for p in model.parameters():
            if p.dim() != 2:
                continue
            arr = p.detach().float().numpy()
            if qtype == "F16":
                back = arr.astype(np.float16).astype(np.float32)
            else:
                q = getattr(Q, qtype)
                back = gguf.quants.dequantize(gguf.quants.quantize(arr, q), q)
            p.copy_(torch.from_numpy(np.ascontiguousarray(back)))


class ScriptedModel:
    """A stand-in CausalLM whose next-token logits follow a script: it strongly prefers
    the enqueued tokens in order, then EOS. It records the positions it was called with."""

    def __init__(self, vocab_size: int, eos_id: int, script: list[int] | None = None, max_seq_len: int = 512):

        from playground.model.config import ModelConfig

        self.config = ModelConfig(arch="llama", vocab_size=vocab_size, dim=8, n_layers=1, n_heads=1,
                                  hidden_dim=8, max_seq_len=max_seq_len)
        self.eos_id = eos_id
        self.script = list(script or [])
        self.cache = None
        self.calls: list[tuple[int, int]] = []  # (start, length)
        self.step = 0

    def enqueue(self, *tokens: int) -> None:
        self.script.extend(tokens)

    # the CausalLM interface (playground/model/interface.py)
    @property
    def device(self):
        import torch

        return torch.device("cpu")

    def setup_cache(self, max_len=None, batch=1):
        from playground.model.cache import KVCache

        self.cache = KVCache(1, batch, 1, max_len or self.config.max_seq_len, 1)
        return self.cache

    def embed(self, idx):
        import torch

        return torch.zeros(*idx.shape, self.config.dim)

    def unembed(self, h):
        import torch

        return torch.zeros(*h.shape[:-1], self.config.vocab_size)

    def runs_own_threads(self) -> bool:
        return False

    def describe(self) -> str:
        return "scripted"

    def __call__(self, idx, start=0, use_cache=False, last_only=False):
        import torch

        self.calls.append((start, idx.shape[1]))
        if start == 0:  # a new prompt: the script starts over, as a real model would
            self.step = 0
        logits = torch.zeros(1, idx.shape[1], self.config.vocab_size)
        nxt = self.script[self.step] if self.step < len(self.script) else self.eos_id
        self.step += 1
        logits[0, -1, nxt] = 10.0
        return logits


class GatedModel(ScriptedModel):
    """A ScriptedModel whose every forward pass waits for the test to release it, so a GUI
    test decides exactly when each token arrives (no sleeps). Gates open once `stop_all()`."""

    def __init__(self, *a, **kw):
        import threading

        super().__init__(*a, **kw)
        self.gate = threading.Semaphore(0)
        self.open = threading.Event()

    def release(self, n: int = 1) -> None:
        for _ in range(n):
            self.gate.release()

    def stop_all(self) -> None:
        self.open.set()
        self.release(10_000)

    def __call__(self, idx, start=0, use_cache=False, last_only=False):
        if not self.open.is_set():
            self.gate.acquire()
        return super().__call__(idx, start, use_cache, last_only)


def fake_loaded_model(text: str = "hello world, this is a tiny corpus", gated: bool = False, name: str = "fake",
                      max_seq_len: int = 512):
    """A LoadedModel whose model streams the tokens of `text`, then EOS."""
    from pathlib import Path

    from playground.loading import LoadedModel
    from playground.tokenization.tokenizer import TextTokenizer

    tok = tiny_tokenizer()
    eos = tok.token_to_id("<|im_end|>")
    tt = TextTokenizer(tok, bos_id=tok.token_to_id("<|endoftext|>"), eos_ids=[eos])
    cls = GatedModel if gated else ScriptedModel
    model = cls(tt.vocab_size, eos, tt.encode(text), max_seq_len=max_seq_len)
    model.config.name = name
    return LoadedModel(model, tt, model.config, Path(f"/models/{name}.gguf"), "gguf", "F32", 0.0)
