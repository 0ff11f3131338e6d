"""The typed reply record: every field survives save → load → export JSON → import; a schema-v2
history (saved by the old window, tests/storage/fixtures) migrates; a damaged message with replies
under it is quarantined with its subtree and reported once; sampling parameters keep every field."""

from __future__ import annotations

import json
import shutil
from dataclasses import fields
from pathlib import Path

import pytest

from playground.conversation import Conversation
from playground.records import ReplyRecord, TokenRecord
from playground.sampling_params import SamplingParams
from playground.storage import Store, StoreError

FIXTURE = Path(__file__).parent / "fixtures" / "v2_history.db"


def _full_record() -> ReplyRecord:
    """A record with every field set to something other than its default."""
    p1 = SamplingParams(temperature=0.3, top_k=5, seed=9, stop=("END", "\n\n"), logit_bias=((7, -2.5), (11, 1.0)),
                        order=("top_k", "temperature", "penalties", "top_p", "min_p", "typical_p"))
    p2 = p1.replace(temperature=1.1, min_p=0.2)
    toks = [TokenRecord(index=i, token_id=100 + i, text=f"t{i} ", prob=0.5 + i / 100, raw_prob=0.25 + i / 1000,
                        entropy=1.5 - i / 10, params=p1 if i < 2 else p2, top=[(100 + i, 0.4), (3, 0.1 / (i + 3))],
                        top_final=[(100 + i, 0.9)], removed_by={"top_k": [3], "min_p": [4, 5]},
                        survivors=[("vocabulary", 320), ("top_k", 5), ("min_p", 2 + i)],
                        elapsed_s=0.01 * (i + 1), chosen=i == 1) for i in range(4)]
    rec = ReplyRecord(tokens=toks, finish="stop", error="a note", seed=9, model="m", model_path="/m.gguf",
                      model_sha256="a" * 64, template_sha256="b" * 64, backend="fast · native", prefix_ids=[100, 101],
                      branched_at=1, prompt_tokens=33, dropped_messages=2, generated_tokens=2, prefill_s=0.125,
                      ttft_s=0.25, decode_s=0.5, decode_tok_s=12.5, api_request="req-1")
    defaults = ReplyRecord()
    unset = [f.name for f in fields(ReplyRecord) if f.name != "schema" and getattr(rec, f.name) == getattr(defaults, f.name)]
    assert not unset, unset
    t0 = TokenRecord(0, 0, "", 0.0, 0.0, 0.0)
    assert not [f.name for f in fields(TokenRecord) if f.name != "index" and getattr(toks[1], f.name) == getattr(t0, f.name)]
    return rec


def test_every_field_survives_save_load_export_and_import(tmp_path):
    rec = _full_record()
    store = Store(tmp_path / "h.db")
    conv = Conversation(system_prompt="sys")
    store.add_message(conv, conv.add("user", "q"))
    reply = conv.add("assistant", "t0 t1 t2 t3 ")
    reply.record = rec
    store.add_message(conv, reply)
    loaded = Store(tmp_path / "h.db").load(conv.meta["db_id"]).last()
    assert loaded.record == rec and loaded.text == reply.text
    exported = json.loads(json.dumps(store.export_json(conv.meta["db_id"])))
    other = Store(tmp_path / "other.db")
    cid = other.import_json(exported)
    assert other.load(cid).last().record == rec
    assert ReplyRecord.from_dict(json.loads(json.dumps(rec.to_dict()))) == rec
    assert rec.param_changes() == [(2, 6, "temperature=1.1, min_p=0.2")]


def test_sampling_params_keep_every_field_through_a_dict():
    p = SamplingParams(temperature=0.9, seed=4, stop=("x",), logit_bias=((3, -1.0),), order=("temperature", "top_k"),
                       repeat_last_n=-1, max_tokens=77)
    assert SamplingParams.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    assert SamplingParams.from_dict({"logit_bias": {"3": -1.0}}).logit_bias == ((3, -1.0),)
    assert SamplingParams.from_dict({"a_future_field": 1}) == SamplingParams()
    with pytest.raises(ValueError, match="temperature"):
        SamplingParams.from_dict({"temperature": "hot"})


def test_a_record_from_a_newer_playground_is_refused_not_guessed():
    with pytest.raises(ValueError, match="schema 99"):
        ReplyRecord.from_dict({"schema": 99, "tokens": []})


def test_a_schema_v2_history_migrates_to_typed_records(tmp_path):
    db = tmp_path / "h.db"
    shutil.copy(FIXTURE, db)
    store = Store(db)
    names = [r[0] for r in store.db.execute("SELECT name FROM migrations ORDER BY name")]
    assert names[-1] == "m003_reply_records"
    conv = store.load(1)
    assert not store.problems
    assert conv.system_prompt == "be terse" and SamplingParams.from_dict(conv.meta["params"]).top_k == 13
    user = conv.root.children[0]
    first, second, branch = user.children
    for reply in (first, second, branch):
        assert set(reply.meta) == {"db_id"}  # nothing of the old meta is left there
        assert reply.record.finish == "eos" and reply.record.seed == 1234 and reply.record.model == "fake"
        assert len(reply.record.model_sha256) == 64 and len(reply.record.template_sha256) == 64
        assert reply.record.params.stop == ("THE END",) and reply.record.params.repeat_penalty == 1.1
        assert reply.record.replayable
    assert len(first.record.tokens) == first.record.generated_tokens == 17
    assert "".join(t.text for t in first.record.tokens) == first.text
    # the old param_marks [[5, "temperature=1.25"]] come back from the tokens' own parameters
    assert first.record.param_changes() == [(3, 5, "temperature=1.25")]
    assert first.record.tokens[0].removed_by["top_p"] and first.record.tokens[0].top[0][0] == 262
    assert branch.record.prefix_ids == [262, 291, 197] and branch.record.branched_at == 2
    assert branch.record.tokens[2].token_id == 197 and len(branch.record.tokens) == 20
    assert first.record.decode_tok_s > 0 and first.record.ttft_s > 0 and first.record.prompt_tokens == 43
    edited = conv.root.children[1]
    assert edited.text == "second question" and edited.children[0].record.tokens
    stopped = store.load(2).last()
    assert stopped.record.finish == "cancelled" and stopped.text == "".join(t.text for t in stopped.record.tokens)
    timeline = first.record.replay_timeline()
    assert timeline.at(0).temperature == 0.0 and timeline.at(3).temperature == 1.25 and timeline.at(0).seed == 1234
    # the migrated history exports and imports with its records
    again = Store(tmp_path / "again.db")
    cid = again.import_json(json.loads(json.dumps(store.export_json(1))))
    assert again.load(cid).root.children[0].children[0].record == first.record


