"""The sampler's scan of the whole vocabulary (vocab_scan.py, model/native/sample.c): every compiled
copy and the PyTorch path give the same top ids and values as a stable sort, in the same order, and
softmax's sums as double-precision arithmetic; and sample()'s few-candidates path (sampling_small.py)
draws what the PyTorch stages over the whole vocabulary draw."""

from __future__ import annotations

import math

import pytest
import torch

from playground import vocab_scan
from playground.model import native
from playground.sampling import (
    SamplingParams,
    apply_penalties,
    min_p_filter,
    sample,
    sanitize,
    top_k_filter,
    top_p_filter,
    typical_filter,
)


def _copies() -> list[str]:
    out = ["torch"]
    if native.library("portable") is not None:
        out.append("portable")
        out += [c for c in ("avx2", "avx512") if c in native.runnable()]
    return out


def _cases() -> list[tuple[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(17)
    cases = []
    for n in (1, 7, 16, 1000, 1023, 5003, 49152 + 9):
        cases.append((f"randn{n}", torch.randn(n, generator=g) * 4))
    ties = (torch.randn(4099, generator=g) * 2).round()  # many exactly equal logits, ties at every boundary
    cases.append(("ties", ties))
    holes = torch.randn(3001, generator=g)
    holes[::7] = -math.inf  # removed tokens (a logit bias of -inf)
    cases.append(("neginf", holes))
    bad = torch.randn(2050, generator=g)
    bad[3], bad[1500], bad[2049] = math.nan, math.inf, -math.inf
    cases.append(("nan_inf", bad))
    few = torch.full((40,), -math.inf)
    few[[2, 30]] = torch.tensor([1.0, 1.0])  # fewer finite logits than k
    cases.append(("mostly_neginf", few))
    cases.append(("all_neginf", torch.full((100,), -math.inf)))
    cases.append(("ascending", torch.arange(3000, dtype=torch.float32)))  # every logit a new best
    return cases


@pytest.mark.parametrize("copy", _copies())
def test_every_copy_matches_a_stable_sort_and_double_sums(copy):
    for name, x in _cases():
        clean = sanitize(x)
        ref_v, ref_i = torch.sort(clean, descending=True, stable=True)
        m = float(clean.max())
        d = clean.double()
        for k in sorted({0, 1, min(11, x.numel()), min(41, x.numel()), min(300, x.numel())}):
            sc = vocab_scan.scan(x, k, copy=copy)
            assert sc.ids == ref_i[:k].tolist(), (copy, name, k)
            assert sc.vals == ref_v[:k].tolist(), (copy, name, k)
            assert sc.max == m, (copy, name)
            if m == -math.inf:
                assert sc.z == 0.0 and sc.entropy == 0.0
                continue
            e = (d - m).exp()
            z = float(e.sum())
            zx = float((e * (d - m).nan_to_num(neginf=0.0)).sum())
            assert sc.z == pytest.approx(z, rel=1e-5), (copy, name)
            assert sc.zx == pytest.approx(zx, rel=1e-5, abs=1e-6), (copy, name)
            assert sc.prob(sc.vals[0] if k else m) == pytest.approx(math.exp(0) / z, rel=1e-5)
        # the values are torch.topk's (its order of equal values aside)
        k = min(41, x.numel())
        assert vocab_scan.scan(x, k, copy=copy).vals == torch.topk(clean, k).values.tolist()


def test_the_native_copies_agree_with_torch_on_a_real_sized_vocabulary():
    copies = [c for c in _copies() if c != "torch"]
    if not copies:
        pytest.skip("the native kernels are not built")
    x = torch.randn(262144, generator=torch.Generator().manual_seed(3)) * 5
    ref = vocab_scan.scan(x, 41, copy="torch")
    for c in copies:
        sc = vocab_scan.scan(x, 41, copy=c)
        assert (sc.ids, sc.vals, sc.max) == (ref.ids, ref.vals, ref.max), c
        assert sc.entropy == pytest.approx(ref.entropy, rel=1e-5), c


def test_a_copy_that_cannot_run_says_so():
    with pytest.raises(ValueError, match="cannot run here"):
        vocab_scan.scan(torch.zeros(4), 2, copy="sse9")


def _reference(x: torch.Tensor, history: list[int], p: SamplingParams, seed: int) -> tuple[int, torch.Tensor]:
    """The pipeline written out over the whole vocabulary with the PyTorch stages, and its draw."""
    y = sanitize(x)
    keep = torch.arange(x.numel())  # the candidates the draw is over: top-k's survivors, by id
    for stage in p.order:
        if stage == "penalties":
            y = apply_penalties(y, history, p)
        elif stage == "top_k":
            y = top_k_filter(y, p.top_k)
            keep = torch.isfinite(y).nonzero().flatten()
        elif stage == "top_p":
            y = top_p_filter(y, p.top_p)
        elif stage == "min_p":
            y = min_p_filter(y, p.min_p)
        elif stage == "typical_p":
            y = typical_filter(y, p.typical_p)
        elif stage == "temperature" and not p.greedy:
            y = y / p.temperature
    if p.greedy:
        return int(y.argmax()), None
    probs = torch.softmax(y, -1)
    sub = torch.softmax(y[keep], -1)  # zeros where a later stage removed a candidate
    return int(keep[torch.multinomial(sub, 1, generator=torch.Generator().manual_seed(seed))]), probs


@pytest.mark.parametrize("greedy", [True, False])
def test_sample_on_few_candidates_draws_what_the_full_vocabulary_pipeline_draws(greedy):
    g = torch.Generator().manual_seed(5)
    presets = [SamplingParams(), SamplingParams(top_k=20, top_p=0.9, min_p=0.05, temperature=0.2),
               SamplingParams(top_k=40, top_p=0.8, typical_p=0.9, repeat_penalty=1.3, presence_penalty=0.2),
               SamplingParams(top_k=30, order=("top_k", "temperature", "min_p", "top_p", "penalties"),
                              temperature=1.5, min_p=0.1, frequency_penalty=0.5),
               SamplingParams(top_k=2000, top_p=0.95)]  # over SMALL: the tensor path
    for trial in range(40):
        x = torch.randn(5000, generator=g) * 3
        history = torch.randint(0, 5000, (30,), generator=g).tolist()
        p = presets[trial % len(presets)].replace(temperature=0.0) if greedy else presets[trial % len(presets)]
        r = sample(x, history, p, torch.Generator().manual_seed(trial), track=True)
        token, probs = _reference(x, history, p, trial)
        assert r.token == token, (trial, p)
        if probs is not None:
            assert torch.allclose(r.probs_final, probs, atol=1e-6), (trial, p)
        else:
            assert r.prob == 1.0 and r.probs_final[token] == 1.0
        assert r.raw_prob == pytest.approx(float(torch.softmax(x, -1)[token]), rel=1e-5)
        assert [t for t, _ in r.top_raw] == torch.topk(x, 10).indices.tolist()  # distinct logits: one order


def test_a_large_top_k_keeps_its_thousands_of_candidates_off_the_python_lists(monkeypatch):
    """Lists are for a few candidates (SMALL): a top-k of thousands on them costs several times what
    the tensor path does (measured: top_k 40,000 of 49,152, 56 ms against 8 ms a token)."""
    import playground.sampling as sampling

    sizes = []

    class Counted(sampling.Candidates):
        def __init__(self, ids, x):
            sizes.append(len(ids))
            super().__init__(ids, x)

    monkeypatch.setattr(sampling, "Candidates", Counted)
    x = torch.randn(8000, generator=torch.Generator().manual_seed(3)) * 3
    for k in (40, 1024, 1025, 5000):
        r = sample(x, [], SamplingParams(top_k=k, top_p=0.999), torch.Generator().manual_seed(k), track=True)
        assert r.token in torch.topk(x, k).indices.tolist()
    assert sizes and max(sizes) <= sampling.SMALL
