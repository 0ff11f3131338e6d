"""Tokens handed from the engine's thread to the GUI's in batches, with one wake-up signal in flight.

A fast model makes 250+ tokens a second. Sent one queued signal each, every token woke the GUI
thread, which on a machine with as many cores as the engine has threads preempts one of them
while the other spins at the kernels' barrier: each wake-up costs the engine about what it costs
the GUI, plus the emit on the engine's own thread. So the engine's thread only appends to a
`TokenQueue`, and asks for a signal when none is in flight (`put` returns True); the GUI thread
takes what has gathered (`take`) and, while tokens keep coming, takes again on its own timer
(a batch per interval) instead of being woken per token. When a `take` finds the queue empty the
next `put` signals again, so a token never waits for a timer that is not running, and the first
token of a reply is signalled at once.

Qt-free and thread-safe: the caller owns the signal and the timer (engine/worker.py,
engine/worker_backend.py).
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class TokenQueue(Generic[T]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[T] = []
        self._in_flight = False  # a signal was asked for and the reader has not found the queue empty since

    def put(self, item: T) -> bool:
        """Append an item (the producer's thread). True: no signal is in flight, send one now."""
        with self._lock:
            self._items.append(item)
            if self._in_flight:
                return False
            self._in_flight = True
            return True

    def take(self) -> list[T]:
        """Everything put since the last take, in order (the reader's thread). An empty result
        means the reader is caught up: the next `put` asks for a signal again."""
        with self._lock:
            items, self._items = self._items, []
            if not items:
                self._in_flight = False
            return items
