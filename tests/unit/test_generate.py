"""The generation loop: greedy is argmax, and every way of stopping works."""

from __future__ import annotations

import threading

import pytest
import torch

from playground.engine.generate import TokenEvent, generate
from playground.loading import load_model
from playground.sampling import LiveParams, SamplingParams
from tests.helpers import ScriptedModel, save_hf, tiny_hf_model


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


def test_cache_grows_past_its_first_size(tiny):
    tiny.tokenizer.eos_ids = []
    prompt = tiny.tokenizer.encode("the")
    toks, fin = _run(tiny.model, tiny.tokenizer, prompt, SamplingParams(temperature=0, max_tokens=40))
    assert fin.generated_tokens == 40
    seq = prompt + [e.token_id for e in toks]
    with torch.no_grad():
        full = tiny.model(torch.tensor([seq[:-1]]))[0].argmax(-1)
    assert full[len(prompt) - 1 :].tolist() == [e.token_id for e in toks]
