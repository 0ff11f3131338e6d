"""A reply replays token for token from its record; a different model is refused."""

from __future__ import annotations

import pytest

from playground.engine.generate import TokenEvent, generate
from playground.engine.replay import replay
from playground.loading import load_model
from playground.records import ReplyRecord
from playground.sampling import LiveParams, SamplingParams
from tests.helpers import save_hf, tiny_hf_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    lm = load_model(save_hf(tiny_hf_model("llama"), tmp_path_factory.mktemp("m") / "l"), device="cpu")
    lm.tokenizer.eos_ids = []
    return lm


def _record(tiny, changes_at: int | None):
    msgs = [{"role": "user", "content": "the quick brown fox"}]
    ids = tiny.tokenizer.encode_chat(msgs)
    live = LiveParams(SamplingParams(temperature=1.2, top_k=0, top_p=1.0, min_p=0.0, max_tokens=24))
    record = ReplyRecord(model_sha256="abc")
    for ev in generate(tiny.model, tiny.tokenizer, ids, live):
        if isinstance(ev, TokenEvent):
            record.add_token(ev)
            if changes_at is not None and ev.index == changes_at:
                live.update(temperature=0.4, top_k=5)  # a slider moved mid-reply
        else:
            record.finish_with(ev)
    return msgs, record


@pytest.mark.parametrize("changes_at", [None, 7])
def test_replay_reproduces_the_reply_with_its_parameter_timeline(tiny, changes_at):
    msgs, rec = _record(tiny, changes_at)
    assert len(rec.param_changes()) == (0 if changes_at is None else 1)
    res = replay(tiny, msgs, rec, "abc")
    assert res.possible and res.identical, res.reason
    assert res.tokens == rec.token_ids


def test_replay_notices_a_different_outcome(tiny):
    msgs, rec = _record(tiny, None)
    rec.tokens[5].token_id = (rec.tokens[5].token_id + 1) % 320
    res = replay(tiny, msgs, rec, "abc")
    assert res.possible and not res.identical and res.first_difference == 5


def test_replay_refuses_a_different_model(tiny):
    msgs, rec = _record(tiny, None)
    res = replay(tiny, msgs, rec, "another-hash")
    assert not res.possible and "different model" in res.reason