def test_a_version_1_export_imports_with_its_records(tmp_path):
    legacy = {"format": "playground-conversation", "version": 1, "title": "t", "system_prompt": "", "params": {},
              "model_path": "", "active": 0, "messages": [{"role": "user", "text": "q", "active": 0, "meta": {},
              "children": [{"role": "assistant", "text": "ab", "active": 0, "children": [], "meta": {
                  "seed": 3, "tokens": 2, "tok_s": 5.0, "ttft_ms": 20.0, "finish": "eos", "model": "m",
                  "token_record": [{"id": 1, "text": "a", "p": 0.5, "raw_p": 0.4, "entropy": 1.0, "top": [[1, 0.4]],
                                    "top_final": [[1, 0.5]], "params": SamplingParams().to_dict()},
                                   {"id": 2, "text": "b", "p": 0.6, "raw_p": 0.3, "entropy": 1.1, "top": [[2, 0.3]],
                                    "top_final": [[2, 0.6]]}]}}]}]}
    store = Store(tmp_path / "h.db")
    reply = store.load(store.import_json(legacy)).last()
    assert reply.record.token_ids == [1, 2] and reply.record.tokens[1].params == SamplingParams()
    assert reply.record.ttft_s == 0.02 and reply.record.decode_tok_s == 5.0 and "token_record" not in reply.meta


def test_a_damaged_message_is_quarantined_with_its_replies_and_reported_once(tmp_path):
    store = Store(tmp_path / "h.db")
    conv = Conversation()
    for i, text in enumerate(["q1", "a1", "q2", "a2", "q3"]):
        store.add_message(conv, conv.add("user" if i % 2 == 0 else "assistant", text))
    a1 = conv.path()[1]
    other_branch = conv.regenerate(a1)  # a sibling of the damaged reply stays
    other_branch.text = "a1, second version"
    store.add_message(conv, other_branch)
    store.db.execute("UPDATE messages SET meta='{not json' WHERE id=?", (a1.meta["db_id"],))
    fresh = Store(tmp_path / "h.db")
    loaded = fresh.load(conv.meta["db_id"])
    assert [m.text for m in loaded.path()] == ["q1", "a1, second version"]
    assert len(fresh.problems) == 1, fresh.problems
    assert f"message {a1.meta['db_id']}: unreadable meta" in fresh.problems[0] and "3 replies" in fresh.problems[0]
    rows = fresh.db.execute("SELECT source_id, row_json FROM quarantine ORDER BY source_id").fetchall()
    assert [json.loads(r[1])["text"] for r in rows] == ["a1", "q2", "a2", "q3"]
    assert fresh.db.execute("PRAGMA foreign_key_check").fetchall() == []
    again = Store(tmp_path / "h.db")
    assert [m.text for m in again.load(conv.meta["db_id"]).path()] == ["q1", "a1, second version"]
    assert again.problems == []  # set aside once, not reported at every load


def test_a_damaged_record_is_quarantined(tmp_path):
    store = Store(tmp_path / "h.db")
    conv = Conversation()
    store.add_message(conv, conv.add("user", "q"))
    reply = conv.add("assistant", "a")
    reply.record = ReplyRecord(finish="eos")
    store.add_message(conv, reply)
    store.db.execute("UPDATE messages SET record='{\"schema\": 1, \"tokens\": [{\"no id\": 1}]}' WHERE id=?",
                     (reply.meta["db_id"],))
    fresh = Store(tmp_path / "h.db")
    assert [m.text for m in fresh.load(conv.meta["db_id"]).path()] == ["q"]
    assert "unreadable record" in fresh.problems[0]
    with pytest.raises(StoreError, match="not a Playground"):
        fresh.import_json({"format": "something else"})


@pytest.mark.parametrize("n_tokens", [0, 1, 64, 65, 300])
def test_a_record_written_a_slice_of_tokens_at_a_time_is_the_same_json(n_tokens):
    """The history writer serializes a record's tokens in slices (letting the window's thread run
    between them); what it stores reads back as the whole record's JSON, field for field."""
    from playground.conversation import Message
    from playground.storage.exchange import record_json

    full = _full_record()
    rec = ReplyRecord(**{f.name: getattr(full, f.name) for f in fields(ReplyRecord) if f.name != "tokens"})
    rec.tokens = [TokenRecord(**{**{f.name: getattr(full.tokens[0], f.name) for f in fields(TokenRecord)},
                                 "index": i, "token_id": i, "text": f"t{i} \"q\"\n"}) for i in range(n_tokens)]
    msg = Message(role="assistant", record=rec)
    stored = json.loads(record_json(msg))
    assert stored == json.loads(json.dumps(rec.to_dict()))
    assert ReplyRecord.from_dict(stored).to_dict() == rec.to_dict()
