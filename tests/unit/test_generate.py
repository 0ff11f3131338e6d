"""The generation loop: greedy is argmax, and every way of stopping works."""

from __future__ import annotations

import threading

import pytest
import torch

from playground.engine.generate import TokenEvent, generate
from playground.loading import load_model
from playground.sampling import LiveParams, ParamsTimeline, SamplingParams
from tests.helpers import ScriptedModel, save_hf, tiny_hf_model, tiny_tokenizer, write_llama_gguf


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_model(save_hf(tiny_hf_model("llama"), tmp_path_factory.mktemp("m") / "llama"), device="cpu")


def _run(model, tok, prompt, params, stop=None):
    events = list(generate(model, tok, prompt, params, stop))
    return [e for e in events if isinstance(e, TokenEvent)], events[-1]


def test_greedy_equals_argmax_of_full_forward(tiny):
    tiny.tokenizer.eos_ids = []  # run to the token limit
    prompt = tiny.tokenizer.encode("the quick brown fox")
    toks, fin = _run(tiny.model, tiny.tokenizer, prompt, SamplingParams(temperature=0, max_tokens=12))
    assert fin.reason == "length" and fin.generated_tokens == 12 == len(toks)
    seq = list(prompt)
    with torch.no_grad():
        for e in toks:
            assert e.token_id == int(tiny.model(torch.tensor([seq]))[0, -1].argmax())
            seq.append(e.token_id)
    assert fin.text == tiny.tokenizer.decode(seq[len(prompt):])


def test_seeded_sampling_is_reproducible(tiny):
    tiny.tokenizer.eos_ids = []
    prompt = tiny.tokenizer.encode("hello world")
    p = SamplingParams(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, seed=1234, max_tokens=20)
    a = [e.token_id for e in _run(tiny.model, tiny.tokenizer, prompt, p)[0]]
    b = [e.token_id for e in _run(tiny.model, tiny.tokenizer, prompt, p)[0]]
    c = [e.token_id for e in _run(tiny.model, tiny.tokenizer, prompt, p.replace(seed=99))[0]]
    assert a == b
    assert a != c


def _scripted(tiny, text: str):
    tok = tiny.tokenizer
    eos = tok.tok.token_to_id("<|im_end|>")
    tok.eos_ids = [eos]
    return ScriptedModel(tok.vocab_size, eos, tok.encode(text)), tok


def test_stops_at_eos(tiny):
    model, tok = _scripted(tiny, "hello world")
    toks, fin = _run(model, tok, [1, 2], SamplingParams(temperature=0))
    assert fin.reason == "eos"
    assert "".join(e.text for e in toks) + fin.tail == "hello world"


def test_stop_string_spanning_tokens_is_cut_and_not_shown(tiny):
    model, tok = _scripted(tiny, "the quick brown fox jumps")
    pieces = [tok.decode([i]) for i in tok.encode("the quick brown fox jumps")]
    assert not any("ck bro" in p for p in pieces)  # the stop string spans several tokens
    toks, fin = _run(model, tok, [1], SamplingParams(temperature=0, stop=("ck bro",)))
    shown = "".join(e.text for e in toks) + fin.tail
    assert fin.reason == "stop"
    assert shown == fin.text == "the qui"


def test_held_back_prefix_is_released_when_no_stop_follows(tiny):
    model, tok = _scripted(tiny, "the quick brown")
    toks, fin = _run(model, tok, [1], SamplingParams(temperature=0, stop=("brownie",)))
    assert fin.reason == "eos"
    assert "".join(e.text for e in toks) + fin.tail == "the quick brown"


def test_stop_request_ends_within_one_token(tiny):
    model, tok = _scripted(tiny, "the quick brown fox jumps over the lazy dog " * 5)
    stop = threading.Event()
    seen = []
    for ev in generate(model, tok, [1], SamplingParams(temperature=0, max_tokens=500), stop):
        if isinstance(ev, TokenEvent):
            seen.append(ev)
            if len(seen) == 3:
                stop.set()
        else:
            fin = ev
    assert len(seen) == 3 and fin.reason == "cancelled"


