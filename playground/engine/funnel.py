"""The sampler's lesson for one token, on demand: the distribution at that position computed
again, and the sampler's stages run again under the parameters the token was sampled with,
keeping 50 alternatives, the stage that removed each, and how many candidates each stage left
(the funnel). No Qt.

Why on demand: a reply's record keeps each token's top 10 (about 200 bytes a token); 50 would
be five times that for every token of every reply, to serve the few tokens a student clicks.
One forward pass over the prefix costs about what the prompt's prefill did (measured in
benchmarks/bench_funnel.py). The recomputed logits come from a one-shot pass rather than the
cache the reply was written with, so probabilities can differ in the last digits; the record's
own top 10 stay the reference, and the inspector says the 50 are recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..sampling import sample
from ..sampling_params import SamplingParams

TOP_N = 50


@dataclass
class Alternative:
    token_id: int
    raw_p: float  # under the model's own distribution
    final_p: float  # under the distribution the sampler drew from (0 when removed)
    removed_by: str = ""  # the stage that removed it, "" when it survived


@dataclass
class Funnel:
    """How the sampler narrowed the vocabulary down at one position."""

    survivors: list[tuple[str, int]]  # ("vocabulary", V), then (stage, candidates left) in order
    alternatives: list[Alternative] = field(default_factory=list)  # the model's most likely first
    chosen: int = -1  # the token the reply has there

    def removed_at(self, stage: str) -> list[Alternative]:
        return [a for a in self.alternatives if a.removed_by == stage]


@torch.inference_mode()
def token_funnel(model, ids: list[int], params: SamplingParams, chosen: int = -1, top_n: int = TOP_N) -> Funnel:
    """The funnel for the token after `ids` (the prompt and the reply's tokens before it), sampled
    under `params`. `model` is any CausalLM."""
    if not ids:
        raise ValueError("the funnel needs the tokens before the one inspected")
    x = torch.tensor([ids[-model.config.max_seq_len :]], device=model.device)  # what the model can read
    logits = model(x, use_cache=False, last_only=True)[0, -1].float().cpu()
    res = sample(logits, list(ids), params, torch.Generator().manual_seed(0), track=True, top_n=top_n)
    final = dict(_final_probs(res))
    stage_of = {t: stage for stage, toks in res.removed_by.items() for t in toks}
    alts = [Alternative(t, p, final.get(t, 0.0), stage_of.get(t, "")) for t, p in res.top_raw]
    return Funnel(res.survivors, alts, chosen)


def _final_probs(res) -> list[tuple[int, float]]:
    """Each surviving candidate's probability in the final distribution."""
    ids = res.cand_ids.tolist()
    probs = res.cand_probs.tolist()
    return [(t, p) for t, p in zip(ids, probs) if p > 0]
