"""Hugging Face folders and Studio checkpoints on the fast path: float weights quantized at load to
8-bit blocks exactly as llama.cpp's converter makes Q8_0, decoded by the same engine as GGUF files;
"exact" keeps them as stored. An HF folder and the same weights written as a GGUF agree."""

from __future__ import annotations

import gguf
import numpy as np
import pytest
import torch

from fuzz.seeds import Shape, write_folder
from playground.loading import load_model
from playground.loading.float_fast import q8_0_into
from tests.helpers import save_hf, tiny_hf_model, tiny_tokenizer, write_llama_gguf


def test_q8_0_blocks_are_bit_for_bit_those_of_the_gguf_converter():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(96, 256, generator=g)
    w[0, :32] = 0  # an all-zero block
    w[1, :32] = torch.arange(32) - 15.5  # d = 127/127 = 1, so every value is an exact tie (k + 0.5)...
    w[1, 0] = 127.0  # ...which llama.cpp rounds away from zero, not to even
    w[2] = w[2].to(torch.bfloat16).float()  # bfloat16 values, as a checkpoint has them
    qs = torch.empty(96, 256, dtype=torch.int8)
    d = torch.empty(96, 8, dtype=torch.float16)
    q8_0_into(w, qs, d)
    ref = gguf.quants.quantize(w.numpy(), gguf.GGMLQuantizationType.Q8_0).reshape(96, 8, 34)
    assert np.array_equal(d.numpy().view(np.uint8).reshape(96, 8, 2), ref[..., :2])
    assert np.array_equal(qs.numpy().view(np.uint8).reshape(96, 8, 32), ref[..., 2:])


