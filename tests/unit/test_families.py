"""Every family we run, from GGUF files as llama.cpp's converter writes them: the reference model
equals transformers' logits, and the fast path (quantized weights) agrees with the reference.

(Safetensors folders of the same families: test_model_parity.py.)
"""

from __future__ import annotations

import pytest
import torch

from playground.loading import load_model
from playground.model.fast import FastLlama
from tests.helpers import agreement, roundtrip_weights, sharpen, tiny_hf_model, tiny_tokenizer, write_gguf
from tests.unit.test_model_parity import LONGROPE

FAMILIES = {
    "mistral": ("mistral", {}),
    "qwen3": ("qwen3", {}),
    "gemma2": ("gemma2", {}),
    "gemma3": ("gemma3", {}),
    "phi3": ("phi3", {}),
    "phi3-longrope": ("phi3", {"rope_parameters": LONGROPE}),
    "smollm3": ("smollm3", {}),
}


def _ids(n: int = 48, seed: int = 3) -> torch.Tensor:
    return torch.randint(0, 320, (1, n), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("qtype", ["F32", "Q8_0", "Q4_1"])
@pytest.mark.parametrize("case", sorted(FAMILIES))
def test_gguf_reference_model_matches_transformers(case, qtype, tmp_path):
    kind, overrides = FAMILIES[case]
    ref = tiny_hf_model(kind, **overrides)
    lm = load_model(write_gguf(ref, tiny_tokenizer(), tmp_path / f"{case}.gguf", qtype), device="cpu")
    assert lm.config.family == {"mistral": "llama"}.get(kind, kind)  # llama.cpp writes Mistral as llama
    assert lm.quantization == qtype
    if qtype != "F32":  # against transformers with the file's rounding applied to its weights
        roundtrip_weights(ref, qtype)
    ids = _ids()
    with torch.no_grad():
        assert (lm.model(ids) - ref(ids).logits).abs().max().item() < 1e-4


# The fast path against the reference on the same file, teacher-forced over 256 positions, prompt
# and token by token (as test_fast_path does for Llama; FAST_KL / FAST_TOP1 are its bounds).
@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family_pair(request, tmp_path_factory):
    kind, overrides = FAMILIES[request.param]
    hf = sharpen(tiny_hf_model(kind, max_position_embeddings=512, **overrides))
    path = write_gguf(hf, tiny_tokenizer(), tmp_path_factory.mktemp("fam") / f"{request.param}.gguf", "Q8_0")
    return load_model(path, device="cpu", dtype="auto"), load_model(path, device="cpu")


@pytest.mark.parametrize("how", ["prompt", "token by token"])
def test_fast_path_agrees_with_the_reference(family_pair, how):
    from playground.model import native
    from tests.unit.test_fast_path import FAST_KL, FAST_TOP1

    fast, ref = family_pair
    assert isinstance(fast.model, FastLlama)
    if native.library() is not None and "longrope" not in str(ref.config.rope_scaling):
        assert fast.model.native() is not None  # token by token: the native kernels' whole forward pass
    ids = _ids(256, seed=5)
    m = fast.model
    with torch.no_grad():
        expected = ref.model(ids)
        if how == "prompt":
            got = m(ids)
        else:
            m.setup_cache(8)
            got = torch.cat([m(ids[:, t : t + 1], start=t, use_cache=True) for t in range(256)], 1)
    kl, top1 = agreement(expected, got)
    assert kl < FAST_KL and top1 >= FAST_TOP1, (kl, top1)


def test_fast_path_attention_maps_and_lens_follow_the_reference(family_pair):
    fast, ref = family_pair
    ids = _ids(24)
    with torch.no_grad():
        _, got = fast.model(ids, need_weights=True, return_hidden=True)
        _, want = ref.model(ids, need_weights=True, return_hidden=True)
    assert len(got["attentions"]) == len(want["attentions"]) == ref.config.n_layers
    for a, b in zip(got["attentions"], want["attentions"]):
        assert (a.float() - b).abs().max() < 0.05
    assert len(got["hidden"]) == ref.config.n_layers + 1
