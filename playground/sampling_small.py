"""The sampler's stages on a few candidates (top-k's survivors), as plain Python lists.

After top-k, a decode step works on ~40 logits. PyTorch spends ~2 µs a call on such tiny tensors
when warm and ~6 µs just after a forward pass has streamed the weights through the caches, and
the stages (top-p, min-p, the bookkeeping the teaching views need, the draw) took ~30 calls:
about 0.2 ms a token, 3-4% of SmolLM2's decode step. Here they are list arithmetic.

What stays exactly as before: the candidates' logits (float32 values, carried as Python floats),
temperature (PyTorch's float32 division), the final softmax and the draw (torch.multinomial with
the request's generator), so a seed draws what it drew before. Top-p and min-p compare
probabilities computed in double precision where the PyTorch stages used float32: a candidate
whose cumulative probability is within ~1e-7 of top_p (or whose probability is within ~1e-7 of the
min-p threshold) may fall on the other side. Penalties and typical-p, rarely on, call the PyTorch
stages on the candidates.
"""

from __future__ import annotations

import math

import torch

from .sampling_params import SamplingParams

SMALL = 1024  # at most this many candidates take this path
_NEG = -math.inf


class Candidates:
    """Token ids (ascending) and their logits; a removed candidate's logit is -inf."""

    __slots__ = ("ids", "x")

    def __init__(self, ids: list[int], x: list[float]):
        self.ids, self.x = ids, x

    @classmethod
    def of(cls, pairs: list[tuple[int, float]]) -> Candidates:
        return cls([t for t, _ in pairs], [v for _, v in pairs])

    # -- stages: each returns whether it changed anything (as the PyTorch stages return a new tensor)
    def run(self, stage: str, p: SamplingParams, history: list[int]) -> bool:
        if stage == "penalties":
            return self._penalties(p, history)
        if stage == "top_k":
            return self._top_k(p.top_k)
        if stage == "top_p":
            return self._top_p(p.top_p)
        if stage == "min_p":
            return self._min_p(p.min_p)
        if stage == "typical_p":
            return self._typical(p.typical_p)
        if stage == "temperature" and not p.greedy:
            self.x = (torch.tensor(self.x, dtype=torch.float32) / p.temperature).tolist()
            return True
        return False

    def _penalties(self, p: SamplingParams, history: list[int]) -> bool:
        from .sampling import apply_penalties

        x = torch.tensor(self.x, dtype=torch.float32)
        out = apply_penalties(x, history, p, torch.tensor(self.ids, dtype=torch.long))
        if out is x:
            return False
        self.x = out.tolist()
        return True

    def _top_k(self, k: int) -> bool:
        if not 0 < k < len(self.x):
            return False
        kth = sorted(self.x, reverse=True)[k - 1]
        keep = [j for j, v in enumerate(self.x) if v >= kth]  # ties at the boundary stay
        self.ids, self.x = [self.ids[j] for j in keep], [self.x[j] for j in keep]
        return True

    def _typical(self, mass: float) -> bool:
        if mass >= 1.0:
            return False
        from .sampling import typical_filter

        self.x = typical_filter(torch.tensor(self.x, dtype=torch.float32), mass).tolist()
        return True

    def probs(self) -> list[float]:
        """softmax of the logits, in double precision (0 for removed ones)."""
        m = max(self.x)
        if m == _NEG:
            return [0.0] * len(self.x)
        e = [math.exp(v - m) for v in self.x]
        s = sum(e)
        return [v / s for v in e]

    def _top_p(self, mass: float) -> bool:
        """Keep the most likely until their probabilities sum to `mass` (at least one)."""
        if mass >= 1.0:
            return False
        pr = self.probs()
        before = 0.0
        x = list(self.x)
        for r, j in enumerate(sorted(range(len(pr)), key=lambda j: -pr[j])):
            if r and before >= mass:
                x[j] = _NEG
            before += pr[j]
        self.x = x
        return True

    def _min_p(self, min_p: float) -> bool:
        if min_p <= 0.0:
            return False
        pr = self.probs()
        cut = min_p * max(pr)
        self.x = [_NEG if q < cut else v for v, q in zip(self.x, pr)]
        return True

    # -- what the views read, and the draw
    def alive(self, watch: list[int]) -> tuple[set[int], int]:
        """Which watched ids are still candidates, and how many candidates there are."""
        live = {t for t, v in zip(self.ids, self.x) if v != _NEG}
        return {t for t in watch if t in live}, sum(1 for v in self.x if v != _NEG)

    def all_removed(self) -> bool:
        return all(v == _NEG for v in self.x)

    def draw(self, p: SamplingParams, gen: torch.Generator | None) -> tuple[int, float, list[int], torch.Tensor | list[float]]:
        """(token, its probability, the candidate ids, their final probabilities). Greedy: the first
        of the largest logits (smallest id), as torch.argmax picks; else softmax and torch.multinomial,
        as the PyTorch path draws."""
        if p.greedy:
            i = max(range(len(self.x)), key=lambda j: (self.x[j], -j))
            probs = [0.0] * len(self.x)
            probs[i] = 1.0
            return self.ids[i], 1.0, self.ids, probs
        probs_t = torch.softmax(torch.tensor(self.x, dtype=torch.float32), dim=-1)
        i = int(torch.multinomial(probs_t, 1, generator=gen))
        probs = probs_t.tolist()
        return self.ids[i], probs[i], self.ids, probs_t

    def top(self, probs: torch.Tensor | list[float], n: int) -> list[tuple[int, float]]:
        """The n most likely candidates of the final distribution (equal ones: smaller id first)."""
        if n <= 0:
            return []
        pl = probs.tolist() if isinstance(probs, torch.Tensor) else probs
        order = sorted(range(len(pl)), key=lambda j: -pl[j])[:n]
        return [(self.ids[j], pl[j]) for j in order if pl[j] > 0]
