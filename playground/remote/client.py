"""Talking to an OpenAI-compatible endpoint (vLLM, llama.cpp's server, Ollama, Playground's own):
list its models, stream a chat completion. Async httpx on whatever loop runs (the app's qasync
loop): no thread per request.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx

TIMEOUT = httpx.Timeout(30.0, read=600.0)  # a queued request may wait long for its first token


class RemoteError(Exception):
    """The endpoint could not be reached, or answered with an error (its message kept)."""


def normalize_url(url: str) -> str:
    """'http://host:8080' → 'http://host:8080/v1'; a URL with a path of its own is kept as it is."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RemoteError(f"{url!r} is not an http(s) address")
    return url if parts.path not in ("", "/") else url + "/v1"


def headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _message(resp: httpx.Response, body: bytes) -> str:
    try:
        err = json.loads(body)
        err = err.get("error", err) if isinstance(err, dict) else err
        msg = err.get("message") or err.get("detail") if isinstance(err, dict) else err
    except ValueError:
        msg = body.decode("utf-8", "replace")[:300]
    return f"HTTP {resp.status_code}: {msg or resp.reason_phrase}"


async def list_models(url: str, api_key: str | None = None, client: httpx.AsyncClient | None = None) -> list[str]:
    """The ids the endpoint's GET /models lists."""
    base = normalize_url(url)
    own = client is None
    client = client or httpx.AsyncClient(timeout=httpx.Timeout(15.0))
    try:
        resp = await client.get(f"{base}/models", headers=headers(api_key))
        if resp.status_code != 200:
            raise RemoteError(_message(resp, resp.content))
        data = resp.json().get("data", [])
        return [str(m["id"]) for m in data if isinstance(m, dict) and "id" in m]
    except httpx.ConnectError as e:
        raise RemoteError(f"cannot connect to {base} (is the server running, and the address right?): {e}") from e
    except httpx.HTTPError as e:
        raise RemoteError(f"{base}: {e or type(e).__name__}") from e
    except (ValueError, AttributeError) as e:
        raise RemoteError(f"{base}/models did not answer with a model list") from e
    finally:
        if own:
            await client.aclose()


async def stream_chat(client: httpx.AsyncClient, url: str, api_key: str | None,
                      body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """POST /chat/completions with stream=true; yield each server-sent event's JSON object.
    Closing the iterator closes the connection (the server stops the reply)."""
    base = normalize_url(url)
    try:
        async with client.stream("POST", f"{base}/chat/completions", json={**body, "stream": True},
                                 headers=headers(api_key), timeout=TIMEOUT) as resp:
            if resp.status_code != 200:
                raise RemoteError(_message(resp, await resp.aread()))
            async with contextlib.aclosing(resp.aiter_lines()) as lines:
                async for line in lines:
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    try:
                        obj = json.loads(data)
                    except ValueError:
                        raise RemoteError(f"the endpoint sent an event that is not JSON: {data[:120]!r}") from None
                    if isinstance(obj, dict) and "error" in obj:
                        err = obj["error"]
                        raise RemoteError(err.get("message", str(err)) if isinstance(err, dict) else str(err))
                    yield obj
    except httpx.ConnectError as e:
        raise RemoteError(f"cannot connect to {base} (is the server running, and the address right?): {e}") from e
    except httpx.HTTPError as e:
        raise RemoteError(f"{base}: {e or type(e).__name__}") from e
