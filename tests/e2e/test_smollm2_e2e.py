"""End to end on the real SmolLM2-135M-Instruct Q4_1 file: the answer, and agreement with
transformers loading the same GGUF."""

from __future__ import annotations

import pytest
import torch

from playground.engine.generate import Finished, TokenEvent, generate
from playground.sampling import SamplingParams

pytestmark = pytest.mark.e2e
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def reference(smollm2_path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(
        str(smollm2_path.parent), gguf_file=smollm2_path.name, dtype=torch.float32
    ).eval()


def _greedy(lm, n):
    ids = lm.tokenizer.encode_chat(QUESTION)
    events = list(generate(lm.model, lm.tokenizer, ids, SamplingParams(temperature=0, max_tokens=n)))
    return ids, [e for e in events if isinstance(e, TokenEvent)], events[-1]


def test_greedy_answer_names_paris(smollm2):
    _, toks, fin = _greedy(smollm2, 48)
    assert isinstance(fin, Finished) and fin.reason == "eos"
    assert "Paris" in "".join(e.text for e in toks) + fin.tail


def test_first_32_greedy_tokens_equal_transformers(smollm2, reference, record_property):
    prompt, _, _ = _greedy(smollm2, 1)
    # 32 greedy tokens from each (the reference may stop early at EOS; we continue past it)
    ref_ids = list(prompt)
    ours_ids = list(prompt)
    with torch.no_grad():
        model = smollm2.model
        for _ in range(32):
            ref_logits = reference(torch.tensor([ref_ids])).logits[0, -1]
            ref_ids.append(int(ref_logits.argmax()))
            our_logits = model(torch.tensor([ours_ids]))[0, -1]
            ours_ids.append(int(our_logits.argmax()))
            if ours_ids[-1] != ref_ids[-1]:
                top2 = ref_logits.topk(2).values
                gap = float(top2[0] - top2[1])
                record_property("parted_at", len(ours_ids) - len(prompt))
                assert gap < 1e-3, f"streams part at token {len(ours_ids) - len(prompt)} with a clear winner (gap {gap})"
                pytest.skip(f"streams part at a near tie (reference top-2 gap {gap:.2e}); not a mismatch")
            assert (our_logits - ref_logits).abs().max().item() < 1e-2
    assert ours_ids == ref_ids


@pytest.mark.parametrize("question", ["What is the capital of France?",
                                      "Write a Python function that reverses a string."])
def test_fast_path_follows_transformers(smollm2_path, reference, question, record_property):
    """What users run (quantized weights, native kernels with int8 activations for one token,
    bfloat16 prefill) against transformers' float32 model of the same file: every greedy token is
    the reference's choice, or a near tie there (measured: 62 of 64 on a story prompt, gaps ≤ 0.25)."""
    from playground.loading import load_model

    fast = load_model(smollm2_path, device="cpu", dtype="auto")
    ids = fast.tokenizer.encode_chat([{"role": "user", "content": question}])
    toks = [e.token_id for e in generate(fast.model, fast.tokenizer, ids, SamplingParams(temperature=0, max_tokens=40))
            if isinstance(e, TokenEvent)]
    with torch.no_grad():
        logits = reference(torch.tensor([ids + toks])).logits[0, len(ids) - 1 : -1]
    gaps = [float(logits[i].max() - logits[i][t]) for i, t in enumerate(toks)]
    agree = sum(g == 0 for g in gaps)
    record_property("agreement", f"{agree}/{len(toks)}")
    # at most one near tie in ten (and one in a short answer: the AVX2 kernels part from the
    # reference on "Paris," vs "Paris." at a gap of 0.3 in a 9-token reply)
    assert agree >= len(toks) - max(1, len(toks) // 10) and max(gaps) < 0.5, gaps
