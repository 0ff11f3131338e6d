"""How surprised the model is by a text, token by token: the numbers behind the loss.

For tokens t_0 … t_n of a text, the model predicts each t_i (i ≥ 1) from the tokens before it;
the surprisal of t_i is −log p(t_i | t_<i) in nats. Their mean is the cross-entropy loss the
studio trains and validates with, L = −(1/n) Σ log p, and exp(L) is the perplexity. Computed in
one forward pass over the text (teacher forcing), with no chat template around it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass
class TextScore:
    token_ids: list[int]  # the text's tokens, t_0 … t_n
    labels: list[str]  # how each reads
    surprisal: list[float]  # −log p(t_i | t_<i) for i = 1 … n (t_0 has nothing before it)
    top: list[tuple[str, float]]  # for each predicted position, the model's favourite token and its p

    @property
    def loss(self) -> float:
        """The mean surprisal: the cross-entropy loss over the text, in nats per token."""
        return sum(self.surprisal) / len(self.surprisal) if self.surprisal else float("nan")

    @property
    def perplexity(self) -> float:
        return math.exp(self.loss) if self.surprisal else float("nan")


@torch.inference_mode()
def score_text(lm, text: str) -> TextScore:
    """The per-token surprisal of `text` under the loaded model (`loading.LoadedModel`)."""
    ids = lm.tokenizer.encode(text)
    if len(ids) < 2:
        raise ValueError("the text needs at least two tokens: the first one has nothing to be predicted from")
    ids = ids[: lm.config.max_seq_len + 1]  # the model reads all but the last; each position predicts the next
    logits = lm.model(torch.tensor([ids[:-1]], device=lm.model.device), use_cache=False)
    if isinstance(logits, tuple):
        logits = logits[0]
    logp = torch.log_softmax(logits[0].float(), dim=-1)  # (T-1, vocab): position i predicts token i+1
    target = torch.tensor(ids[1:], device=logp.device)
    nll = (-logp.gather(1, target[:, None])[:, 0]).tolist()
    best_p, best = logp.exp().max(-1)
    label = lm.tokenizer.label
    return TextScore(list(ids), [label(t) for t in ids], nll,
                     [(label(int(t)), float(p)) for t, p in zip(best.tolist(), best_p.tolist())])
