"""Safe by default: the server refuses foreign Host headers, cross-origin browsers, missing or wrong
keys, exposed binds without a key, and every malformed or oversize request, each with a clear
message, and keeps serving after each."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from playground import cli
from playground.server import ApiServer, BindRefused, ModelService, check_bind
from tests.helpers import fake_loaded_model
from tests.server.harness import ServerThread

TEXT = "hello world, this is a tiny corpus"
GOOD = {"model": "fake", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}


@pytest.fixture(scope="module")
def served():
    srv = ServerThread(fake_loaded_model(TEXT), allowed_origins=["http://localhost:3000"])
    yield srv
    srv.close()


def _still_serves(url: str, **kw) -> None:
    r = httpx.post(f"{url}/chat/completions", json=GOOD, **kw)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == TEXT


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["message"] and err["type"]
    return err["message"]


def test_a_foreign_host_header_is_refused(served):
    r = httpx.post(f"{served.url}/chat/completions", json=GOOD, headers={"Host": "attacker.example:8000"})
    assert "DNS rebinding" in _error(r, 403)
    for host in ("localhost", "127.0.0.1:1234"):
        assert httpx.get(f"{served.url}/models", headers={"Host": host}).status_code == 200
    _still_serves(served.url)


def test_cross_origin_requests_are_refused_unless_allowed(served):
    r = httpx.post(f"{served.url}/chat/completions", json=GOOD, headers={"Origin": "https://evil.example"})
    assert "cross-origin" in _error(r, 403)
    pre = httpx.options(f"{served.url}/chat/completions", headers={"Origin": "https://evil.example",
                                                                   "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403
    ok = httpx.options(f"{served.url}/chat/completions", headers={"Origin": "http://localhost:3000",
                                                                  "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == "http://localhost:3000"
    r = httpx.post(f"{served.url}/chat/completions", json=GOOD, headers={"Origin": "http://localhost:3000"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_a_bind_beyond_this_computer_needs_a_key(capsys):
    for host in ("0.0.0.0", "::", "192.168.1.20"):
        with pytest.raises(BindRefused, match="API key"):
            check_bind(host, None)
        with pytest.raises(BindRefused):
            ApiServer(ModelService(backend=None), host=host, port=0)  # refused before any socket exists
    check_bind("0.0.0.0", "secret")  # with a key it may (this test never binds it)
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(host, None)
    # the command refuses before loading a model
    assert cli.main(["serve", "--host", "0.0.0.0", "--model", "/nonexistent.gguf"]) == 2
    err = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0" in err and "--api-key" in err and "Loading" not in err


def test_a_key_is_required_when_set():
    srv = ServerThread(fake_loaded_model(TEXT), api_key="s3cret")
    try:
        r = httpx.post(f"{srv.url}/chat/completions", json=GOOD)
        assert "no API key" in _error(r, 401) and r.headers["www-authenticate"] == "Bearer"
        r = httpx.post(f"{srv.url}/chat/completions", json=GOOD, headers={"Authorization": "Bearer wrong"})
        assert "wrong API key" in _error(r, 401)
        assert httpx.get(f"{srv.url}/models").status_code == 401
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=srv.url, api_key="wrong", max_retries=0).models.list()
        good = openai.OpenAI(base_url=srv.url, api_key="s3cret", max_retries=0)
        assert good.chat.completions.create(**GOOD).choices[0].message.content == TEXT
    finally:
        srv.close()


BAD = [
    ("malformed JSON", b'{"model": "fake", "messages": [', 400, "not valid JSON"),
    ("not an object", b"[1, 2]", 400, "JSON object"),
    ("no model", {"messages": GOOD["messages"]}, 400, "'model' is required"),
    ("unknown model", {**GOOD, "model": "gpt-9"}, 404, "not served here"),
    ("negative max_tokens", {**GOOD, "max_tokens": -5}, 400, "'max_tokens' must be from 1"),
    ("huge max_tokens", {**GOOD, "max_tokens": 10**9}, 400, "'max_tokens' must be from 1"),
    ("max_tokens not a number", {**GOOD, "max_tokens": "many"}, 400, "must be an integer"),
    ("temperature too high", {**GOOD, "temperature": 5}, 400, "'temperature' must be from 0.0 to 2.0"),
    ("top_p out of range", {**GOOD, "top_p": 1.5}, 400, "'top_p'"),
    ("negative top_k", {**GOOD, "top_k": -1}, 400, "'top_k'"),
    ("penalty out of range", {**GOOD, "presence_penalty": 3}, 400, "'presence_penalty'"),
    ("too many top_logprobs", {**GOOD, "logprobs": True, "top_logprobs": 50}, 400, "'top_logprobs'"),
    ("top_logprobs without logprobs", {**GOOD, "top_logprobs": 2}, 400, "needs 'logprobs'"),
    ("too many stop strings", {**GOOD, "stop": ["a", "b", "c", "d", "e"]}, 400, "at most 4"),
    ("stop not strings", {**GOOD, "stop": [1]}, 400, "'stop' must be"),
    ("n above 1", {**GOOD, "n": 2}, 400, "'n' must be 1"),
    ("negative seed", {**GOOD, "seed": -3}, 400, "'seed'"),
    ("no messages", {"model": "fake"}, 400, "'messages'"),
    ("empty messages", {**GOOD, "messages": []}, 400, "'messages'"),
    ("unknown role", {**GOOD, "messages": [{"role": "wizard", "content": "x"}]}, 400, "role"),
    ("image content", {**GOOD, "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, 400, "text parts"),
    ("system only", {**GOOD, "messages": [{"role": "system", "content": "x"}]}, 400, "at least one user"),
    ("stream not a bool", {**GOOD, "stream": "yes"}, 400, "'stream'"),
    ("oversize body", {**GOOD, "messages": [{"role": "user", "content": "x" * (3 * 2**20)}]}, 413, "larger than"),
]


@pytest.mark.parametrize("name,body,status,words", BAD, ids=[b[0] for b in BAD])
def test_a_bad_request_gets_a_clear_4xx_and_the_server_goes_on(served, name, body, status, words):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = httpx.post(f"{served.url}/chat/completions", content=content, headers={"Content-Type": "application/json"})
    assert words in _error(r, status)
    _still_serves(served.url)


def test_an_oversize_body_without_a_length_is_cut_off(served):
    def chunks():
        for _ in range(40):
            yield b"x" * 2**16  # 2.5 MiB, sent chunked (no Content-Length)

    r = httpx.post(f"{served.url}/chat/completions", content=chunks(), headers={"Content-Type": "application/json"})
    assert "larger than" in _error(r, 413)
    _still_serves(served.url)


def test_a_prompt_longer_than_the_context_is_a_400(served):
    long = " ".join(["hello world"] * 400)  # the scripted model's context is 512 tokens
    r = httpx.post(f"{served.url}/chat/completions", json={**GOOD, "messages": [{"role": "user", "content": long}]})
    assert "context" in _error(r, 400)
    r = httpx.post(f"{served.url}/completions", json={"model": "fake", "prompt": long, "max_tokens": 5})
    assert "context" in _error(r, 400)
    _still_serves(served.url)


def test_unknown_routes_say_what_exists(served):
    r = httpx.get(f"{served.url}/engines")
    assert "/v1/chat/completions" in _error(r, 404)
    _still_serves(served.url)
