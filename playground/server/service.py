"""The one model behind the HTTP server, driven through chat sessions exactly as the window
drives its own: each request is a `ChatSession` over the shared backend (`answer()` stores the
request's chat and starts the reply), and its tokens come back through the session's hooks.

Requests are admitted first come, first served: the backend runs one at a time in the order they
were submitted (FIFO), and at most `max_queue` may be admitted (running or waiting) at once; the
next gets 429 until one ends. A request whose client goes away stops its reply before the next
token (`session.stop()`: the backend stops that request only, running or queued).

In the app the sessions write to the window's history (one writer thread for all of them), so
API requests show in the sidebar, titled "API · …", their records carrying the request id.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import AsyncIterator
from pathlib import PurePath

from ..conversation import Message
from ..records import TokenRecord
from ..session import ChatSession, Hook
from ..session.backend import Backend
from ..storage import BatchedWriter, Store
from .schema import ApiError, ParsedRequest

API_TITLE = "API · "  # how an API request's conversation is titled in the history


class ModelService:
    def __init__(self, backend: Backend, store: Store | None = None, max_queue: int = 16):
        """`store`: the history the requests are kept in (the app's); None keeps each request's
        conversation in memory only, for as long as the request lasts."""
        self.backend = backend
        self.store = store
        self.max_queue = max_queue
        self.active = 0  # admitted requests: running or waiting their turn
        self.served = 0
        self._ids = itertools.count(1)
        self.writer = BatchedWriter(store) if store is not None else None
        self.request_started = Hook("(reply, request id): an API request's reply was started")
        self.reply_finished = Hook("(reply, request id): an API request's reply ended (its record is complete)")

    # -- what the server says about its model -------------------------------------------------------
    def models(self) -> list[str]:
        """The id of the model served (its file's name without the extension), as GET /v1/models lists it."""
        m = self.backend.model
        if m is None:
            return []
        stem = PurePath(m.path).name if m.path else ""
        stem = stem[:-5] if stem.lower().endswith(".gguf") else stem
        return [stem or m.name]

    def accepted_names(self) -> list[str]:
        """What a request may call the model: its id, or the name the window shows."""
        m = self.backend.model
        return self.models() + ([m.name] if m is not None else [])

    def context(self) -> int:
        return int(getattr(self.backend.model, "context", 0) or 2048)

    def fingerprint(self) -> str:
        m = self.backend.model
        return f"fp_{m.sha256[:12]}" if m is not None and m.sha256 else ""

    def text_of(self, token_id: int) -> str:
        """A token's text for log-probabilities (a lone byte of a character reads as U+FFFD)."""
        tok = getattr(self.backend.model, "tokenizer", None)
        return tok.decode([token_id]) if tok is not None else ""

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}{secrets.token_hex(6)}"

    # -- requests ---------------------------------------------------------------------------------------
    def admit(self) -> None:
        """Take a place in the queue, or raise 429 when it is full. Pair with `run`."""
        if self.backend.model is None:
            raise ApiError(503, "no model is loaded yet", None, "model_not_loaded", "server_error")
        if self.active >= self.max_queue:
            raise ApiError(429, f"the server is busy: {self.active} requests are running or waiting "
                                f"(at most {self.max_queue}); try again shortly", None, "queue_full",
                           "rate_limit_error", {"Retry-After": "1"})
        self.active += 1

    async def run(self, req: ParsedRequest, request_id: str) -> AsyncIterator[TokenRecord | Message]:
        """Yield the reply's tokens as they come, then the finished reply (its record complete).
        Must follow `admit()`; closing the iterator early (a client gone) stops the reply."""
        events: asyncio.Queue[TokenRecord | None] = asyncio.Queue()
        session = ChatSession(self.backend, self.store, writer=self.writer)
        session.token_applied.connect(lambda reply, ev: events.put_nowait(ev))
        session.reply_finished.connect(lambda reply: events.put_nowait(None))
        session.reply_finished.connect(lambda reply: self.reply_finished.emit(reply, request_id))
        reply = None
        try:
            reply = session.answer(req.messages, req.params, request_id, API_TITLE, req.prompt)
            self.request_started.emit(reply, request_id)
            while (ev := await events.get()) is not None:
                yield ev
            self.served += 1
            yield reply
        finally:
            self.active -= 1
            if session.generating:
                session.stop()  # the client went away: this reply stops before its next token
            session.close()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
