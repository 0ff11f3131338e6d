"""Sampling: small pure functions that turn a logits vector into the next token.

The pipeline runs in an order held in the parameters (llama.cpp's default below): penalties
rewrite logits for tokens already seen, then each filter removes candidates, then temperature
reshapes what is left and one token is drawn. Every stage is a function on a 1-D float32
logits tensor where removed candidates are -inf, so the teaching views can show what each
stage threw away.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .sampling_params import DEFAULT_ORDER, PRESETS, STAGES, LiveParams, ParamsTimeline, SamplingParams
from .sampling_small import SMALL, Candidates
from .vocab_scan import sanitize, scan

__all__ = ["DEFAULT_ORDER", "PRESETS", "STAGES", "LiveParams", "ParamsTimeline", "SamplingParams", "SampleResult", "sample",
           "sanitize", "apply_penalties", "top_k_filter", "top_p_filter", "min_p_filter", "typical_filter"]

# ---------------------------------------------------------------------------- stages
def apply_penalties(logits: torch.Tensor, history: list[int], p: SamplingParams,
                    ids: torch.Tensor | None = None) -> torch.Tensor:
    """Repetition penalty (CTRL): a seen token's logit is divided by the penalty when positive,
    multiplied when negative. Presence/frequency (OpenAI): subtract a constant once, and per use.
    With `ids`, logits[i] belongs to token ids[i] (a candidate subset); else to token i."""
    out = logits
    if p.logit_bias:
        out = out.clone()
        for t, b in p.logit_bias:
            if ids is None:
                if 0 <= t < out.numel():
                    out[t] += b
            else:
                out[ids == t] += b
    if not history or (p.repeat_penalty == 1.0 and p.presence_penalty == 0.0 and p.frequency_penalty == 0.0):
        return out
    window = history if p.repeat_last_n < 0 else history[-p.repeat_last_n :] if p.repeat_last_n else []
    if not window:
        return out
    seen, counts = torch.tensor(window, dtype=torch.long).unique(return_counts=True)
    if ids is None:
        keep = seen < out.numel()
        pos, counts = seen[keep], counts[keep]
    else:  # positions in the subset of the seen tokens present there
        match = ids[:, None] == seen[None, :]  # (n, seen)
        pos = match.any(1).nonzero().flatten()
        counts = counts[match[pos].int().argmax(1)]
    out = out.clone() if out is logits else out
    sel = out[pos]
    if p.repeat_penalty != 1.0:
        sel = torch.where(sel > 0, sel / p.repeat_penalty, sel * p.repeat_penalty)
    sel = sel - p.presence_penalty - p.frequency_penalty * counts.to(sel.dtype)
    out[pos] = sel
    return out


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits (ties at the boundary kept); k <= 0 or k >= vocab keeps all."""
    if k <= 0 or k >= logits.numel():
        return logits
    kth = torch.topk(logits, k).values[-1]
    return logits.masked_fill(logits < kth, -math.inf)


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus: keep the most likely tokens until their probabilities sum to p (at least one)."""
    if p >= 1.0:
        return logits
    probs = torch.softmax(logits, dim=-1)
    sorted_p, order = probs.sort(descending=True)
    before = sorted_p.cumsum(0) - sorted_p  # mass of the tokens ranked above each one
    remove_sorted = before >= p
    remove_sorted[0] = False
    remove = torch.zeros_like(remove_sorted).scatter(0, order, remove_sorted)
    return logits.masked_fill(remove, -math.inf)


def min_p_filter(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    """Drop tokens whose probability is below min_p times the most likely token's."""
    if min_p <= 0.0:
        return logits
    probs = torch.softmax(logits, dim=-1)
    return logits.masked_fill(probs < min_p * probs.max(), -math.inf)


