"""Fitting a conversation into the context window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..tokenization.tokenizer import TextTokenizer


class ContextOverflowError(ValueError):
    """A single message is longer than the whole context window."""


@dataclass
class FittedPrompt:
    ids: list[int]
    messages: list[dict[str, Any]]  # what was kept
    dropped: int  # how many of the oldest messages were left out


def fit_messages(tokenizer: TextTokenizer, messages: list[dict[str, Any]], context: int, reserve: int) -> FittedPrompt:
    """Encode the chat, dropping the oldest turns (never the system prompt, never the last
    message) until the prompt plus `reserve` tokens for the reply fits in `context`."""
    budget = context - max(1, min(reserve, context // 2))
    system = [m for m in messages[:1] if m.get("role") == "system"]
    rest = messages[len(system):]
    dropped = 0
    while True:
        kept = system + rest
        ids = tokenizer.encode_chat(kept)
        if len(ids) <= budget:
            return FittedPrompt(ids, kept, dropped)
        if len(rest) <= 1:
            raise ContextOverflowError(
                f"the message needs {len(ids)} tokens with the system prompt, but the model's context "
                f"holds {context} (with {context - budget} kept for the reply); shorten it"
            )
        rest = rest[1:]
        dropped += 1
        while rest and rest[0].get("role") != "user" and len(rest) > 1:
            rest = rest[1:]  # start on a user turn
            dropped += 1
