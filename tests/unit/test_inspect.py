"""Attention maps equal transformers' eager attentions; the logit lens ends at the model's own
next-token distribution."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground.engine.inspect import attention_maps, logit_lens, map_token_limit, token_label
from playground.loading import load_model
from tests.helpers import save_hf, tiny_hf_model, tiny_tokenizer, write_llama_gguf


@pytest.mark.parametrize("kind", ["llama", "qwen2", "gpt2"])
def test_attention_probabilities_equal_transformers_eager(kind, tmp_path):
    ref = tiny_hf_model(kind, attn_implementation="eager") if kind != "gpt2" else tiny_hf_model(kind)
    ref.config._attn_implementation = "eager"
    lm = load_model(save_hf(ref, tmp_path / kind), device="cpu")
    ids = torch.randint(0, 300, (1, 24), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = torch.stack([a[0] for a in ref(ids, output_attentions=True).attentions]).numpy()
    with torch.no_grad():  # the written-out path itself, in float32
        _, extra = lm.model(ids, need_weights=True)
    ours = torch.stack([a[0] for a in extra["attentions"]]).numpy()
    assert np.abs(ours - expected).max() < 1e-5
    assert np.allclose(ours.sum(-1), 1.0, atol=1e-5)
    assert np.triu(ours, 1).max() == 0  # the future is masked
    amap = attention_maps(lm, ids[0].tolist())  # what the viewer gets: float16
    assert amap.shape == expected.shape == (lm.config.n_layers, lm.config.n_heads, 24, 24)
    assert np.abs(amap.weights.astype(np.float32) - expected).max() < 1e-3
    assert np.triu(amap.weights, 1).max() == 0
    assert len(amap.labels) == 24


def test_long_conversations_show_their_last_tokens(tmp_path):
    lm = load_model(save_hf(tiny_hf_model("llama"), tmp_path / "m"), device="cpu")
    ids = list(range(5, 45))
    amap = attention_maps(lm, ids, max_tokens=16)
    assert amap.shape[-2:] == (16, 16) and (amap.first, amap.total) == (24, 40)
    assert amap.token_ids == ids[-16:]
    assert np.array_equal(amap.weights, attention_maps(lm, ids[-16:]).weights)
    # the default budget holds SmolLM2's maps (30 layers × 9 heads) for 2,048 tokens, not for 8,192
    assert 2048 <= map_token_limit(30, 9, budget=3 << 30) < 8192


def test_views_of_a_conversation_longer_than_the_context_read_its_last_context(tmp_path):
    """A conversation reopened on a model with a shorter context (a lesson's 128-token model):
    the views read what the model can, its last context's worth of tokens, instead of failing."""
    from playground.engine.funnel import token_funnel
    from playground.sampling import SamplingParams

    lm = load_model(save_hf(tiny_hf_model("llama", max_position_embeddings=32), tmp_path / "m"), device="cpu")
    ids = list(range(5, 45))  # 40 tokens, context 32
    amap = attention_maps(lm, ids)
    assert amap.shape[-2:] == (32, 32) and (amap.first, amap.total) == (8, 40)
    assert logit_lens(lm, ids, position=-1, k=3) == logit_lens(lm, ids[-32:], position=-1, k=3)
    assert logit_lens(lm, ids, position=20, k=3) == logit_lens(lm, ids[-32:], position=12, k=3)
    with pytest.raises(ValueError, match="context"):
        logit_lens(lm, ids, position=3)  # a token the model cannot see with the end
    funnel = token_funnel(lm.model, ids, SamplingParams())
    assert funnel.alternatives == token_funnel(lm.model, ids[-32:], SamplingParams()).alternatives


@pytest.mark.parametrize("dtype", ["float32", "auto"])
def test_logit_lens_last_layer_is_the_models_distribution(tmp_path, dtype):
    path = write_llama_gguf(tiny_hf_model("llama"), tiny_tokenizer(), tmp_path / "t.gguf", "Q4_1")
    lm = load_model(path, device="cpu", dtype=dtype)
    ids = list(range(5, 25))
    rows = logit_lens(lm, ids, position=-1, k=5)
    assert len(rows) == lm.config.n_layers + 1  # the embedding, then every layer
    with torch.no_grad():
        probs = torch.softmax(lm.model(torch.tensor([ids]), use_cache=False)[0, -1].float(), -1)
    v, i = probs.topk(5)
    assert [t for t, _ in rows[-1]] == i.tolist()
    assert np.allclose([p for _, p in rows[-1]], v.numpy(), atol=1e-3)


def test_token_labels_are_readable():
    from playground.tokenization.tokenizer import TextTokenizer

    tt = TextTokenizer(tiny_tokenizer())
    ids = tt.encode("a b\n")
    labels = [token_label(tt, i) for i in ids]
    assert "".join(labels) == "a·b↵"