def test_max_tokens_limit(tiny):
    model, tok = _scripted(tiny, "the quick brown fox jumps over the lazy dog")
    toks, fin = _run(model, tok, [1], SamplingParams(temperature=0, max_tokens=4))
    assert len(toks) == 4 and fin.reason == "length"


def test_live_parameters_are_read_before_every_token(tiny):
    model, tok = _scripted(tiny, "the quick brown fox jumps over")
    live = LiveParams(SamplingParams(temperature=0, max_tokens=50))
    temps = []
    for ev in generate(model, tok, [1], live):
        if isinstance(ev, TokenEvent):
            temps.append(ev.params.temperature)
            if ev.index == 1:
                live.update(temperature=0.5)
            if ev.index == 3:
                live.update(max_tokens=5)
    assert temps == [0, 0, 0.5, 0.5, 0.5]


def test_prompt_longer_than_context_is_a_clear_error(tiny):
    with pytest.raises(ValueError, match="context holds"):
        list(generate(tiny.model, tiny.tokenizer, [1] * 300, SamplingParams()))


def _reply(model, tok, prompt, params):
    events = list(generate(model, tok, prompt, params))
    return [(e.token_id, e.prob, e.top) for e in events if isinstance(e, TokenEvent)]


@pytest.fixture(scope="module")
def fast_q4(tmp_path_factory):
    path = write_llama_gguf(tiny_hf_model("llama"), tiny_tokenizer(), tmp_path_factory.mktemp("f") / "t.gguf", "Q4_1")
    return load_model(path, device="cpu", dtype="auto")


@pytest.mark.parametrize("which", ["reference", "fast", "fast-pytorch"])
def test_a_reply_that_outgrows_its_cache_equals_one_with_room_from_the_start(which, tiny, fast_q4, monkeypatch):
    """generate() sizes the cache for the prompt and max_tokens; raising max_tokens mid-reply makes
    the reply outgrow it, and the model grows the cache (KVCache.reserve) keeping what it holds."""
    lm = tiny if which == "reference" else fast_q4
    if which == "fast-pytorch":
        monkeypatch.setattr(lm.model, "use_native", False)
    lm.tokenizer.eos_ids = []
    prompt = lm.tokenizer.encode("the quick brown fox")
    p = SamplingParams(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=11, max_tokens=60)
    roomy = _reply(lm.model, lm.tokenizer, prompt, p)
    assert lm.model.cache.max_len == len(prompt) + 60  # never grew
    # the first allocation holds 4 tokens of reply; at token 2 the limit goes up to 60
    grown = _reply(lm.model, lm.tokenizer, prompt, ParamsTimeline([(0, p.replace(max_tokens=4)), (2, p)]))
    assert lm.model.cache.max_len > len(prompt) + 4  # it did grow
    assert len(grown) == len(roomy) == 60
    assert grown == roomy  # same tokens, same probabilities, to the bit


def test_kv_cache_reserve_keeps_what_it_holds():
    from playground.model.cache import KVCache

    c = KVCache(2, 1, 3, 5, 4)
    k = torch.randn(1, 3, 5, 4)
    c.update(1, 0, k, -k)
    assert not c.reserve(5, 100) and c.max_len == 5
    assert c.reserve(6, 100) and c.max_len == 10  # doubles
    assert torch.equal(c.k[1, :, :, :5], k) and torch.equal(c.v[1, :, :, :5], -k)
    assert c.k[:, :, :, 5:].abs().max() == 0
    assert c.reserve(11, 12) and c.max_len == 12  # at most the context
    with pytest.raises(ValueError, match="context full"):
        c.reserve(13, 12)
    with pytest.raises(ValueError, match="context full"):
        c.update(0, 10, torch.zeros(1, 3, 3, 4), torch.zeros(1, 3, 3, 4))
