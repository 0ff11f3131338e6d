"""What a chat session needs from whatever runs the model: the `Backend` protocol.

A backend takes a `GenerationRequest` (chat messages, the reply's forced first tokens, and the
sampling parameters or a replay's timeline) and reports to a `ReplySink`: `started`, one `token`
per generated token (a `TokenRecord`), then `finished` or `failed`. It may call the sink on any
schedule, but always on the thread that drives the session (the local engine's Qt adapter
delivers queued signals on the GUI thread; the synchronous local backend calls back inside
`submit`; an asyncio backend calls back on its loop).

A backend that can interleave several replies to one prompt on one model (A/B decoding) also has
`submit_sides(request, sides, sinks)`: one handle for them all, each side's events to its own
sink. The session falls back to one request per side where it is missing (compare.py).

Implementations: `engine/local_backend.py` (synchronous, for the terminal and tests),
`engine/worker_backend.py` (the engine worker's thread, for the window). A remote OpenAI-compatible
endpoint fits the same protocol (its replies have no insides: no alternatives, no attention).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..records import Finished, TokenRecord
from ..sampling_params import LiveParams, ParamsTimeline, SamplingParams


@dataclass(frozen=True)
class GenerationRequest:
    messages: list[dict[str, str]]  # the chat the model sees: [{"role", "content"}…]
    prefix: tuple[int, ...] = ()  # the reply's first tokens, given (a branch), not sampled
    params: SamplingParams | ParamsTimeline | None = None  # None: the backend's live parameters,
    # read before every token (a slider moved mid-reply changes the next token)


class ReplySink(Protocol):
    def started(self, prompt_tokens: int, dropped: int) -> None:
        """The prompt is ready: its length, and how many oldest messages were left out to fit."""

    def token(self, ev: TokenRecord) -> None:
        """One generated token."""

    def finished(self, fin: Finished) -> None:
        """The reply ended (eos, length, a stop string, cancelled, the context full)."""

    def failed(self, message: str) -> None:
        """The reply could not be made (no model, the prompt does not fit, an error)."""


@runtime_checkable
class ModelIdentity(Protocol):
    """What a reply records about the model that wrote it (the engine's ModelInfo is one)."""

    name: str
    path: str
    sha256: str
    template_sha256: str
    backend: str


class Backend(Protocol):
    live: LiveParams  # the parameters requests without their own read before every token

    @property
    def model(self) -> ModelIdentity | None:
        """The model now answering, or None before one is loaded."""

    def submit(self, request: GenerationRequest, sink: ReplySink) -> int:
        """Start (or queue) a generation; return its handle. Events go to sink."""

    # optional: def submit_sides(self, request, sides: Sequence[SamplingParams], sinks: Sequence[ReplySink]) -> int
    # (the prompt once, one reply per set of parameters, interleaved token by token; see compare.py)

    def stop(self, handle: int | None = None) -> None:
        """Stop a generation before its next token: the one with this handle (running or queued),
        or, with None, whichever is running. Several sessions may share one backend."""
