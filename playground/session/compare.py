"""A/B decoding, as the session sees it: one conversation prefix, several sets of sampling
parameters, their replies streamed together, and the first token where they part.

A `Comparison` is made by `ChatSession.compare(...)`; connect to its hooks, then `start()` it. Its sides stream together on one model
when the backend can interleave them (`submit_sides`: the local engine, one token per side in
turn); a backend that cannot (a remote endpoint) serves them one after another through ordinary
requests. The comparison is a view, not part of the conversation: nothing is saved.

Hooks (on the thread that drives the backend's sinks, as for the session):

    token(side, TokenRecord)   a side's token was appended
    side_finished(side)        a side ended (finished, stopped or failed)
    diverged(index)            the sides first differ at token `index` (once; it cannot change)
    finished()                 every side has ended
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..records import Finished, TokenRecord
from ..sampling_params import SamplingParams
from .backend import GenerationRequest
from .hooks import Hook


def first_divergence(streams: Sequence[Sequence[int]], ended: Sequence[bool] | None = None) -> int | None:
    """The index of the first token where the streams differ, or None while they agree.

    A stream that has ended and is shorter than another differs from it at its length (one side
    stopped where the other went on); a stream still running is not known to differ past its end."""
    if len(streams) < 2:
        return None
    done = list(ended) if ended is not None else [True] * len(streams)
    n = 0
    while True:
        have = [n < len(s) for s in streams]
        if all(have):
            if len({s[n] for s in streams}) > 1:
                return n
            n += 1
            continue
        if any(have) and any(not h and d for h, d in zip(have, done)):
            return n
        return None


@dataclass
class Side:
    """One set of parameters and the reply it is producing."""

    params: SamplingParams
    tokens: list[TokenRecord] = field(default_factory=list)
    text: str = ""
    prompt_tokens: int = 0
    finish: Finished | None = None
    error: str = ""

    @property
    def ended(self) -> bool:
        return self.finish is not None or bool(self.error)

    @property
    def token_ids(self) -> list[int]:
        return [t.token_id for t in self.tokens]


class Comparison:
    def __init__(self, messages: list[dict[str, str]], sides: Sequence[SamplingParams], backend):
        if len(sides) < 2:
            raise ValueError("a comparison needs at least two sets of parameters")
        self.messages = list(messages)
        self.sides = [Side(p) for p in sides]
        self.divergence: int | None = None
        self.token = Hook("(side, TokenRecord): a side's token was appended")
        self.side_finished = Hook("(side): a side ended")
        self.diverged = Hook("(index): the sides first differ at this token")
        self.finished = Hook("(): every side has ended")
        self._backend = backend
        self.started = False
        self._handles: list[int] = []

    @property
    def running(self) -> bool:
        return any(not s.ended for s in self.sides)

    def at_divergence(self) -> list[TokenRecord | None]:
        """Each side's token where they part (None for a side that had ended there): its chosen
        token and what it chose between, under the model and under its sampler."""
        if self.divergence is None:
            return [None] * len(self.sides)
        return [s.tokens[self.divergence] if self.divergence < len(s.tokens) else None for s in self.sides]

    # -- running -------------------------------------------------------------------------------------
    def start(self) -> Comparison:
        """Ask the backend for every side's reply (interleaved when it can). Once only."""
        if self.started:
            raise RuntimeError("a comparison runs once; make another")
        self.started = True
        backend = self._backend
        request = GenerationRequest(self.messages)
        sinks = [_SideSink(self, i) for i in range(len(self.sides))]
        submit_sides = getattr(backend, "submit_sides", None)
        if submit_sides is not None:
            self._handles = [submit_sides(request, [s.params for s in self.sides], sinks)]
        else:  # one request per side, served in turn
            self._handles = [backend.submit(GenerationRequest(self.messages, (), s.params), sink)
                             for s, sink in zip(self.sides, sinks)]
        return self

    def stop(self) -> None:
        """Stop every side before its next token."""
        if self.started and self.running:
            for h in self._handles:
                self._backend.stop(h)

    # -- events ------------------------------------------------------------------------------------------
    def _on_token(self, i: int, ev: TokenRecord) -> None:
        side = self.sides[i]
        side.tokens.append(ev)
        side.text += ev.text
        self.token.emit(i, ev)
        self._check_divergence()

    def _on_end(self, i: int) -> None:
        self.side_finished.emit(i)
        self._check_divergence()
        if not self.running:
            self.finished.emit()

    def _check_divergence(self) -> None:
        if self.divergence is not None:
            return
        d = first_divergence([s.token_ids for s in self.sides], [s.ended for s in self.sides])
        if d is not None:
            self.divergence = d
            self.diverged.emit(d)


class _SideSink:
    """A ReplySink for one side of a comparison."""

    def __init__(self, comparison: Comparison, index: int):
        self.c, self.i = comparison, index

    def started(self, prompt_tokens: int, dropped: int) -> None:
        self.c.sides[self.i].prompt_tokens = prompt_tokens

    def token(self, ev: TokenRecord) -> None:
        self.c._on_token(self.i, ev)

    def finished(self, fin: Finished) -> None:
        side = self.c.sides[self.i]
        side.text += fin.tail
        side.finish = fin
        self.c._on_end(self.i)

    def failed(self, message: str) -> None:
        self.c.sides[self.i].error = message or "failed"
        self.c._on_end(self.i)
