"""Batched writes of streaming replies: at most one database write per interval per reply."""

from __future__ import annotations

import time

from ..conversation import Conversation, Message
from .store import Store


class BatchedWriter:
    def __init__(self, store: Store, interval_s: float = 0.25):
        self.store = store
        self.interval_s = interval_s
        self._dirty: dict[int, tuple[Conversation, Message]] = {}
        self._last = time.monotonic()
        self.writes = 0

    def touch(self, conv: Conversation, msg: Message) -> None:
        """The message changed; it will be written within one interval."""
        self._dirty[id(msg)] = (conv, msg)

    def due(self) -> bool:
        return bool(self._dirty) and time.monotonic() - self._last >= self.interval_s

    def maybe_flush(self) -> bool:
        if self.due():
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Write every changed message now (errors propagate as StoreError; the batch is kept)."""
        items = list(self._dirty.items())
        for key, (conv, msg) in items:
            self.store.update_message(msg, conv)
            self._dirty.pop(key, None)
            self.writes += 1
        self._last = time.monotonic()
