"""Our Transformer against Hugging Face transformers on tiny random configs of every family we run
(float32 logits), loaded from safetensors folders as transformers saves them."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from playground.loading import load_model
from playground.loading.api import build_model
from playground.loading.hf import open_hf_folder
from playground.loading.safetensors_file import MappedSafetensors
from tests.helpers import save_hf, tiny_hf_model

LONGROPE = {"rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 0.5,
            "original_max_position_embeddings": 32, "short_factor": [1.0, 1.3, 1.7, 2.0],
            "long_factor": [1.5, 2.5, 4.0, 6.0]}

CASES = {
    "llama-gqa-untied": ("llama", {"tie_word_embeddings": False}),
    "llama-gqa-tied": ("llama", {"tie_word_embeddings": True}),
    "llama-mha": ("llama", {"num_key_value_heads": 4}),
    "llama3-rope": ("llama", {"rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                                  "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                  "original_max_position_embeddings": 32}}),
    "linear-rope": ("llama", {"rope_parameters": {"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0}}),
    "qwen2-bias": ("qwen2", {"tie_word_embeddings": False}),
    "qwen2-yarn": ("qwen2", {"rope_parameters": {"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 4.0,
                                                 "original_max_position_embeddings": 64}}),
    "gpt2": ("gpt2", {}),
    "mistral-sliding-window": ("mistral", {}),
    "qwen3-qk-norm": ("qwen3", {}),
    "gemma2": ("gemma2", {}),
    "gemma3": ("gemma3", {}),
    "gemma3-query-scalar": ("gemma3", {"query_pre_attn_scalar": 24}),
    "phi3-partial-rope": ("phi3", {}),
    "phi3-longrope": ("phi3", {"rope_parameters": LONGROPE, "max_position_embeddings": 256}),  # 48 > 32: long factors
    "phi3-sliding-window": ("phi3", {"sliding_window": 8}),
    "smollm3-no-rope-layers": ("smollm3", {}),
}


def _ids(vocab: int, n: int = 48) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randint(0, vocab, (1, n), generator=g)


@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_match_transformers(case, tmp_path):
    kind, overrides = CASES[case]
    ref = tiny_hf_model(kind, **overrides)
    lm = load_model(save_hf(ref, tmp_path / case), device="cpu")
    ids = _ids(ref.config.vocab_size)
    with torch.no_grad():
        expected = ref(ids).logits
        got = lm.model(ids)
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() < 1e-4


@pytest.mark.parametrize("case", ["llama-gqa-untied", "qwen2-bias", "gpt2"])
def test_kv_cache_decoding_equals_full_forward(case, tmp_path):
    kind, overrides = CASES[case]
    lm = load_model(save_hf(tiny_hf_model(kind, **overrides), tmp_path / case), device="cpu")
    model = lm.model
    ids = _ids(lm.config.vocab_size, 24)
    with torch.no_grad():
        full = model(ids)
        model.setup_cache(64)
        steps = [model(ids[:, :10], start=0, use_cache=True)]  # a prefill of 10, then one at a time
        for t in range(10, ids.shape[1]):
            steps.append(model(ids[:, t : t + 1], start=t, use_cache=True))
    stepped = torch.cat(steps, dim=1)
    assert (stepped - full).abs().max().item() < 1e-4


def test_attention_weights_path_matches_fast_path(tmp_path):
    lm = load_model(save_hf(tiny_hf_model("llama"), tmp_path / "m"), device="cpu")
    ids = _ids(lm.config.vocab_size, 20)
    with torch.no_grad():
        fast = lm.model(ids)
        slow, extra = lm.model(ids, need_weights=True)
    att = extra["attentions"]
    assert len(att) == lm.config.n_layers
    assert att[0].shape == (1, lm.config.n_heads, 20, 20)
    assert torch.allclose(att[0].sum(-1), torch.ones(1, lm.config.n_heads, 20), atol=1e-5)
    assert att[0][0, 0].triu(1).abs().max() == 0  # the future is masked
    assert (fast - slow).abs().max() < 1e-4


# What each family's tiny config must exercise: without the switch, our logits would not match, so
# the parity test above really covers it.
FEATURES = {
    "mistral": {"sliding_window": None},
    "qwen3": {"qk_norm": False},
    "gemma2": {"attn_softcap": None, "final_softcap": None, "sliding_window": None, "embed_scale": 1.0},
    "gemma3": {"rope_local_theta": None, "qk_norm": False, "sliding_window": None, "rope_scaling": None},
    "phi3": {"rotary_dim": None},
    "smollm3": {"rope_layers": None},
}


@pytest.mark.parametrize("kind,switch", [(k, s) for k, switches in FEATURES.items() for s in switches])
def test_each_family_switch_is_exercised(kind, switch, tmp_path):
    ref = tiny_hf_model(kind)
    folder = open_hf_folder(save_hf(ref, tmp_path / kind))
    cfg, sd = folder.cfg, folder.lazy_state(MappedSafetensors(folder.table))
    if switch == "qk_norm":
        sd = {k: v for k, v in sd.items() if "q_norm" not in k and "k_norm" not in k}
    model = build_model(dataclasses.replace(cfg, **{switch: FEATURES[kind][switch]}), sd, torch.device("cpu"),
                        torch.float32)
    ids = _ids(ref.config.vocab_size)
    with torch.no_grad():
        assert (model(ids) - ref(ids).logits).abs().max().item() > 1e-4


@pytest.mark.parametrize("kind", ["gemma2", "gemma3", "mistral"])
def test_sliding_window_decoding_equals_full_forward(kind, tmp_path):
    """Token by token through the cache, the sliding layers still see exactly their window."""
    lm = load_model(save_hf(tiny_hf_model(kind), tmp_path / kind), device="cpu")
    model = lm.model
    ids = _ids(lm.config.vocab_size, 30)
    with torch.no_grad():
        full = model(ids)
        model.setup_cache(4)  # grows on the way
        steps = [model(ids[:, :5], start=0, use_cache=True)]
        steps += [model(ids[:, t : t + 1], start=t, use_cache=True) for t in range(5, 30)]
    assert (torch.cat(steps, 1) - full).abs().max().item() < 1e-4
