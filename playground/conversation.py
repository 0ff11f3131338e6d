"""A conversation as a tree of messages (pure Python: no Qt, no torch).

Regenerating a reply or editing a message never deletes anything: it adds a sibling version
and makes it the active one. The visible conversation is the path of active children from the
root; `versions(node)` and `switch(node, i)` move between siblings ("2/3").
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from .records import ReplyRecord

_ids = itertools.count(1)


@dataclass
class Message:
    role: str  # "user" | "assistant"
    text: str = ""
    id: int = field(default_factory=lambda: next(_ids))
    parent: Message | None = field(default=None, repr=False)
    children: list[Message] = field(default_factory=list, repr=False)
    active: int = 0  # index of the active child
    meta: dict[str, Any] = field(default_factory=dict)  # storage id and what a view keeps beside it
    record: ReplyRecord | None = None  # an assistant reply's typed record (tokens, seed, timings, hashes)

    @property
    def active_child(self) -> Message | None:
        return self.children[self.active] if self.children else None


@dataclass
class Conversation:
    system_prompt: str = ""
    title: str = ""
    root: Message = field(default_factory=lambda: Message(role="root"))
    meta: dict[str, Any] = field(default_factory=dict)  # storage id, sampling params, model path

    # -- reading ------------------------------------------------------------------
    def path(self) -> list[Message]:
        """The visible messages, oldest first."""
        out, node = [], self.root.active_child
        while node is not None:
            out.append(node)
            node = node.active_child
        return out

    def last(self) -> Message:
        path = self.path()
        return path[-1] if path else self.root

    def messages_for_model(self, upto: Message | None = None) -> list[dict[str, str]]:
        """The chat the model sees: system prompt, then the visible path (up to a message)."""
        msgs = [{"role": "system", "content": self.system_prompt}] if self.system_prompt.strip() else []
        for m in self.path():
            if upto is not None and m is upto:
                break
            msgs.append({"role": m.role, "content": m.text})
        return msgs

    def versions(self, node: Message) -> tuple[int, int]:
        """(index, count) of node among its siblings, 1-based index."""
        sibs = node.parent.children if node.parent else [node]
        return sibs.index(node) + 1, len(sibs)

    # -- changing -------------------------------------------------------------------
    def add(self, role: str, text: str = "", parent: Message | None = None) -> Message:
        """Append a message as the new active child of parent (default: the last visible)."""
        parent = parent if parent is not None else self.last()
        m = Message(role=role, text=text, parent=parent)
        parent.children.append(m)
        parent.active = len(parent.children) - 1
        if not self.title and role == "user":
            self.title = text.strip().splitlines()[0][:60] if text.strip() else ""
        return m

    def regenerate(self, reply: Message) -> Message:
        """A new empty version of an assistant reply, beside the old ones."""
        if reply.role != "assistant" or reply.parent is None:
            raise ValueError("only an assistant reply can be regenerated")
        return self.add("assistant", "", parent=reply.parent)

    def edit(self, message: Message, text: str) -> Message:
        """A new version of a user message with new text (its old branch is kept)."""
        if message.role != "user" or message.parent is None:
            raise ValueError("only a user message can be edited")
        return self.add("user", text, parent=message.parent)

    def switch(self, node: Message, index: int) -> Message:
        """Make sibling number index (0-based) active; return it."""
        parent = node.parent
        if parent is None:
            return node
        parent.active = max(0, min(index, len(parent.children) - 1))
        return parent.children[parent.active]
