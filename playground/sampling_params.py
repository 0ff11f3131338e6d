"""Sampling parameters: what the sampler is asked to do (no torch, so the GUI can hold them).

`SamplingParams` is a frozen, validated dataclass with named presets; `LiveParams` is the
lock-protected holder the GUI and server write and the generation loop reads before every token.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, fields, replace
from typing import Any

DEFAULT_ORDER = ("penalties", "top_k", "typical_p", "top_p", "min_p", "temperature")
STAGES = frozenset(DEFAULT_ORDER)


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.7  # 0 = greedy (always the most likely token)
    top_k: int = 40  # keep the k most likely tokens; 0 = off
    top_p: float = 0.95  # keep the smallest set whose probability reaches p; 1 = off
    min_p: float = 0.05  # drop tokens less likely than min_p × the top token's probability; 0 = off
    typical_p: float = 1.0  # locally typical sampling; 1 = off
    repeat_penalty: float = 1.0  # divide positive logits (multiply negative) of recent tokens; 1 = off
    repeat_last_n: int = 64  # how many recent tokens the penalties look at; -1 = all
    presence_penalty: float = 0.0  # subtract once from every token already present
    frequency_penalty: float = 0.0  # subtract per occurrence
    seed: int | None = None  # None = a fresh random seed, recorded in the events
    max_tokens: int = 512
    stop: tuple[str, ...] = ()
    logit_bias: tuple[tuple[int, float], ...] = ()
    order: tuple[str, ...] = DEFAULT_ORDER

    _RANGES = {
        "temperature": (0.0, 10.0), "top_k": (0, 1_000_000), "top_p": (0.0, 1.0), "min_p": (0.0, 1.0),
        "typical_p": (0.0, 1.0), "repeat_penalty": (0.0, 10.0), "repeat_last_n": (-1, 1_000_000),
        "presence_penalty": (-10.0, 10.0), "frequency_penalty": (-10.0, 10.0), "max_tokens": (1, 1_000_000),
    }

    def __post_init__(self) -> None:
        for name, (lo, hi) in self._RANGES.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v) or not lo <= v <= hi:
                raise ValueError(f"{name} must be a number from {lo} to {hi}, got {v!r}")
        if self.seed is not None and (not isinstance(self.seed, int) or self.seed < 0):
            raise ValueError(f"seed must be a non-negative integer or None, got {self.seed!r}")
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        object.__setattr__(self, "stop", tuple(s for s in self.stop if s))
        object.__setattr__(self, "logit_bias", tuple((int(t), float(b)) for t, b in dict(self.logit_bias).items()))
        bad = [s for s in self.order if s not in STAGES]
        if bad:
            raise ValueError(f"unknown sampler stage(s) {bad}; stages are {sorted(STAGES)}")

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0

    def to_dict(self) -> dict[str, Any]:
        """Every field, as JSON-friendly values (tuples become lists when dumped)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SamplingParams:
        """The one way back from `to_dict` (or its JSON): lists become tuples, a missing field takes
        its default, a key this version does not know is ignored (a newer Playground's). Raises
        ValueError for values out of range or of the wrong kind."""
        if not isinstance(d, dict):
            raise ValueError(f"sampling parameters must be an object, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        try:
            if "stop" in values:
                values["stop"] = (values["stop"],) if isinstance(values["stop"], str) else tuple(values["stop"])
            if "order" in values:
                values["order"] = tuple(values["order"])
            if "logit_bias" in values:
                lb = values["logit_bias"]
                values["logit_bias"] = tuple((int(t), float(b)) for t, b in (lb.items() if isinstance(lb, dict) else lb))
            return cls(**values)
        except TypeError as e:
            raise ValueError(f"bad sampling parameters: {e}") from e

    def replace(self, **changes: Any) -> SamplingParams:
        return replace(self, **changes)


PRESETS: dict[str, SamplingParams] = {
    "Precise": SamplingParams(temperature=0.2, top_k=20, top_p=0.9, min_p=0.05),
    "Balanced": SamplingParams(),
    "Creative": SamplingParams(temperature=1.1, top_k=0, top_p=0.98, min_p=0.02, repeat_penalty=1.05),
    "Greedy": SamplingParams(temperature=0.0),
    "llama.cpp": SamplingParams(temperature=0.8, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.0),
    "Ollama": SamplingParams(temperature=0.8, top_k=40, top_p=0.9, min_p=0.0, repeat_penalty=1.1),
    "GPT4All": SamplingParams(temperature=0.7, top_k=40, top_p=0.4, min_p=0.0, repeat_penalty=1.18),
}


class LiveParams:
    """The current sampling parameters, shared between the GUI/server (writers) and the
    generation loop (reader, once per token). A change is seen by the very next token."""

    def __init__(self, params: SamplingParams | None = None):
        self._lock = threading.Lock()
        self._params = params or SamplingParams()

    def get(self) -> SamplingParams:
        with self._lock:
            return self._params

    def set(self, params: SamplingParams) -> None:
        with self._lock:
            self._params = params

    def update(self, **changes: Any) -> SamplingParams:
        with self._lock:
            self._params = replace(self._params, **changes)
            return self._params


class ParamsTimeline(LiveParams):
    """Parameters that change at given token indices: what a reply recorded, for replaying it.
    `at(n)` is what token n was sampled under."""

    def __init__(self, changes: list[tuple[int, SamplingParams]]):
        if not changes or changes[0][0] != 0:
            raise ValueError("a timeline starts at token 0")
        super().__init__(changes[0][1])
        self.changes = sorted(changes, key=lambda c: c[0])

    def at(self, n: int) -> SamplingParams:
        current = self.changes[0][1]
        for index, p in self.changes:
            if index > n:
                break
            current = p
        return current
