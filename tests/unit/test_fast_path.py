"""The fast CPU path (quantized weights, fused projections, bfloat16) agrees with the float32
reference model on the same GGUF file, within the tolerance bfloat16 activations allow."""

from __future__ import annotations

import gguf
import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType as Q

from playground.engine.generate import TokenEvent, generate
from playground.loading import load_model
from playground.model.fast import FastLlama
from playground.model.quant import QLinear, q4_blocks_to_int4
from playground.sampling import SamplingParams
from tests.helpers import tiny_hf_model, tiny_tokenizer, write_llama_gguf


@pytest.mark.parametrize("kind", ["Q4_0", "Q4_1"])
def test_q4_blocks_convert_exactly_to_int4_groups(kind):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(96, 128)).astype(np.float32)
    raw = gguf.quants.quantize(w, getattr(Q, kind))
    exact = gguf.quants.dequantize(raw, getattr(Q, kind))  # what the file means
    q, sz = q4_blocks_to_int4(raw, kind)
    assert q.min() >= 0 and q.max() <= 15
    # the kernel's formula, evaluated in float: (q - 8) * scale + zero
    groups = q.float().reshape(96, 4, 32)
    rebuilt = ((groups - 8) * sz[:, :, 0].t()[..., None] + sz[:, :, 1].t()[..., None]).reshape(96, 128)
    assert np.abs(rebuilt.numpy() - exact).max() < 1e-5
    # and through the packed kernel (bfloat16 scales and activations)
    layer = QLinear.int4(q, sz)
    x = torch.from_numpy(rng.normal(size=(3, 128)).astype(np.float32))
    y = layer(x.to(torch.bfloat16)).float()
    ref = x @ torch.from_numpy(exact).t()
    assert ((y - ref).abs().max() / ref.abs().max()).item() < 2e-2


def test_int8_rows():
    w = torch.randn(64, 96)
    layer = QLinear.int8(w)
    x = torch.randn(2, 96)
    ref = x @ w.t()
    assert ((layer(x.to(torch.bfloat16)).float() - ref).abs().max() / ref.abs().max()).item() < 2e-2


@pytest.fixture(scope="module", params=["Q4_1", "Q4_0", "Q8_0"])
def pair(request, tmp_path_factory):
    path = write_llama_gguf(tiny_hf_model("llama"), tiny_tokenizer(),
                            tmp_path_factory.mktemp("f") / f"t-{request.param}.gguf", request.param)
    return load_model(path, device="cpu", dtype="auto"), load_model(path, device="cpu")


def _ids(n=40):
    return torch.randint(0, 320, (1, n), generator=torch.Generator().manual_seed(5))


def test_fast_matches_reference(pair):
    fast, ref = pair
    assert isinstance(fast.model, FastLlama)
    ids = _ids()
    with torch.no_grad():
        a = fast.model(ids, use_cache=False)
        b = ref.model(ids)
    scale = b.abs().max().item()
    assert (a - b).abs().max().item() < 0.03 * scale
    assert (a.argmax(-1) == b.argmax(-1)).float().mean().item() >= 0.9


def test_fast_cached_decode_equals_full_forward(pair):
    fast, _ = pair
    ids = _ids(30)
    m = fast.model
    with torch.no_grad():
        full = m(ids, use_cache=False)
        m.setup_cache(16)  # small on purpose: the cache must grow
        steps = [m(ids[:, :9], start=0)]
        for t in range(9, 30):
            steps.append(m(ids[:, t : t + 1], start=t))
    stepped = torch.cat(steps, 1)
    assert (stepped - full).abs().max().item() < 0.02 * full.abs().max().item()


def test_fast_attention_probabilities(pair):
    fast, ref = pair
    ids = _ids(12)
    _, extra = fast.model(ids, use_cache=False, need_weights=True)
    _, ref_extra = ref.model(ids, need_weights=True)
    att = extra["attentions"]
    assert len(att) == 2 and att[0].shape == (1, 4, 12, 12)
    assert torch.allclose(att[1].sum(-1), torch.ones(1, 4, 12), atol=1e-3)
    assert att[1][0, 0].triu(1).abs().max() == 0
    assert (att[1].float() - ref_extra["attentions"][1]).abs().max() < 0.05


def test_fast_generation_streams(pair):
    fast, _ = pair
    fast.tokenizer.eos_ids = []
    events = list(generate(fast.model, fast.tokenizer, fast.tokenizer.encode("the quick"),
                           SamplingParams(temperature=0, max_tokens=20)))
    assert sum(isinstance(e, TokenEvent) for e in events) == 20


def test_gpt2_gguf_falls_back_to_the_reference_model(tmp_path):
    path = write_llama_gguf(tiny_hf_model("gpt2"), tiny_tokenizer(), tmp_path / "g.gguf")
    assert not isinstance(load_model(path, device="cpu", dtype="auto").model, FastLlama)


@pytest.mark.parametrize("rows", [1, 64])
def test_prefill_dense_path_equals_kernel(rows):
    from playground.model import quant

    rng = np.random.default_rng(1)
    w = rng.normal(size=(128, 96)).astype(np.float32)
    layer = QLinear.int4(*q4_blocks_to_int4(gguf.quants.quantize(w, Q.Q4_1), "Q4_1"))
    assert quant._int4_layout_is_known()
    x = torch.from_numpy(rng.normal(size=(rows, 96)).astype(np.float32)).to(torch.bfloat16)
    kernel = torch.ops.aten._weight_int4pack_mm_for_cpu(x, layer.weight, 32, layer.scales).float()
    dense = torch.nn.functional.linear(x, layer.dense()).float()
    assert (kernel - dense).abs().max() < 0.02 * kernel.abs().max()
    assert (layer(x).float() - kernel).abs().max() < 0.02 * kernel.abs().max()


def test_last_only_returns_the_last_positions_logits(pair):
    fast, ref = pair
    ids = _ids(20)
    with torch.no_grad():
        for lm in (fast, ref):
            full = lm.model(ids, use_cache=False)
            last = lm.model(ids, use_cache=False, last_only=True)
            assert last.shape == (1, 1, full.shape[-1])
            assert torch.allclose(last[0, 0], full[0, -1], atol=1e-3)
