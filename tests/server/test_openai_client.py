"""Our OpenAI-compatible server driven by the official `openai` client, on 127.0.0.1.

A scripted model (it streams a known text) makes most checks exact and fast; the real SmolLM2
proves log-probabilities against the engine and seeded sampling end to end.
"""

from __future__ import annotations

import json
import math
import threading

import httpx
import openai
import pytest

from playground.engine.local_backend import LocalBackend
from playground.sampling_params import SamplingParams
from playground.session import ChatSession
from tests.helpers import fake_loaded_model
from tests.server.harness import ServerThread

TEXT = "hello world, this is a tiny corpus"
HI = [{"role": "user", "content": "hi"}]  # the scripted model answers TEXT to anything (greedy)


@pytest.fixture
def served(request):
    lm = getattr(request, "param", None) or fake_loaded_model(TEXT)
    srv = ServerThread(lm)
    yield srv
    fake = getattr(lm, "model", None)
    if hasattr(fake, "stop_all"):
        fake.stop_all()
    srv.close()


def _client(srv, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.url, api_key="unused", max_retries=0, **kw)


def test_models_lists_the_loaded_model(served):
    c = _client(served)
    ids = [m.id for m in c.models.list()]
    assert ids == ["fake"]
    assert c.models.retrieve("fake").id == "fake"


def test_chat_without_and_with_streaming(served):
    c = _client(served)
    r = c.chat.completions.create(model="fake", messages=HI, temperature=0)
    assert r.choices[0].message.content == TEXT and r.choices[0].message.role == "assistant"
    assert r.choices[0].finish_reason == "stop"
    n = r.usage.completion_tokens
    assert n > 5 and r.usage.prompt_tokens > 0 and r.usage.total_tokens == n + r.usage.prompt_tokens

    chunks = list(c.chat.completions.create(model="fake", messages=HI, temperature=0, stream=True,
                                            stream_options={"include_usage": True}))
    deltas = [ch.choices[0].delta.content or "" for ch in chunks if ch.choices]
    assert "".join(deltas) == TEXT
    assert sum(1 for d in deltas if d) == n  # one chunk per token: it streams
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == n
    assert len({ch.id for ch in chunks}) == 1


def test_stop_strings_and_max_tokens(served):
    c = _client(served)
    r = c.chat.completions.create(model="fake", messages=HI, temperature=0, stop=["tiny", "zzz"])
    assert r.choices[0].message.content == "hello world, this is a " and r.choices[0].finish_reason == "stop"
    r = c.chat.completions.create(model="fake", messages=HI, temperature=0, max_tokens=3)
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 3
    r = c.chat.completions.create(model="fake", messages=HI, temperature=0,
                                  max_completion_tokens=2)
    assert r.usage.completion_tokens == 2


def test_text_completions(served):
    c = _client(served)
    r = c.completions.create(model="fake", prompt="hello", max_tokens=50, logprobs=2, temperature=0)
    assert r.choices[0].text == TEXT and r.object == "text_completion"
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == r.usage.completion_tokens and all(len(t) <= 2 for t in lp.top_logprobs)
    streamed = "".join(ch.choices[0].text for ch in c.completions.create(model="fake", prompt="hello", stream=True, temperature=0)
                       if ch.choices)
    assert streamed == TEXT


def test_extras_reach_the_sampler(served):
    """top_k, min_p, typical_p, repetition_penalty, penalties and seed arrive in the reply's record."""
    c = _client(served)
    c.chat.completions.create(model="fake", messages=HI, temperature=0.5, top_p=0.9,
                              seed=11, presence_penalty=0.5, frequency_penalty=0.25, max_tokens=4,
                              extra_body={"top_k": 7, "min_p": 0.1, "typical_p": 0.8, "repetition_penalty": 1.2})
    reply, _ = served.wait_finished(1)[0]
    p = reply.record.params
    assert (p.temperature, p.top_p, p.top_k, p.min_p, p.typical_p) == (0.5, 0.9, 7, 0.1, 0.8)
    assert (p.repeat_penalty, p.presence_penalty, p.frequency_penalty, p.seed) == (1.2, 0.5, 0.25, 11)
    assert reply.record.seed == 11 and reply.record.api_request.startswith("chatcmpl-")


