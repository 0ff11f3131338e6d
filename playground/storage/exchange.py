"""Conversations to and from files: the versioned JSON export (everything recorded, replies'
typed records included), a Markdown transcript, and an atomic file write (stdlib only)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ..conversation import Conversation, Message
from ..records import LEGACY_META_KEYS, ReplyRecord

ROLES = {"user", "assistant"}
FORMAT_VERSION = 2  # of exported JSON: 2 carries each reply's `record`; 1 kept it inside `meta`


class StoreError(Exception):
    """A write or read of the history failed (disk full, read-only folder, locked database)."""


def meta_json(meta: dict) -> str:
    """Meta as stored: keys starting with '_' are in-memory only, the row id is the row's own."""
    return json.dumps({k: v for k, v in meta.items() if k != "db_id" and not k.startswith("_")}, default=str)


_TOKENS_PER_SLICE = 64


def record_json(msg: Message) -> str | None:
    """The record as JSON, its tokens a slice at a time with the interpreter lock let go between
    slices. The history writer's thread writes it as a reply ends, and one `json.dumps` of a
    500-token record held the lock ~5 ms in C (with ~2 ms more building it): the window's last
    refresh of the reply, and the frame after it, waited for it (a 25 ms stall of the GUI thread)."""
    if msg.record is None:
        return None
    d = msg.record.to_dict()
    tokens = d.pop("tokens")
    slices = []
    for i in range(0, len(tokens), _TOKENS_PER_SLICE):
        slices.append(json.dumps(tokens[i : i + _TOKENS_PER_SLICE])[1:-1])
        time.sleep(0)  # another thread waiting for the lock takes it now, not a switch interval later
    head = json.dumps(d)
    return head[:-1] + (", " if d else "") + '"tokens": [' + ", ".join(slices) + "]}"


def conversation_to_dict(conv: Conversation) -> dict[str, Any]:
    def node(m: Message) -> dict[str, Any]:
        d = {"role": m.role, "text": m.text, "active": m.active, "meta": json.loads(meta_json(m.meta)),
             "children": [node(c) for c in m.children]}
        if m.record is not None:
            d["record"] = m.record.to_dict()
        return d

    return {"format": "playground-conversation", "version": FORMAT_VERSION, "title": conv.title,
            "system_prompt": conv.system_prompt, "params": conv.meta.get("params", {}),
            "model_path": conv.meta.get("model_path", ""), "active": conv.root.active,
            "messages": [node(c) for c in conv.root.children]}


def conversation_from_dict(data: dict[str, Any]) -> Conversation:
    if not isinstance(data, dict) or data.get("format") != "playground-conversation":
        raise StoreError("this is not a Playground conversation export")
    if data.get("version", 0) > FORMAT_VERSION:
        raise StoreError(f"this export is version {data.get('version')}; this Playground reads up to {FORMAT_VERSION}")
    conv = Conversation(system_prompt=str(data.get("system_prompt", "")), title=str(data.get("title", "")))
    conv.meta.update(params=data.get("params", {}), model_path=data.get("model_path", ""))

    def build(d: dict, parent: Message) -> None:
        if d.get("role") not in ROLES:
            raise StoreError(f"unknown role {d.get('role')!r} in the export")
        meta = dict(d.get("meta") or {})
        try:
            if d.get("record") is not None:
                record = ReplyRecord.from_dict(d["record"])
            else:  # a version-1 export: the record's pieces sit in meta
                record = ReplyRecord.from_legacy_meta(meta) if d["role"] == "assistant" else None
                meta = {k: v for k, v in meta.items() if k not in LEGACY_META_KEYS}
        except ValueError as e:
            raise StoreError(f"a reply's record in the export is damaged: {e}") from e
        m = Message(role=d["role"], text=str(d.get("text", "")), parent=parent, meta=meta, record=record)
        parent.children.append(m)
        for c in d.get("children", []):
            build(c, m)
        m.active = min(int(d.get("active", 0)), max(len(m.children) - 1, 0))

    for d in data.get("messages", []):
        build(d, conv.root)
    conv.root.active = min(int(data.get("active", 0)), max(len(conv.root.children) - 1, 0))
    return conv


def conversation_to_markdown(conv: Conversation) -> str:
    out = [f"# {conv.title or 'Conversation'}", ""]
    if conv.system_prompt.strip():
        out += [f"> **System:** {conv.system_prompt.strip()}", ""]
    for m in conv.path():
        who = "You" if m.role == "user" else "Assistant"
        out += [f"**{who}:**", "", m.text, ""]
    return "\n".join(out)


def write_atomically(path: str | os.PathLike, text: str) -> None:
    """Write text to path so that it is either the old file or the whole new one: a temporary
    file in the same folder, flushed to disk, then renamed over. On failure nothing is left."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise StoreError(f"cannot write {path}: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise StoreError(f"cannot write {path}: {e.strerror or e}") from e
