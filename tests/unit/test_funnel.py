"""The sampler's funnel, recomputed on demand: the same alternatives and removing stages the reply
recorded, 50 of them, and the count of candidates each stage left."""

from __future__ import annotations

import pytest
import torch

from playground.engine.funnel import TOP_N, token_funnel
from playground.engine.generate import TokenEvent, generate
from playground.loading import load_model
from playground.sampling import SamplingParams, sample
from tests.helpers import save_hf, tiny_hf_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    lm = load_model(save_hf(tiny_hf_model("llama"), tmp_path_factory.mktemp("m") / "llama"), device="cpu")
    lm.tokenizer.eos_ids = []
    return lm


def test_survivors_count_what_each_stage_left():
    torch.manual_seed(0)
    logits = torch.randn(1000) * 3
    p = SamplingParams(top_k=100, top_p=0.9, min_p=0.05, temperature=0.8)
    res = sample(logits, [], p, torch.Generator().manual_seed(1), track=True, top_n=50)
    stages = [s for s, _ in res.survivors]
    assert stages == ["vocabulary", "top_k", "top_p", "min_p"]  # typical_p is off; penalties/temperature remove none
    counts = dict(res.survivors)
    assert counts["vocabulary"] == 1000 and counts["top_k"] == 100
    assert 1 <= counts["min_p"] <= counts["top_p"] <= 100
    assert counts["min_p"] == int((res.cand_probs > 0).sum())  # what is left is what it drew from


def test_the_funnel_matches_what_the_reply_recorded(tiny):
    p = SamplingParams(temperature=1.0, top_k=20, top_p=0.8, min_p=0.02, seed=7, max_tokens=8)
    prompt = tiny.tokenizer.encode("the quick brown fox")
    events = [e for e in generate(tiny.model, tiny.tokenizer, prompt, p) if isinstance(e, TokenEvent)]
    for i in (0, 3, 7):
        ev = events[i]
        ids = list(prompt) + [e.token_id for e in events[:i]]
        f = token_funnel(tiny.model, ids, ev.params, chosen=ev.token_id)
        assert len(f.alternatives) == TOP_N
        assert [a.token_id for a in f.alternatives[: len(ev.top)]] == [t for t, _ in ev.top]
        for a, (_, p_raw) in zip(f.alternatives, ev.top):
            assert a.raw_p == pytest.approx(p_raw, abs=1e-4)
        recorded = {t: stage for stage, toks in ev.removed_by.items() for t in toks}
        for a in f.alternatives[: len(ev.top)]:
            assert a.removed_by == recorded.get(a.token_id, "")
        assert dict(f.survivors)["top_k"] == 20
        assert any(a.removed_by == "top_k" for a in f.alternatives)  # 50 alternatives reach past top-k's 20
        assert f.chosen == ev.token_id and any(a.token_id == ev.token_id and a.final_p > 0 for a in f.alternatives)
