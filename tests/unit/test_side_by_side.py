"""A/B decoding: several parameter sets from one prefix, interleaved on one model, each side with
its own KV cache; the session's Comparison and where the sides part."""

from __future__ import annotations

import pytest

from playground.engine.generate import Finished, TokenEvent, generate
from playground.engine.local_backend import LocalBackend
from playground.engine.side_by_side import generate_sides
from playground.paths import resources_dir
from playground.sampling_params import SamplingParams
from playground.session import ChatSession, first_divergence

QUESTION = [{"role": "user", "content": "Who is the Prince of Denmark?"}]


@pytest.fixture(scope="module")
def teaching():
    """The bundled teaching checkpoint (1.1 M parameters): a real trained model, fast on a CPU."""
    from playground.loading import load_model

    lm = load_model(resources_dir() / "checkpoints" / "shakespeare-qa", device="cpu")
    lm.tokenizer.eos_ids = []  # every side runs to max_tokens, so streams have a length to compare
    return lm


def _prompt(lm) -> list[int]:
    return lm.tokenizer.encode_chat(QUESTION, add_generation_prompt=True)


def _alone(lm, params: SamplingParams) -> list[int]:
    return [ev.token_id for ev in generate(lm.model, lm.tokenizer, _prompt(lm), params) if isinstance(ev, TokenEvent)]


def _streams(events, n):
    out = [[] for _ in range(n)]
    order = []
    for side, ev in events:
        if isinstance(ev, TokenEvent):
            out[side].append(ev.token_id)
            order.append(side)
    return out, order


def test_two_greedy_sides_with_equal_parameters_stream_identical_tokens(teaching):
    p = SamplingParams(temperature=0.0, max_tokens=24)
    streams, order = _streams(generate_sides(teaching.model, teaching.tokenizer, _prompt(teaching), [p, p]), 2)
    assert streams[0] == streams[1] and len(streams[0]) == 24
    assert streams[0] == _alone(teaching, p)  # and each is what the model writes alone
    assert order[:6] == [0, 1, 0, 1, 0, 1]  # interleaved token by token, not one side after the other
    assert first_divergence(streams) is None


def test_temperature_zero_and_one_and_a_half_part_at_their_first_different_token(teaching):
    cold = SamplingParams(temperature=0.0, max_tokens=32, seed=7)
    hot = SamplingParams(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, max_tokens=32, seed=7)
    streams, _ = _streams(generate_sides(teaching.model, teaching.tokenizer, _prompt(teaching), [cold, hot]), 2)
    # each side's cache is its own: a side's tokens are exactly what it writes alone
    assert streams[0] == _alone(teaching, cold)
    assert streams[1] == _alone(teaching, hot)
    first_diff = next(i for i, (a, b) in enumerate(zip(*streams)) if a != b)
    assert first_divergence(streams) == first_diff


def test_three_sides_and_a_grown_cache_stay_independent(teaching):
    """Sides of different lengths, one with a cache that grows past its first allocation."""
    a = SamplingParams(temperature=0.0, max_tokens=5)
    b = SamplingParams(temperature=0.7, seed=3, max_tokens=40)
    c = SamplingParams(temperature=1.2, seed=11, top_k=40, max_tokens=17)
    events = list(generate_sides(teaching.model, teaching.tokenizer, _prompt(teaching), [a, b, c]))
    streams, _ = _streams(events, 3)
    assert [len(s) for s in streams] == [5, 40, 17]
    assert streams == [_alone(teaching, p) for p in (a, b, c)]
    assert sum(isinstance(ev, Finished) for _, ev in events) == 3


def test_the_session_compares_from_the_conversation_prefix(teaching):
    session = ChatSession(LocalBackend(teaching))
    session.send("Who is the Prince of Denmark?")
    reply = session.conv.last()
    cold = SamplingParams(temperature=0.0, max_tokens=20, seed=1)
    hot = SamplingParams(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, max_tokens=20, seed=1)
    # a comparison answers what the reply answered: the conversation before the reply
    comp = session.compare([cold, hot], upto=reply)
    assert comp.messages == QUESTION and not comp.started
    seen, parted, ended = [], [], []
    comp.token.connect(lambda side, ev: seen.append((side, ev.token_id)))
    comp.diverged.connect(parted.append)
    comp.finished.connect(lambda: ended.append(True))
    comp.start()
    assert not comp.running and ended == [True]
    assert comp.sides[0].token_ids == _alone(teaching, cold)
    assert comp.sides[1].token_ids == _alone(teaching, hot)
    assert [t for s, t in seen if s == 1] == comp.sides[1].token_ids
    ids = [s.token_ids for s in comp.sides]
    expected = next(i for i, (x, y) in enumerate(zip(*ids)) if x != y)
    assert comp.divergence == expected and parted == [expected]  # said once, when it happened
    at = comp.at_divergence()
    assert at[0].token_id != at[1].token_id and at[0].index == at[1].index == expected
    assert at[0].top == at[1].top  # the same prefix: the model's own distribution is the same on both sides
    assert session.conv.path()[-1] is reply  # nothing was added to the conversation
    with pytest.raises(RuntimeError):
        comp.start()


def test_the_session_compares_a_draft(teaching):
    session = ChatSession(LocalBackend(teaching))
    p = SamplingParams(temperature=0.0, max_tokens=6)
    comp = session.compare([p, p], draft="Who is Ophelia?").start()
    assert comp.messages == [{"role": "user", "content": "Who is Ophelia?"}]
    assert comp.divergence is None and [len(s.tokens) for s in comp.sides] == [6, 6]
    assert comp.sides[0].text == comp.sides[1].text != ""
    assert not session.conv.path()  # the draft was not sent


class _OneAtATime:
    """A backend without submit_sides (like a remote endpoint): sides are served in turn."""

    def __init__(self, inner):
        self.inner, self.live = inner, inner.live

    @property
    def model(self):
        return self.inner.model

    def submit(self, request, sink):
        return self.inner.submit(request, sink)

    def stop(self, handle=None):
        self.inner.stop(handle)


def test_a_backend_that_cannot_interleave_serves_the_sides_in_turn(teaching):
    session = ChatSession(_OneAtATime(LocalBackend(teaching)))
    cold = SamplingParams(temperature=0.0, max_tokens=8)
    hot = SamplingParams(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, max_tokens=8, seed=5)
    comp = session.compare([cold, hot], draft="Who is the Prince of Denmark?").start()
    assert [s.token_ids for s in comp.sides] == [_alone(teaching, cold)[:8], _alone(teaching, hot)[:8]]


def test_a_comparison_needs_a_question():
    from tests.helpers import fake_loaded_model

    session = ChatSession(LocalBackend(fake_loaded_model()))
    notes = []
    session.notice.connect(notes.append)
    assert session.compare([SamplingParams(), SamplingParams()]) is None
    assert notes and "message" in notes[0]


def test_first_divergence_rules():
    assert first_divergence([[1, 2, 3], [1, 2, 3]]) is None
    assert first_divergence([[1, 2, 3], [1, 9, 3]]) == 1
    assert first_divergence([[1, 2], [1, 2, 3]], [True, True]) == 2  # one stopped where the other went on
    assert first_divergence([[1, 2], [1, 2, 3]], [False, True]) is None  # the short one is still writing
    assert first_divergence([[1], [1], [2]]) == 0
    assert first_divergence([[1, 2]]) is None
