"""Model files of other families for the benchmarks, made here (no model hub): a Gemma 3 of
gemma-3-270m's shape and a Qwen3 of Qwen3-0.6B's shape, random weights (normal, std 0.02),
written as GGUF the way llama.cpp's converter writes them (tests/helpers.write_gguf), in F16, then
quantized to Q4_K_M by llama.cpp's own quantizer (llama-cpp-python); and the default SmolLM2-135M
re-quantized from its Q4_1 file to Q4_K_M by the same quantizer (its tensors become Q5_0, Q4_K,
Q6_K and Q8_0), the K-quant file of bench_generate.py and bench_accuracy.py.

    .venv/bin/python benchmarks/make_family_models.py /tmp/pgmodels

Speed does not depend on the weights' values; accuracy numbers on such files compare engines on
random models (the exact reference is our float32 model of the same file).
"""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHAPES = {
    "gemma3-270m-shape": ("gemma3", dict(vocab_size=262144, hidden_size=640, intermediate_size=2048,
                                         num_hidden_layers=18, num_attention_heads=4, num_key_value_heads=1,
                                         head_dim=256, query_pre_attn_scalar=256, sliding_window=512,
                                         max_position_embeddings=32768,
                                         rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1e6},
                                                          "sliding_attention": {"rope_type": "default",
                                                                                "rope_theta": 1e4}})),
    "qwen3-0.6b-shape": ("qwen3", dict(vocab_size=151936, hidden_size=1024, intermediate_size=3072,
                                       num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8,
                                       head_dim=128, max_position_embeddings=40960, tie_word_embeddings=True,
                                       rope_parameters={"rope_type": "default", "rope_theta": 1e6})),
}


def make(out: Path, name: str) -> Path:
    import transformers as tf

    from tests.helpers import tiny_tokenizer, write_gguf

    kind, cfg = SHAPES[name]
    classes = {"gemma3": ("Gemma3TextConfig", "Gemma3ForCausalLM"), "qwen3": ("Qwen3Config", "Qwen3ForCausalLM")}
    config = getattr(tf, classes[kind][0])(bos_token_id=None, eos_token_id=None, pad_token_id=None, **cfg)
    torch.manual_seed(0)
    model = getattr(tf, classes[kind][1])(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.02) if p.dim() == 2 else p.normal_(0, 0.1)
    f16 = out / f"{name}.F16.gguf"
    write_gguf(model, tiny_tokenizer(), f16, "F16")
    del model
    return f16


def quantize(src: Path, dst: Path, ftype: str = "Q4_K_M") -> Path:
    import llama_cpp

    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{ftype}")
    p.allow_requantize = True
    p.nthread = 2
    if llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(p)) != 0:
        raise SystemExit(f"llama.cpp could not quantize {src}")
    return dst


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/pgmodels")
    out.mkdir(parents=True, exist_ok=True)
    from playground.loading.discovery import default_model

    smol = out / "SmolLM2-135M-Instruct.Q4_K_M.gguf"
    if not smol.exists():
        quantize(default_model(), smol)
    print(smol)
    for name in SHAPES:
        q = out / f"{name}.Q4_K_M.gguf"
        if not q.exists():
            quantize(make(out, name), q)
        print(q)


if __name__ == "__main__":
    main()
