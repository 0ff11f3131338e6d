"""Our metrics agree with sacrebleu and rouge-score on the same inputs."""

from __future__ import annotations

import pytest

from playground.training.metrics import corpus_bleu, exact_match, perplexity, rouge_l, rouge_n

CASES = [
    ("the cat sat on the mat", "the cat sat on the mat"),
    ("the cat sat on a mat", "the cat is on the mat"),
    ("Hamlet", "Hamlet"),
    ("Horatio", "Hamlet"),
    ("", "Hamlet"),
    ("Prince of Denmark, 1600.", "the Prince of Denmark (1600-1601)"),
    ("It's 3.14 -- pi, isn't it?", "It is 3.14, pi isn't it"),
    ("a b c d e f g h", "a b c d e f g i"),
]


@pytest.mark.parametrize("hyp,ref", CASES)
def test_sentence_bleu_matches_sacrebleu(hyp, ref):
    import sacrebleu

    assert corpus_bleu([hyp], [ref]) == pytest.approx(sacrebleu.corpus_bleu([hyp], [[ref]]).score, abs=1e-6)


def test_corpus_bleu_matches_sacrebleu():
    import sacrebleu

    hyps, refs = [h for h, _ in CASES], [r for _, r in CASES]
    assert corpus_bleu(hyps, refs) == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score, abs=1e-6)


@pytest.mark.parametrize("hyp,ref", CASES)
def test_rouge_matches_rouge_score(hyp, ref):
    from rouge_score import rouge_scorer

    s = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"]).score(ref, hyp)
    assert rouge_n(hyp, ref, 1) == pytest.approx(s["rouge1"].fmeasure, abs=1e-9)
    assert rouge_n(hyp, ref, 2) == pytest.approx(s["rouge2"].fmeasure, abs=1e-9)
    assert rouge_l(hyp, ref) == pytest.approx(s["rougeL"].fmeasure, abs=1e-9)


def test_exact_match_and_perplexity():
    assert exact_match(" hamlet. ", "Hamlet") == 1.0 and exact_match("Horatio", "Hamlet") == 0.0
    assert perplexity(0.0) == 1.0 and perplexity(2.0) == pytest.approx(7.389, abs=1e-3)
