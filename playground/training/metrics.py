"""Evaluation metrics, written out so a learner can read them: perplexity, BLEU, ROUGE, exact match.

BLEU follows sacrebleu's corpus BLEU (13a tokenization, up to 4-grams, brevity penalty,
'exp' smoothing); ROUGE follows Google's rouge-score (lowercased alphanumeric tokens, F-measure,
ROUGE-L by longest common subsequence). Tests check both against those libraries.
"""

from __future__ import annotations

import math
import re
from collections import Counter


def perplexity(mean_nll: float) -> float:
    """exp of the mean cross-entropy (nats per token): how many tokens the model is choosing between."""
    return math.exp(min(mean_nll, 700.0))


# ---------------------------------------------------------------------------- BLEU
_13A = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
]


def tokenize_13a(line: str) -> list[str]:
    """The mteval-v13a tokenizer sacrebleu uses by default."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} "
    for pattern, repl in _13A:
        line = pattern.sub(repl, line)
    return line.split()


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i: i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(hypotheses: list[str], references: list[str], max_n: int = 4) -> float:
    """BLEU (0–100) of hypotheses against one reference each."""
    matches, totals = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references):
        h, r = tokenize_13a(hyp), tokenize_13a(ref)
        hyp_len += len(h)
        ref_len += len(r)
        for n in range(1, max_n + 1):
            hn, rn = _ngrams(h, n), _ngrams(r, n)
            matches[n - 1] += sum(min(c, rn[g]) for g, c in hn.items())
            totals[n - 1] += max(len(h) - n + 1, 0)
    if hyp_len == 0:
        return 0.0
    # 'exp' smoothing: each n-gram order with no match counts as 1 / 2^k of a match
    precisions, k = [], 1
    for m, t in zip(matches, totals):
        if t == 0:
            precisions.append(0.0)
        elif m == 0:
            k *= 2
            precisions.append(100.0 / (k * t))
        else:
            precisions.append(100.0 * m / t)
    if min(precisions) <= 0:
        return 0.0
    log_p = sum(math.log(p / 100.0) for p in precisions) / max_n
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return 100.0 * bp * math.exp(log_p)


# ---------------------------------------------------------------------------- ROUGE
def _rouge_tokens(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


def _f(match: int, n_hyp: int, n_ref: int) -> float:
    if match == 0 or n_hyp == 0 or n_ref == 0:
        return 0.0
    p, r = match / n_hyp, match / n_ref
    return 2 * p * r / (p + r)


def rouge_n(hypothesis: str, reference: str, n: int) -> float:
    h, r = _ngrams(_rouge_tokens(hypothesis), n), _ngrams(_rouge_tokens(reference), n)
    return _f(sum((h & r).values()), sum(h.values()), sum(r.values()))


def rouge_l(hypothesis: str, reference: str) -> float:
    h, r = _rouge_tokens(hypothesis), _rouge_tokens(reference)
    if not h or not r:
        return 0.0
    prev = [0] * (len(r) + 1)
    for a in h:  # longest common subsequence, row by row
        cur = [0]
        for j, b in enumerate(r, 1):
            cur.append(prev[j - 1] + 1 if a == b else max(prev[j], cur[j - 1]))
        prev = cur
    return _f(prev[-1], len(h), len(r))


def exact_match(hypothesis: str, reference: str) -> float:
    norm = lambda s: " ".join(_rouge_tokens(s))  # noqa: E731
    return float(norm(hypothesis) == norm(reference))


def qa_scores(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    n = max(len(references), 1)
    return {
        "exact_match": 100 * sum(map(exact_match, hypotheses, references)) / n,
        "bleu": corpus_bleu(hypotheses, references),
        "rouge1": 100 * sum(rouge_n(h, r, 1) for h, r in zip(hypotheses, references)) / n,
        "rouge2": 100 * sum(rouge_n(h, r, 2) for h, r in zip(hypotheses, references)) / n,
        "rougeL": 100 * sum(rouge_l(h, r) for h, r in zip(hypotheses, references)) / n,
    }
