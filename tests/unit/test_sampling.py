"""Each sampler stage against hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch

from playground.sampling import (
    PRESETS,
    SamplingParams,
    apply_penalties,
    min_p_filter,
    sample,
    top_k_filter,
    top_p_filter,
    typical_filter,
)

INF = math.inf


def kept(x: torch.Tensor) -> list[int]:
    return torch.isfinite(x).nonzero().flatten().tolist()


def logits_for(probs: list[float]) -> torch.Tensor:
    return torch.tensor(probs).log()


def test_top_k():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert kept(top_k_filter(x, 2)) == [2, 3]
    assert kept(top_k_filter(torch.tensor([1.0, 3.0, 3.0, 2.0]), 1)) == [1, 2]  # ties at the boundary stay
    assert kept(top_k_filter(x, 100)) == [0, 1, 2, 3]  # k larger than the vocabulary
    assert kept(top_k_filter(x, 0)) == [0, 1, 2, 3]  # off


def test_top_p():
    x = logits_for([0.5, 0.3, 0.2])
    assert kept(top_p_filter(x, 0.6)) == [0, 1]  # 0.5 < 0.6, so the 0.3 token is needed
    assert kept(top_p_filter(x, 0.5)) == [0]  # the first token alone reaches 0.5
    assert kept(top_p_filter(x, 1.0)) == [0, 1, 2]
    assert kept(top_p_filter(x, 0.0)) == [0]  # never empty
    assert kept(top_p_filter(logits_for([0.2, 0.5, 0.3]), 0.7)) == [1, 2]  # order does not matter


def test_min_p():
    x = logits_for([0.5, 0.3, 0.2])
    assert kept(min_p_filter(x, 0.5)) == [0, 1]  # threshold 0.25
    assert kept(min_p_filter(x, 0.0)) == [0, 1, 2]
    assert kept(min_p_filter(x, 1.0)) == [0]


def test_typical():
    # entropy of [0.4, 0.4, 0.2] is 1.0549; surprisals 0.916 (dev 0.139), 1.609 (dev 0.555)
    x = logits_for([0.4, 0.4, 0.2])
    assert kept(typical_filter(x, 0.5)) == [0, 1]
    assert kept(typical_filter(x, 1.0)) == [0, 1, 2]


def test_repetition_penalty():
    p = SamplingParams(repeat_penalty=2.0, repeat_last_n=64)
    out = apply_penalties(torch.tensor([2.0, -2.0, 1.0]), [0, 1], p)
    assert out.tolist() == [1.0, -4.0, 1.0]


def test_penalty_window():
    p = SamplingParams(repeat_penalty=2.0, repeat_last_n=1)
    assert apply_penalties(torch.tensor([2.0, 2.0]), [0, 1], p).tolist() == [2.0, 1.0]
    assert apply_penalties(torch.tensor([2.0, 2.0]), [0, 1], p.replace(repeat_last_n=0)).tolist() == [2.0, 2.0]


def test_presence_and_frequency_penalties():
    p = SamplingParams(presence_penalty=0.5, frequency_penalty=0.25)
    out = apply_penalties(torch.tensor([1.0, 1.0, 1.0]), [0, 0, 1], p)
    assert out.tolist() == pytest.approx([0.0, 0.25, 1.0])


def test_logit_bias():
    p = SamplingParams(logit_bias=((2, 5.0),))
    assert apply_penalties(torch.tensor([1.0, 1.0, 1.0]), [], p).tolist() == [1.0, 1.0, 6.0]


def test_greedy_is_argmax_and_temperature_zero_is_greedy():
    x = torch.tensor([0.1, 3.0, 2.9, -1.0])
    assert sample(x, [], SamplingParams(temperature=0.0)).token == 1
    assert PRESETS["Greedy"].greedy


def test_seeded_draws_repeat():
    x = torch.zeros(50)
    p = SamplingParams(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0)
    a = [sample(x, [], p, torch.Generator().manual_seed(7)).token for _ in range(5)]
    b = [sample(x, [], p, torch.Generator().manual_seed(7)).token for _ in range(5)]
    assert a == b


def test_temperature_sharpens_and_flattens():
    x = torch.tensor([2.0, 1.0, 0.0])
    p = SamplingParams(top_k=0, top_p=1.0, min_p=0.0)
    cold = sample(x, [], p.replace(temperature=0.5), torch.Generator().manual_seed(0)).probs_final
    hot = sample(x, [], p.replace(temperature=2.0), torch.Generator().manual_seed(0)).probs_final
    assert cold[0] > torch.softmax(x, 0)[0] > hot[0]


def test_nan_and_inf_logits_do_not_crash():
    x = torch.tensor([math.nan, INF, 1.0, -INF])
    assert sample(x, [], SamplingParams(temperature=0)).token == 1
    r = sample(x, [], SamplingParams(temperature=1.0), torch.Generator().manual_seed(0))
    assert r.token == 1
    assert sample(torch.full((4,), math.nan), [], SamplingParams()).token in range(4)


def test_all_candidates_removed_falls_back_to_most_likely():
    x = torch.tensor([1.0, 3.0, 2.0])
    p = SamplingParams(temperature=1.0, logit_bias=((0, -INF), (1, -INF), (2, -INF)))
    assert sample(x, [], p).token == 1


@pytest.mark.parametrize(
    "field,value", [("temperature", -1.0), ("top_p", 1.5), ("top_k", -3), ("min_p", math.nan), ("max_tokens", 0)]
)
def test_bad_values_name_the_parameter_and_range(field, value):
    with pytest.raises(ValueError, match=f"{field} must be a number from"):
        SamplingParams(**{field: value})


def test_unknown_stage_in_order():
    with pytest.raises(ValueError, match="unknown sampler stage"):
        SamplingParams(order=("top_k", "magic"))


def test_tracking_reports_what_each_stage_removed():
    x = logits_for([0.5, 0.3, 0.15, 0.05])
    p = SamplingParams(temperature=1.0, top_k=3, top_p=0.7, min_p=0.0)
    r = sample(x, [], p, torch.Generator().manual_seed(0), track=True)
    assert r.removed_by == {"top_k": [3], "top_p": [2]}
    assert r.probs_final[2] == 0 and r.probs_final[:2].sum() == pytest.approx(1.0)
    assert [t for t, _ in r.top_raw] == [0, 1, 2, 3] and [t for t, _ in r.top_final] == [0, 1]


def test_stages_after_top_k_see_only_its_survivors_and_agree_with_full_vocabulary():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5000, generator=g) * 3
    history = [5, 17, 17, 4000]
    p = SamplingParams(temperature=0.9, top_k=50, top_p=0.8, min_p=0.02, typical_p=0.95, repeat_penalty=1.3,
                       presence_penalty=0.2, frequency_penalty=0.1)
    r = sample(x, history, p, torch.Generator().manual_seed(1))
    # the same pipeline written out over the whole vocabulary
    y = apply_penalties(x, history, p)
    y = top_p_filter(typical_filter(top_k_filter(y, 50), 0.95), 0.8)
    y = min_p_filter(y, 0.02) / 0.9
    expected = torch.softmax(y, -1)
    assert torch.allclose(r.probs_final, expected, atol=1e-6)


def test_penalties_after_top_k_use_the_subset_mapping():
    x = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0])
    p = SamplingParams(temperature=0, top_k=3, order=("top_k", "penalties", "temperature"), repeat_penalty=10.0)
    assert sample(x, [0, 0], p).token == 1  # token 0 penalised to 0.5 after surviving top-k