def typical_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Locally typical sampling: keep tokens whose surprisal is closest to the entropy, up to mass p."""
    if p >= 1.0:
        return logits
    logp = torch.log_softmax(logits, dim=-1)
    probs = logp.exp()
    ent = -(torch.where(probs > 0, probs * logp, torch.zeros_like(probs))).sum()
    dev = (-logp - ent).abs()
    dev = torch.where(torch.isfinite(logp), dev, torch.full_like(dev, math.inf))
    order = dev.argsort()
    cum = probs[order].cumsum(0) - probs[order]
    remove_sorted = cum >= p
    remove_sorted[0] = False
    remove = torch.zeros_like(remove_sorted).scatter(0, order, remove_sorted)
    return logits.masked_fill(remove, -math.inf)


@dataclass
class SampleResult:
    token: int
    prob: float  # of the chosen token, under the distribution it was drawn from
    raw_prob: float  # of the chosen token, under the model's own distribution
    entropy: float  # of the model's distribution, in nats
    top_raw: list[tuple[int, float]]  # the model's N most likely tokens
    top_final: list[tuple[int, float]]  # the N most likely after the sampler's stages
    removed_by: dict[str, list[int]] = field(default_factory=dict)  # stage → which of top_raw it removed
    # with track: how many candidates are left after each stage that removes some, in order
    # (the funnel the inspector draws), starting with ("vocabulary", V)
    survivors: list[tuple[str, int]] = field(default_factory=list)
    # the final distribution: over these token ids (None: the whole vocabulary), with these
    # probabilities; a tensor or a list (made a tensor when asked for: most tokens never are)
    cand: torch.Tensor | list[int] | None = None
    cand_p: torch.Tensor | list[float] | None = None
    vocab: int = 0

    @property
    def cand_ids(self) -> torch.Tensor:
        """The token ids the final distribution is over."""
        if self.cand is None:
            return torch.arange(self.vocab)
        return self.cand if isinstance(self.cand, torch.Tensor) else torch.tensor(self.cand, dtype=torch.long)

    @property
    def cand_probs(self) -> torch.Tensor:
        """Their probabilities (float32)."""
        c = self.cand_p
        return c if isinstance(c, torch.Tensor) else torch.tensor(c, dtype=torch.float32)

    @property
    def probs_final(self) -> torch.Tensor:
        """The final distribution over the whole vocabulary (zeros where removed)."""
        full = torch.zeros(self.vocab)
        full[self.cand_ids] = self.cand_probs
        return full


def _top(ids: torch.Tensor | None, probs: torch.Tensor, n: int) -> list[tuple[int, float]]:
    if n <= 0:
        return []
    if ids is not None and ids.numel() <= 1024:  # a few candidates: plain Python beats two torch calls
        pl = probs.tolist()
        order = sorted(range(len(pl)), key=lambda j: -pl[j])[:n]  # equal probabilities: smaller id first
        il = ids.tolist()
        return [(il[j], pl[j]) for j in order if pl[j] > 0]
    v, i = torch.topk(probs, min(n, probs.numel()))
    tok = i if ids is None else ids[i]
    return [(int(a), float(b)) for a, b in zip(tok.tolist(), v.tolist()) if b > 0]


def sample(logits: torch.Tensor, history: list[int], p: SamplingParams, gen: torch.Generator | None = None,
           track: bool = False, top_n: int = 10) -> SampleResult:
    """Choose the next token by running p.order's stages, then drawing (or argmax when greedy).

    Stages after top-k only see its survivors, so a 50,000-token vocabulary costs one look at the
    whole vocabulary (vocab_scan: the top tokens, the max, softmax's sums), not a pass per stage;
    and on a few survivors the stages run as plain Python on lists (sampling_small.py), which a
    decode step, its caches cold after the forward pass, runs several times faster than a dozen
    tiny PyTorch calls. If every candidate is removed we fall back to the most likely token.
    """
    V = logits.numel()
    # one scan serves the events' top-N and (while no penalty has changed the logits) the top-k
    # stage. One more than k shows whether the k-th value ties with the next (else the survivors
    # are the top k).
    # A top-k over SMALL takes the tensor path below (a scan of thousands, and the stages on lists
    # of thousands, cost several times what torch.topk does).
    n_top = max(top_n, p.top_k + 1 if 0 < p.top_k < V and p.top_k <= SMALL else 0)
    sc = scan(logits, n_top)
    raw = sc.logits
    top_raw = [] if top_n <= 0 else [
        (t, q) for t, q in zip(sc.ids[:top_n], map(sc.prob, sc.vals[:top_n])) if q > 0]
    watch = [t for t, _ in top_raw]
    ids: torch.Tensor | None = None  # None: the working set is the whole vocabulary
    x = raw
    small: Candidates | None = None  # once few candidates are left: them, as lists
    removed: dict[str, list[int]] = {}
    alive = set(watch)  # a listed token has a probability above 0, so a finite logit
    survivors = [("vocabulary", V)] if track else []
    for stage in p.order:
        if small is not None:
            changed = small.run(stage, p, history)
        else:
            before_x, before_ids = x, ids
            if stage == "penalties":
                x = apply_penalties(x, history, p, ids)
            elif stage == "top_k":
                if 0 < p.top_k < x.numel():
                    if (ids is None and x is raw and p.top_k <= SMALL and len(sc.vals) > p.top_k
                            and sc.vals[p.top_k] < sc.vals[p.top_k - 1]):
                        # no tie at the boundary: the survivors are the top k, in the order of their ids
                        small = Candidates.of(sorted(zip(sc.ids[: p.top_k], sc.vals[: p.top_k])))
                    else:
                        kth = torch.topk(x, p.top_k).values[-1]
                        keep = (x >= kth).nonzero().flatten()  # ties at the boundary stay
                        ids = keep if ids is None else ids[keep]
                        x = x[keep]
                        if ids.numel() <= SMALL:
                            small = Candidates(ids.tolist(), x.tolist())
            elif stage == "top_p":
                x = top_p_filter(x, p.top_p)
            elif stage == "min_p":
                x = min_p_filter(x, p.min_p)
            elif stage == "typical_p":
                x = typical_filter(x, p.typical_p)
            elif stage == "temperature" and not p.greedy:
                x = x / p.temperature
            changed = small is not None or x is not before_x or ids is not before_ids
        if track and changed:  # a stage that changed nothing removed nothing
            now, count = small.alive(watch) if small is not None else _alive(watch, ids, x)
            if stage not in ("penalties", "temperature"):
                gone = [t for t in watch if t in alive and t not in now]
                if gone:
                    removed[stage] = gone
                survivors.append((stage, count))
            alive = now
    if small is not None:
        if small.all_removed():  # every candidate removed: take the most likely raw token
            small = Candidates([sc.ids[0] if sc.ids else int(raw.argmax())], [0.0])
        token, prob, cand, probs = small.draw(p, gen)
        top_final = small.top(probs, top_n)
    else:
        if not torch.isfinite(x).any():  # every candidate removed: take the most likely raw token
            ids, x = raw.argmax().view(1), torch.zeros(1)
        if p.greedy:
            i = int(x.argmax())
            probs = torch.zeros_like(x)
            probs[i] = 1.0
        else:
            probs = torch.softmax(x, dim=-1)
            i = int(torch.multinomial(probs, 1, generator=gen))
        token, prob, cand = (i if ids is None else int(ids[i])), float(probs[i]), ids
        top_final = _top(ids, probs, top_n)
    raw_v = next((v for t, v in zip(sc.ids, sc.vals) if t == token), None)
    raw_prob = sc.prob(float(raw[token]) if raw_v is None else raw_v)
    return SampleResult(token, prob, raw_prob, sc.entropy, top_raw, top_final, removed, survivors, cand, probs, V)


def _alive(watch: list[int], ids: torch.Tensor | None, x: torch.Tensor) -> tuple[set[int], int]:
    """Which watched token ids are still candidates (in the working set, not -inf), and how many
    candidates there are."""
    if ids is None:  # the whole vocabulary
        fin = torch.isfinite(x[torch.tensor(watch, dtype=torch.long)]).tolist() if watch else []
        return {t for t, f in zip(watch, fin) if f}, int(torch.isfinite(x).sum())
    fin = torch.isfinite(x)
    ok = set(ids[fin].tolist())
    return {t for t in watch if t in ok}, int(fin.sum())