def test_q8_0_rounding_next_to_every_half_matches_the_converter():
    """Values a few float32 steps either side of k + ½ (k = 0..126) and of 0, both signs, in blocks
    whose scale is exactly 1 (a 127 in each): each rounds as the converter's roundf does."""
    halves = np.arange(127, dtype=np.float32) + np.float32(0.5)
    near = [halves, np.float32([0.0, 2.0 ** -30, 0.25])]
    below, above = halves, halves
    for _ in range(4):  # up to 4 steps below and above each half
        below, above = np.nextafter(below, np.float32(0)), np.nextafter(above, np.float32(200))
        near += [below, above]
    vals = np.concatenate(near)
    vals = np.concatenate([vals, -vals]).astype(np.float32)
    vals = np.resize(vals, (len(vals) + 247) // 248 * 248).reshape(-1, 31)  # 31 values per block...
    blocks = np.concatenate([np.full((len(vals), 1), 127, np.float32), vals], axis=1)  # ...after a 127
    w = torch.from_numpy(blocks.reshape(-1, 256))
    qs, d = torch.empty(w.shape, dtype=torch.int8), torch.empty(w.shape[0], 8, dtype=torch.float16)
    q8_0_into(w, qs, d)
    ref = gguf.quants.quantize(w.numpy(), gguf.GGMLQuantizationType.Q8_0).reshape(-1, 8, 34)
    assert np.array_equal(qs.numpy().view(np.uint8).reshape(-1, 8, 32), ref[..., 2:])
    assert (d.float() == 1).all()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A random Llama saved by transformers as a bfloat16 folder, and the same weights as a BF16 GGUF."""
    d = tmp_path_factory.mktemp("pair")
    ref = tiny_hf_model("llama", tie_word_embeddings=False).to(torch.bfloat16)
    folder = save_hf(ref, d / "hf")
    gguf_path = write_llama_gguf(ref.float(), tiny_tokenizer(), d / "m.gguf", "BF16")
    return ref, folder, gguf_path


def test_auto_puts_a_bfloat16_folder_on_the_fast_path(pair):
    ref, folder, _ = pair
    lm = load_model(folder, device="cpu", dtype="auto")
    assert type(lm.model).__name__ == "FastLlama"
    assert lm.quantization == "BF16" and lm.weights == "Q8_0 blocks, quantized at load from BF16"
    n = sum(p.numel() for p in ref.parameters() if p.dim() == 2)
    assert n * 34 / 32 <= lm.weights_bytes < n * 34 / 32 * 1.05  # 8-bit blocks: 34 bytes per 32 weights
    ids = torch.randint(0, 320, (1, 48), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        exact = ref.float()(ids).logits
        got = lm.model(ids)
    err = (got - exact).abs().max().item()
    assert 0 < err < 0.05 * exact.abs().max().item()  # within 8-bit rounding, not exact


def _as_bits(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous().view(torch.int16)


def _assert_products_hold_the_stored_bits(model, folder, layers: int):
    """Every product of the fast model holds the safetensors values bit for bit (read back by the
    safetensors library itself): q|k|v and gate|up as one matrix each, the embedding, the head."""
    from safetensors.torch import load_file

    st = load_file(str(folder / "model.safetensors"))
    for i in range(layers):
        p, b = f"model.layers.{i}.", model.layers[i]
        want = {b.attention.wqkv: [p + f"self_attn.{n}_proj.weight" for n in "qkv"],
                b.attention.wo: [p + "self_attn.o_proj.weight"],
                b.feed_forward.w13: [p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"],
                b.feed_forward.w2: [p + "mlp.down_proj.weight"]}
        for layer, names in want.items():
            stored = torch.cat([st[n] for n in names])
            assert torch.equal(_as_bits(layer.raw.view(stored.dtype)), _as_bits(stored)), names
        assert torch.equal(b.attention_norm.weight, st[p + "input_layernorm.weight"].float())
    emb = st["model.embed_tokens.weight"]
    assert torch.equal(_as_bits(model.tok_embeddings.layer.raw.view(emb.dtype)), _as_bits(emb))
    if "lm_head.weight" in st:
        assert torch.equal(_as_bits(model.output.raw.view(emb.dtype)), _as_bits(st["lm_head.weight"]))


def test_exact_runs_a_bfloat16_folder_on_the_fast_path_with_the_stored_bits(pair):
    """"exact" on a bfloat16 folder: the native kernels' BF16 rows are the safetensors values, bit for
    bit (no rounding anywhere), 2 bytes a weight, and the forward pass runs in the native kernels."""
    ref, folder, _ = pair
    lm = load_model(folder, device="cpu", dtype="exact")
    assert type(lm.model).__name__ == "FastLlama" and lm.weights == "BF16, as stored"
    assert lm.model.native() is not None  # the whole few-token forward pass in the kernels
    _assert_products_hold_the_stored_bits(lm.model, folder, ref.config.num_hidden_layers)
    n = sum(p.numel() for p in ref.parameters() if p.dim() == 2)
    assert n * 2 <= lm.weights_bytes < n * 2 * 1.05
    # the rows the teaching views (embedding lookup, logit lens) read are the stored values too
    ids = torch.tensor([3, 0, 77])
    assert torch.equal(lm.model.tok_embeddings(ids), ref.model.embed_tokens.weight[ids].float())


@pytest.mark.parametrize("dtype", ["F16", "F32"])
def test_exact_on_float16_and_float32_folders(dtype, tmp_path):
    """A float16 folder runs as stored on the fast path too; float32 matrices have no kernel, so
    "exact" keeps them on the reference model in float32 (the only way to honour the stored values)."""
    folder = write_folder(tmp_path / dtype, "llama", dtype, Shape())
    lm = load_model(folder, device="cpu", dtype="exact")
    assert lm.quantization == dtype and lm.weights == f"{dtype}, as stored"
    if dtype == "F16":
        assert type(lm.model).__name__ == "FastLlama" and lm.model.native() is not None
        _assert_products_hold_the_stored_bits(lm.model, folder, lm.config.n_layers)
    else:
        assert type(lm.model).__name__ == "Transformer" and lm.model.tok_embeddings.weight.dtype == torch.float32


def _greedy(lm, ids, n=24):
    from playground.engine.generate import TokenEvent, generate
    from playground.sampling_params import SamplingParams

    return [e.token_id for e in generate(lm.model, lm.tokenizer, ids, SamplingParams(temperature=0, max_tokens=n))
            if isinstance(e, TokenEvent)]


def test_folder_and_gguf_of_the_same_weights_agree_on_the_exact_path(pair):
    _, folder, gguf_path = pair
    a = load_model(folder, device="cpu", dtype="exact")
    b = load_model(gguf_path, device="cpu", dtype="exact")
    assert b.weights == "BF16, as stored"
    prompt = a.tokenizer.encode("the quick brown fox")
    assert prompt == b.tokenizer.encode("the quick brown fox")
    tokens = _greedy(a, prompt)
    assert len(tokens) == 24 and tokens == _greedy(b, prompt)


def test_folder_and_gguf_of_the_same_weights_agree_on_the_fast_path(pair):
    """Teacher-forced over 200 positions, the top token agrees at ≥ 98% of them (both quantize the
    same bfloat16 values with the same converter, so here they agree everywhere)."""
    _, folder, gguf_path = pair
    a = load_model(folder, device="cpu", dtype="auto")
    b = load_model(gguf_path, device="cpu", dtype="auto")
    assert type(b.model).__name__ == "FastLlama" and b.weights == "BF16, as stored"  # raw BF16 rows for the native kernels
    ids = torch.randint(0, 320, (1, 200), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        ta, tb = a.model(ids, use_cache=False).argmax(-1), b.model(ids, use_cache=False).argmax(-1)
    assert (ta == tb).float().mean().item() >= 0.98


def test_a_studio_checkpoint_runs_on_the_fast_path(tmp_path):
    folder = write_folder(tmp_path / "studio", "llama", "F32", Shape(), playground=True)
    fast = load_model(folder, device="cpu", dtype="auto")
    exact = load_model(folder, device="cpu", dtype="exact")
    assert fast.format == "playground" and type(fast.model).__name__ == "FastLlama"
    assert exact.weights == "F32, as stored"
    ids = torch.randint(0, 320, (1, 40), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want, got = exact.model(ids), fast.model(ids)
    # bfloat16 activations and 8-bit weights on an untrained model with large random weights
    assert (got - want).abs().max().item() < 0.12 * want.abs().max().item()
    assert (got.argmax(-1) == want.argmax(-1)).float().mean().item() >= 0.8


def test_qwen2_biases_on_the_fast_path_from_a_folder(tmp_path):
    ref = tiny_hf_model("qwen2")
    lm = load_model(save_hf(ref, tmp_path / "q"), device="cpu", dtype="auto")
    assert type(lm.model).__name__ == "FastLlama"
    ids = torch.randint(0, 320, (1, 40), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        want, got = ref(ids).logits, lm.model(ids)
    assert (got - want).abs().max().item() < 0.05 * want.abs().max().item()


def test_gpt2_folders_stay_on_the_reference_model(tmp_path):
    lm = load_model(save_hf(tiny_hf_model("gpt2"), tmp_path / "g"), device="cpu", dtype="auto")
    assert type(lm.model).__name__ == "Transformer" and lm.weights == "F32, as stored"


def test_progress_is_reported_while_weights_convert(pair):
    _, folder, _ = pair
    seen = []
    load_model(folder, device="cpu", dtype="auto", progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 3
