"""A plain callback list: `hook.connect(fn)`, `hook.emit(*args)`. The session's way of telling
whoever drives it (a window, the terminal, a server) what happened, without Qt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Hook:
    """Callbacks run in the order they were connected, on the thread that emits."""

    def __init__(self, doc: str = ""):
        self.__doc__ = doc
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        self._callbacks.append(fn)
        return fn

    def disconnect(self, fn: Callable[..., Any]) -> None:
        self._callbacks.remove(fn)

    def emit(self, *args: Any) -> None:
        for fn in list(self._callbacks):
            fn(*args)
