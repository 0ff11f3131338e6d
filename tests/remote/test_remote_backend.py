"""The remote backend (async httpx) driving a chat session against real servers on 127.0.0.1:
llama-cpp-python's server (a third party, serving the SmolLM2 file) and our own server."""

from __future__ import annotations

import asyncio

import pytest

from playground.remote import RemoteBackend, RemoteError, list_models
from playground.sampling_params import SamplingParams
from playground.session import ChatSession
from tests.helpers import fake_loaded_model
from tests.server.harness import ServerThread

TEXT = "hello world, this is a tiny corpus"
QUESTION = "Name the capital of France."  # llama.cpp's greedy SmolLM2 answers "The capital of France is Paris."


class Recorder:
    """A session over a remote backend, with what its hooks said, awaited on the loop."""

    def __init__(self, backend: RemoteBackend):
        self.session = ChatSession(backend)
        self.events: list[str] = []
        self.done = asyncio.Event()
        self.session.token_applied.connect(lambda reply, ev: self.events.append("token"))
        self.session.reply_finished.connect(lambda reply: (self.events.append("finished"), self.done.set()))

    async def ask(self, text: str, timeout: float = 60.0):
        self.done.clear()
        reply = self.session.send(text)
        await asyncio.wait_for(self.done.wait(), timeout)
        return reply


async def _until(cond, timeout: float = 30.0) -> None:
    async def poll():
        while not cond():
            await asyncio.sleep(0.005)
    await asyncio.wait_for(poll(), timeout)


@pytest.mark.e2e
def test_llama_cpp_server_chat_streams_answers_and_stops(llama_server):
    async def run():
        assert await list_models(llama_server.url) == ["smollm2"]
        backend = RemoteBackend(llama_server.url, "smollm2")
        backend.live.set(SamplingParams(temperature=0.0, max_tokens=48))
        rec = Recorder(backend)
        reply = await rec.ask(QUESTION)
        assert "Paris" in reply.text
        assert reply.record.finish == "eos"  # (llama-cpp-python sends no usage in a stream: no prompt count)
        n = len(reply.record.tokens)
        assert n > 3 and rec.events == ["token"] * n + ["finished"]  # streamed: token by token, then the end
        assert "".join(t.text for t in reply.record.tokens) == reply.text
        first = reply.record.tokens[0]  # llama.cpp returned logprobs: the alternatives are there
        assert len(first.top) == 5 and first.top[0][0] == first.token_id and 0 < first.raw_prob <= 1
        assert backend.vocab.text(first.token_id) == first.text

        # Stop: the stream closes after a few tokens of a long reply
        backend.live.set(SamplingParams(temperature=0.0, max_tokens=400))
        rec.done.clear()
        long = rec.session.send("Write a long story about a dragon who learns to cook.")
        await _until(lambda: len(long.record.tokens) >= 3)
        rec.session.stop()
        await asyncio.wait_for(rec.done.wait(), 10)
        assert long.record.finish == "cancelled" and len(long.record.tokens) < 20
        assert not backend._tasks  # the request's task (and its connection) ended
        # the server is free again: the next chat is answered
        again = await rec.ask(QUESTION)
        assert "Paris" in again.text
        rec.session.close()
        await backend.aclose()

    asyncio.run(run())


def test_our_own_server_as_a_remote_model():
    """Parameters go with each request (a live change applies to the next one), logprobs become
    the alternatives, Stop ends the reply, and errors come back with the server's message."""
    srv = ServerThread(fake_loaded_model(TEXT))

    async def run():
        assert await list_models(srv.url) == ["fake"]
        with pytest.raises(RemoteError, match="cannot connect to http://127.0.0.1:1/v1"):
            await list_models("http://127.0.0.1:1")  # nothing listens there
        backend = RemoteBackend(srv.url.removesuffix("/v1"), "fake")  # the /v1 is added
        backend.live.set(SamplingParams(temperature=0.0, top_k=3, max_tokens=50))
        rec = Recorder(backend)
        reply = await rec.ask("hi")
        assert reply.text == TEXT and reply.record.finish == "eos"
        assert reply.record.prompt_tokens == srv.finished[-1][0].record.prompt_tokens > 0  # from the usage chunk
        assert reply.record.backend.startswith("remote · 127.0.0.1:")
        served = srv.finished[-1][0].record
        assert served.params.top_k == 3 and served.params.temperature == 0.0  # what the panel set arrived
        t0 = reply.record.tokens[0]
        assert len(t0.top) == 5 and t0.top[0][0] == t0.token_id
        assert abs(t0.raw_prob - served.tokens[0].raw_prob) < 1e-9  # the server's probability, unchanged
        labels = [backend.vocab.label(tid) for tid, _ in t0.top]
        assert labels[0] == t0.text == TEXT[:len(t0.text)] and len(set(labels)) == 5

        # a live change while a reply is written applies to the next request, not this one
        rec.done.clear()
        second = rec.session.send("again")
        backend.live.update(top_k=9)
        await asyncio.wait_for(rec.done.wait(), 30)
        assert srv.finished[-1][0].record.params.top_k == 3 and second.record.tokens[-1].params.top_k == 3
        third = await rec.ask("once more")
        assert srv.finished[-1][0].record.params.top_k == 9 and third.record.params.top_k == 9

        # a request the server refuses: its message reaches the session
        backend.live.update(temperature=2.0, top_p=1.0, max_tokens=10**6)
        bad = await rec.ask("too long")
        assert bad.record.finish == "error" and "max_tokens" in bad.record.error
        rec.session.close()
        await backend.aclose()

    try:
        asyncio.run(run())
    finally:
        srv.close()


def test_stop_closes_the_stream_to_our_server():
    lm = fake_loaded_model(TEXT, gated=True)
    srv = ServerThread(lm)

    async def run():
        backend = RemoteBackend(srv.url, "fake")
        backend.live.set(SamplingParams(max_tokens=100))
        rec = Recorder(backend)
        lm.model.release(3)
        reply = rec.session.send("hi")
        await _until(lambda: len(reply.record.tokens) == 3)
        rec.session.stop()
        await asyncio.wait_for(rec.done.wait(), 10)
        assert reply.record.finish == "cancelled" and len(reply.record.tokens) == 3
        await backend.aclose()
        rec.session.close()

    try:
        asyncio.run(run())
        # the server saw the connection close and stopped its engine within a token
        srv.wait_until(lambda: srv.service.active == 0)
        lm.model.release(1)
        (served, _), = srv.wait_finished(1)
        assert served.record.finish == "cancelled" and len(served.record.tokens) == 3
    finally:
        lm.model.stop_all()
        srv.close()
