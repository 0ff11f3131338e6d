"""The chat session driven without Qt: the synchronous local backend, a scripted model and a tiny
real one. Send, stop mid-reply, regenerate, edit, continue with a chosen token, replay token for
token, and a live parameter change recorded at the token it applied to."""

from __future__ import annotations

import pytest

from playground.engine.local_backend import LocalBackend
from playground.loading import load_model
from playground.sampling_params import SamplingParams
from playground.session import ChatSession
from playground.storage import Store
from tests.helpers import fake_loaded_model, save_hf, tiny_hf_model

TEXT = "hello world, this is a tiny corpus"


def _session(lm, tmp_path, **params) -> ChatSession:
    backend = LocalBackend(lm)
    backend.live.set(SamplingParams(**params))
    return ChatSession(backend, Store(tmp_path / "h.db"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    lm = load_model(save_hf(tiny_hf_model("llama"), tmp_path_factory.mktemp("m") / "l"), device="cpu")
    lm.tokenizer.eos_ids = []  # a random model may sample its end token at once; replies run to max_tokens
    return lm


def test_send_streams_into_the_reply_and_saves_its_record(tmp_path):
    s = _session(fake_loaded_model(TEXT), tmp_path, temperature=0.0)
    seen = []
    s.token_applied.connect(lambda reply, tok: seen.append((reply.text, tok.index)))
    finished = []
    s.reply_finished.connect(finished.append)
    reply = s.send("hi")
    assert finished == [reply] and not s.generating
    assert reply.text == TEXT and reply.record.finish == "eos" and reply.record.model == "fake"
    assert [i for _, i in seen] == list(range(len(reply.record.tokens))) and seen[-1][0] == TEXT
    assert reply.record.prompt_tokens > 0 and reply.record.seed is not None
    s.close()
    back = Store(tmp_path / "h.db").load(s.conv.meta["db_id"])
    user, saved = back.path()
    assert user.text == "hi" and saved.text == TEXT and saved.record == reply.record


def test_stop_mid_reply_ends_before_the_next_token(tmp_path):
    s = _session(fake_loaded_model(TEXT), tmp_path, temperature=0.0)
    s.token_applied.connect(lambda reply, tok: tok.index == 2 and s.stop())
    reply = s.send("hi")
    assert reply.record.finish == "cancelled" and len(reply.record.tokens) == 3
    assert reply.text == "".join(t.text for t in reply.record.tokens) and TEXT.startswith(reply.text)


def test_regenerate_and_edit_keep_every_version(tmp_path):
    s = _session(fake_loaded_model(TEXT), tmp_path, temperature=0.0)
    first = s.send("first question")
    second = s.regenerate(first)
    assert s.conv.versions(second) == (2, 2) and second.text == first.text == TEXT
    assert s.switch(second, 0) is first and s.conv.last() is first
    user = s.conv.path()[0]
    reply = s.edit(user, "second question")
    new_user = s.conv.path()[0]
    assert new_user.text == "second question" and s.conv.versions(new_user) == (2, 2)
    assert reply is s.conv.last() and reply.text == TEXT
    assert user.children == [first, second]  # the old branch is kept


def test_a_live_parameter_change_is_recorded_at_the_token_it_applied_to(tmp_path):
    s = _session(fake_loaded_model(TEXT), tmp_path, temperature=0.0)

    def slider_moved(reply, tok):
        if tok.index == 3:
            s.backend.live.update(temperature=1.25, top_k=7)

    s.token_applied.connect(slider_moved)
    reply = s.send("hi")
    temps = [t.params.temperature for t in reply.record.tokens]
    assert temps[:4] == [0.0] * 4 and set(temps[4:]) == {1.25}
    offset = len("".join(t.text for t in reply.record.tokens[:4]))
    assert reply.record.param_changes() == [(4, offset, "temperature=1.25, top_k=7")]
    s.close()
    saved = Store(tmp_path / "h.db").load(s.conv.meta["db_id"]).last()
    assert saved.record.param_changes() == reply.record.param_changes()


def test_continue_with_another_token_branches_the_reply(tmp_path):
    s = _session(fake_loaded_model(TEXT), tmp_path, temperature=0.0)
    reply = s.send("hi")
    alternative = reply.record.tokens[3].top[1][0]
    branch = s.continue_with(reply, 3, alternative)
    rec = branch.record
    assert s.conv.versions(branch) == (2, 2) and branch is s.conv.last()
    assert rec.token_ids[:3] == reply.record.token_ids[:3] and rec.tokens[3].token_id == alternative
    assert rec.tokens[3].chosen and not any(t.chosen for t in rec.tokens[4:])
    assert rec.prefix_ids == reply.record.token_ids[:3] + [alternative] and rec.branched_at == 3
    assert [t.index for t in rec.tokens] == list(range(len(rec.tokens)))
    tok = s.backend.lm.tokenizer
    assert branch.text.startswith(tok.decode(rec.prefix_ids, skip_special=True)) and rec.finish == "eos"


@pytest.mark.parametrize("change_at", [None, 5])
def test_replay_is_equal_token_for_token(tiny, tmp_path, change_at):
    s = _session(tiny, tmp_path, temperature=1.2, top_k=0, top_p=1.0, min_p=0.0, max_tokens=20)
    s.token_applied.connect(lambda reply, tok: tok.index == change_at and s.backend.live.update(temperature=0.5))
    reply = s.send("the quick brown fox")
    assert len(reply.record.param_changes()) == (0 if change_at is None else 1)
    results = []
    s.replay_finished.connect(lambda m, r: results.append((m, r)))
    s.backend.live.set(SamplingParams(temperature=2.0))  # what the panel says now does not matter
    s.replay(reply)
    [(m, res)] = results
    assert m is reply and res.possible and res.identical, res.reason
    assert res.tokens == reply.record.token_ids
    # and a branch replays its sampled part
    branch = s.continue_with(reply, 4, reply.record.tokens[4].top[2][0])
    s.replay(branch)
    assert results[-1][1].identical and results[-1][1].tokens == branch.record.token_ids[5:]


def test_replay_notices_a_changed_record_and_refuses_another_model(tiny, tmp_path):
    s = _session(tiny, tmp_path, temperature=1.2, top_k=0, top_p=1.0, min_p=0.0, max_tokens=12)
    reply = s.send("hello")
    results = []
    s.replay_finished.connect(lambda m, r: results.append(r))
    reply.record.tokens[5].token_id = (reply.record.tokens[5].token_id + 1) % 320
    s.replay(reply)
    assert results[-1].possible and not results[-1].identical and results[-1].first_difference == 5
    reply.record.model_sha256 = "f" * 64
    s.backend.model.sha256 = "0" * 64
    s.replay(reply)
    assert not results[-1].possible and "different model" in results[-1].reason


def test_a_failure_ends_the_reply_and_says_why(tmp_path):
    lm = fake_loaded_model(TEXT, max_seq_len=40)
    s = _session(lm, tmp_path, temperature=0.0, max_tokens=8)
    notices = []
    s.notice.connect(notices.append)
    reply = s.send("a question far too long " * 20)
    assert reply.record.finish == "error" and reply.record.error and notices[-1] == reply.record.error
    assert not s.generating


def test_without_a_model_nothing_is_sent(tmp_path):
    class NoModel:
        live = LocalBackend(fake_loaded_model(TEXT)).live
        model = None

    notices = []
    s = ChatSession(NoModel())
    s.notice.connect(notices.append)
    assert s.send("hi") is None and notices == ["Load a model first."] and not s.conv.path()


def test_two_replies_from_one_prefix_each_with_its_own_parameters(tmp_path):
    """The seam A/B decoding and the lessons use: replies to the same message, started with
    parameters of their own, while the live parameters stay as they are."""
    s = _session(fake_loaded_model(TEXT), tmp_path, temperature=0.7, max_tokens=50)
    a = s.send("hi")
    user = a.parent
    b = s.start_reply(s.conv.add("assistant", "", parent=user), params=SamplingParams(temperature=0.0, max_tokens=3))
    assert user.children == [a, b] and s.conv.last() is b
    assert a.record.params.temperature == 0.7 and a.record.finish == "eos"
    assert b.record.params == SamplingParams(temperature=0.0, max_tokens=3) and b.record.finish == "length"
    assert len(b.record.tokens) == 3 and s.backend.live.get().temperature == 0.7
