"""A/B decoding: one prompt, several sets of sampling parameters, streamed together on one model.

Each side is an ordinary `generate()` generator with a KV cache of its own. The model holds one
cache at a time (`model.cache`, the `CausalLM` contract), so before a side takes its step its
cache is put in place, and after the step the (possibly grown or newly allocated) cache is taken
back. The sides advance in turn, one token each, so they stream together and a reader sees them
at the same pace; each still reads its own parameters and its own random generator, so a side's
tokens are exactly what it would have produced alone.

Nothing here knows Qt: the local backend runs it on the caller's thread, the engine worker on its
own (`run_sides` in local_backend.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from ..model.interface import CausalLM
from ..records import Finished, TokenRecord
from ..sampling_params import SamplingParams
from ..tokenization.tokenizer import TextTokenizer
from .generate import generate


def generate_sides(model: CausalLM, tokenizer: TextTokenizer, prompt_ids: list[int],
                   sides: Sequence[SamplingParams], stop_event: threading.Event | None = None,
                   top_n: int = 10) -> Iterator[tuple[int, TokenRecord | Finished]]:
    """Yield (side, event) pairs: each side's TokenRecords in turn, one token per side per round,
    and each side's Finished when it ends. A stop ends every side before its next token."""
    if not sides:
        raise ValueError("a comparison needs at least one set of parameters")
    gens = [generate(model, tokenizer, list(prompt_ids), p, stop_event, top_n) for p in sides]
    caches: list = [None] * len(gens)
    alive = list(range(len(gens)))
    held = model.cache  # the cache before the comparison, put back afterwards
    try:
        while alive:
            for i in list(alive):
                model.cache = caches[i]  # None before a side's first step: generate() allocates one
                try:
                    ev = next(gens[i])
                except StopIteration:
                    alive.remove(i)
                    continue
                finally:
                    caches[i] = model.cache
                if isinstance(ev, Finished):
                    alive.remove(i)
                    caches[i] = None  # a finished side's memory goes at once
                yield i, ev
    finally:
        for g in gens:
            g.close()
        model.cache = held

