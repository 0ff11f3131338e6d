"""A/B decoding on the real SmolLM2 file through the fast path (native kernels, bfloat16 cache):
each side's swapped-in cache gives exactly the tokens the side writes alone."""

from __future__ import annotations

import pytest

from playground.engine.generate import TokenEvent, generate
from playground.engine.side_by_side import generate_sides
from playground.sampling_params import SamplingParams
from playground.session import first_divergence

pytestmark = pytest.mark.e2e
QUESTION = [{"role": "user", "content": "Write one sentence about the sea."}]


def test_interleaved_sides_equal_their_solo_runs_on_the_fast_path(smollm2):
    ids = smollm2.tokenizer.encode_chat(QUESTION)
    cold = SamplingParams(temperature=0.0, max_tokens=24)
    hot = SamplingParams(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, seed=3, max_tokens=24)
    streams = [[], []]
    for side, ev in generate_sides(smollm2.model, smollm2.tokenizer, ids, [cold, hot]):
        if isinstance(ev, TokenEvent):
            streams[side].append(ev.token_id)
    alone = [[e.token_id for e in generate(smollm2.model, smollm2.tokenizer, ids, p) if isinstance(e, TokenEvent)]
             for p in (cold, hot)]
    assert streams == alone
    d = first_divergence(streams)
    assert d is not None and streams[0][:d] == streams[1][:d] and streams[0][d] != streams[1][d]
