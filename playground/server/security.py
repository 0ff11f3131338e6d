"""Safe by default: who may reach the server, and from where.

- `check_bind`: the server listens on 127.0.0.1 unless told otherwise, and any address that
  other computers can reach needs an API key, else it refuses to start and says why.
- `Guard` (ASGI middleware, before any route runs):
  - the `Host` header must name this server (a loopback name, or the address it listens on, or a
    host allowed explicitly), so a web page on another site cannot reach it through DNS
    rebinding;
  - a browser's cross-origin request (`Origin` header) is refused unless that origin is allowed
    explicitly; an allowed one gets CORS headers, preflights included;
  - with a key set, `Authorization: Bearer <key>` is required (compared in constant time): 401;
  - a body larger than the limit is refused with 413, whether it declares its length or not.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Iterable

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


class BindRefused(Exception):
    """The server will not listen on this address as configured."""


def is_loopback(host: str) -> bool:
    h = host.strip("[]").lower()
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str | None) -> None:
    """Raise BindRefused when listening on `host` would expose the model without a key."""
    if not is_loopback(host) and not api_key:
        raise BindRefused(
            f"refusing to listen on {host}: other computers could use the model without a password. "
            f"Set an API key (--api-key, or the key field in the app) to listen beyond this computer, "
            f"or listen on 127.0.0.1.")


def _host_only(value: str) -> str:
    """'example.com:8000' → 'example.com'; '[::1]:8000' → '::1'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    """ASGI middleware that refuses what the server must not serve, before the app sees it."""

    def __init__(self, app, bind_host: str, api_key: str | None = None, allowed_hosts: Iterable[str] = (),
                 allowed_origins: Iterable[str] = (), max_body: int = 2 * 2**20):
        self.app = app
        self.api_key = api_key or None
        self.max_body = max_body
        self.origins = {o.rstrip("/").lower() for o in allowed_origins}
        bind = bind_host.strip("[]").lower()
        self.any_host = bind in ("0.0.0.0", "::", "")  # listening everywhere: any name may reach it
        self.hosts = {_host_only(h) for h in allowed_hosts} | {bind} | {h.strip("[]") for h in LOOPBACK_NAMES}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = _host_only(headers.get("host", ""))
        if not self.any_host and host not in self.hosts:
            return await _error(send, 403, f"the Host header {headers.get('host', '')!r} does not name this "
                                           f"server; it is refused (DNS rebinding protection)", "forbidden_host")
        origin = headers.get("origin")
        cors: list[tuple[bytes, bytes]] = []
        if origin is not None:
            if origin.rstrip("/").lower() not in self.origins:
                return await _error(send, 403, f"cross-origin requests from {origin} are not allowed; "
                                               f"allow the origin explicitly to use this server from a web page",
                                    "forbidden_origin")
            cors = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
            if scope["method"] == "OPTIONS":  # a preflight: say what may be sent
                return await _reply(send, 204, b"", cors + [
                    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                    (b"access-control-allow-headers", b"authorization, content-type"),
                    (b"access-control-max-age", b"600")])
        if self.api_key is not None:
            auth = headers.get("authorization", "")
            given = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
            if not hmac.compare_digest(given.encode(), self.api_key.encode()):
                why = "a wrong API key" if given else "no API key (send 'Authorization: Bearer <key>')"
                return await _error(send, 401, f"this server needs an API key; the request had {why}",
                                    "invalid_api_key", "authentication_error", cors)
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return await _error(send, 413, f"the request body is larger than this server accepts "
                                           f"({self.max_body} bytes)", "body_too_large", extra=cors)
        send = _with_headers(send, cors) if cors else send
        return await self.app(scope, _limited(receive, self.max_body), send)


class BodyTooLarge(Exception):
    pass


def _limited(receive, limit: int):
    """A receive that raises BodyTooLarge once more than `limit` body bytes arrived (chunked bodies)."""
    seen = 0

    async def wrapped():
        nonlocal seen
        msg = await receive()
        if msg["type"] == "http.request":
            seen += len(msg.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return msg

    return wrapped


def _with_headers(send, extra: list[tuple[bytes, bytes]]):
    async def wrapped(msg):
        if msg["type"] == "http.response.start":
            msg = {**msg, "headers": list(msg.get("headers", [])) + extra}
        await send(msg)

    return wrapped


async def _reply(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _error(send, status: int, message: str, code: str, kind: str = "invalid_request_error",
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await _reply(send, status, body, headers + (extra or []))
