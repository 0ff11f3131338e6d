"""Batched writes of streaming replies, on a writer thread: each changed reply reaches the disk
within one interval (250 ms by default), and the fsync of `synchronous=FULL` never runs on the
thread that streams (the GUI's).

`touch(conv, msg)` notes the message's text as it is now; the thread writes it at the next tick.
`touch(..., final=True)` (a reply that ended) also writes its typed record, and wakes the thread
at once. `flush()` writes everything now on the calling thread; `close()` flushes and ends the
thread. A failed write is kept for the next try and reported through `on_error` (from the writer
thread); `on_flush(written)` is told what each committed batch wrote ((message, text) pairs; a crash
test listens to it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..conversation import Conversation, Message
from .exchange import StoreError
from .store import Store

MIN_INTERVAL_S = 0.01


class BatchedWriter:
    def __init__(self, store: Store, interval_s: float = 0.25, on_error: Callable[[StoreError], None] | None = None,
                 on_flush: Callable[[list[tuple[Message, str]]], None] | None = None):
        self.store = store
        self.interval_s = interval_s
        self.on_error = on_error
        self.on_flush = on_flush
        self._dirty: dict[int, tuple[Conversation, Message, str, bool]] = {}  # id(msg) → conv, msg, text, final
        self._lock = threading.Lock()  # guards _dirty
        self._flushing = threading.Lock()  # one batch at a time
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.writes = 0

    def touch(self, conv: Conversation, msg: Message, final: bool = False) -> None:
        """The message changed; it will be written within one interval (a final one, at once)."""
        with self._lock:
            old = self._dirty.get(id(msg))
            self._dirty[id(msg)] = (conv, msg, msg.text, final or (old is not None and old[3]))
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
                self._thread.start()
        if final:
            self._wake.set()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._dirty)

    def flush(self) -> None:
        """Write every changed message now (errors propagate as StoreError; the batch is kept)."""
        with self._flushing:
            with self._lock:
                items = list(self._dirty.items())
            done: list[tuple[Message, str]] = []
            for key, entry in items:
                conv, msg, text, final = entry
                if msg.meta.get("db_id") is None:  # never stored (its insert failed, and said so): nothing to update
                    with self._lock:
                        if self._dirty.get(key) is entry:
                            del self._dirty[key]
                    continue
                self.store.update_message(msg, conv, text=text, with_record=final)
                with self._lock:  # unless it was touched again meanwhile, it is written
                    if self._dirty.get(key) is entry:
                        del self._dirty[key]
                done.append((msg, text))
                self.writes += 1
            if done and self.on_flush is not None:
                self.on_flush(done)

    def close(self) -> None:
        """Flush on the calling thread and end the writer thread."""
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush()

    def _run(self) -> None:
        last_error = ""
        while not self._closed:
            self._wake.wait(max(self.interval_s, MIN_INTERVAL_S))  # never a busy loop, even at interval 0
            self._wake.clear()
            if self._closed:
                return
            try:
                self.flush()
                last_error = ""
            except StoreError as e:
                if str(e) != last_error and self.on_error is not None:  # tell once per kind of failure
                    self.on_error(e)
                last_error = str(e)
            except Exception as e:  # noqa: BLE001 - a writer thread must never die silently
                if self.on_error is not None:
                    self.on_error(StoreError(f"saving the history failed: {type(e).__name__}: {e}"))