@pytest.mark.e2e
def test_logprobs_match_the_engine_under_greedy(smollm2):
    srv = ServerThread(smollm2)
    try:
        c = _client(srv)
        msgs = [{"role": "user", "content": "What is the capital of France?"}]
        r = c.chat.completions.create(model=srv.model, messages=msgs, temperature=0, max_tokens=8, logprobs=True,
                                      top_logprobs=5)
        content = r.choices[0].logprobs.content
        assert len(content) == r.usage.completion_tokens == 8 or r.choices[0].finish_reason == "stop"
        for e in content:
            assert len(e.top_logprobs) == 5
            assert e.top_logprobs[0].token == e.token and e.top_logprobs[0].logprob == e.logprob  # greedy: the top one
            assert [a.logprob for a in e.top_logprobs] == sorted((a.logprob for a in e.top_logprobs), reverse=True)
        assert "Paris" in r.choices[0].message.content
    finally:
        srv.close()
    # the same request through the engine directly: the same tokens, the same probabilities
    session = ChatSession(LocalBackend(smollm2))
    session.backend.live.set(SamplingParams(temperature=0, max_tokens=8))
    reply = session.send(msgs[0]["content"])
    session.close()
    assert reply.text == r.choices[0].message.content
    engine = [t.raw_prob for t in reply.record.tokens]
    assert len(engine) == len(content)
    for e, p in zip(content, engine):
        assert math.isclose(math.exp(e.logprob), p, rel_tol=1e-6)


@pytest.mark.e2e
def test_seed_reproduces_a_sampled_reply(smollm2):
    srv = ServerThread(smollm2)
    try:
        c = _client(srv)

        def ask(seed):
            return c.chat.completions.create(model=srv.model, messages=[{"role": "user", "content": "Tell a story."}],
                                             temperature=1.0, seed=seed, max_tokens=8).choices[0].message.content

        first = ask(1234)
        assert ask(1234) == first
        assert any(ask(s) != first for s in (1, 2, 3))
    finally:
        srv.close()


def test_client_disconnect_stops_the_reply_within_a_token():
    lm = fake_loaded_model(TEXT, gated=True)
    srv = ServerThread(lm)
    try:
        lm.model.release(3)  # prefill and two more forward passes: three tokens, then it waits at the gate
        body = {"model": "fake", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        with httpx.Client(timeout=30) as http, http.stream("POST", f"{srv.url}/chat/completions", json=body) as resp:  # generous: a loaded CI box
            assert resp.status_code == 200
            seen = 0
            for line in resp.iter_lines():
                if line.startswith("data:") and json.loads(line[5:])["choices"][0]["delta"].get("content"):
                    seen += 1
                    if seen == 3:
                        break
        # the client has gone: the server notices and asks the engine to stop
        srv.wait_until(lambda: srv.service.active == 0)
        lm.model.release(1)  # the forward pass it was waiting in ends; before its next token it sees the stop
        (reply, _), = srv.wait_finished(1)
        assert reply.record.finish == "cancelled"
        assert len(reply.record.tokens) == 3
        lm.model.stop_all()
        r = _client(srv).chat.completions.create(model="fake", messages=HI, temperature=0)
        assert r.choices[0].message.content == TEXT  # the engine serves the next request
    finally:
        lm.model.stop_all()
        srv.close()


def test_requests_queue_in_order_and_a_full_queue_gets_429():
    lm = fake_loaded_model(TEXT, gated=True)
    srv = ServerThread(lm, max_queue=3)
    c = _client(srv)
    results: dict[int, str] = {}

    def ask(i):
        r = c.chat.completions.create(model="fake", messages=[{"role": "user", "content": f"request {i}"}], temperature=0)
        results[i] = r.choices[0].message.content

    threads = []
    try:
        for i in range(3):
            t = threading.Thread(target=ask, args=(i,))
            t.start()
            threads.append(t)
            srv.wait_until(lambda i=i: srv.service.active == i + 1)  # admitted in this order
        with pytest.raises(openai.RateLimitError) as e:
            c.chat.completions.create(model="fake", messages=[{"role": "user", "content": "one too many"}])
        assert "busy" in e.value.message and e.value.response.headers["retry-after"] == "1"
        lm.model.stop_all()
        for t in threads:
            t.join(20)
        ended = srv.wait_finished(3)
        assert [reply.parent.text for reply, _ in ended] == ["request 0", "request 1", "request 2"]  # FIFO
        assert results == {0: TEXT, 1: TEXT, 2: TEXT}
        assert c.chat.completions.create(model="fake", messages=[{"role": "user", "content": "again"}], temperature=0) \
            .choices[0].message.content == TEXT  # served again once the queue drained
    finally:
        lm.model.stop_all()
        for t in threads:
            t.join(20)
        srv.close()
