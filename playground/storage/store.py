"""Conversation history in SQLite: never lost, never half-written (stdlib only).

- WAL journal with `synchronous=FULL`: a committed write survives a crash or power loss.
- One row per message; a conversation is a tree (parent_id, sibling position, active child).
- The user's message is committed before generation starts; a streaming reply is rewritten in
  batches (the caller decides how often, e.g. every 250 ms), so a crash loses at most a batch.
- Schema changes are named migrations (`m001_…`), applied once and recorded.
- A row that cannot be read (bad JSON, unknown role, a damaged reply record) is moved to
  `quarantine` with every reply under it, and reported once; it never stops the rest of the
  history from loading.
- A reply's typed `ReplyRecord` (records.py) has its own column; `meta` keeps the rest.
- Deletion is soft (undo restores it); a reply streaming into a deleted conversation keeps
  writing safely.
- Two windows or two app instances may share a database: SQLite serialises the writes
  (busy timeout), and no write replaces another's rows.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..conversation import Conversation, Message
from ..records import ReplyRecord
from .exchange import (
    FORMAT_VERSION,
    ROLES,
    StoreError,
    conversation_from_dict,
    conversation_to_dict,
    meta_json,
    record_json,
)
from .migrations import MIGRATIONS


@dataclass
class ConversationSummary:
    id: int
    title: str
    updated: float
    pinned: bool


class Store:
    def __init__(self, path: str | os.PathLike, migrations: list | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.problems: list[str] = []  # what was quarantined, for the UI to report
        try:
            self.db = sqlite3.connect(str(self.path), timeout=10.0, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA busy_timeout=10000")
            self._migrate(MIGRATIONS if migrations is None else migrations)
        except sqlite3.Error as e:
            raise StoreError(f"the history database {self.path} cannot be opened: {e}") from e

    def close(self) -> None:
        with self._lock:
            self.db.close()

    # -- plumbing ---------------------------------------------------------------------------------
    def _migrate(self, migrations) -> None:
        with self._tx():
            self.db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)")
            done = {r[0] for r in self.db.execute("SELECT name FROM migrations")}
            for m in migrations:
                if m.__name__ not in done:
                    m(self.db)
                    self.db.execute("INSERT INTO migrations VALUES (?, ?)", (m.__name__, time.time()))

    def _tx(self):
        store = self

        class _Tx:
            def __enter__(self):
                store._lock.acquire()
                try:
                    store.db.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as e:
                    store._lock.release()
                    raise StoreError(f"the history database is unavailable: {e}") from e

            def __exit__(self, exc_type, exc, tb):
                try:
                    if exc_type is None:
                        try:
                            store.db.execute("COMMIT")
                        except sqlite3.Error as e:
                            store.db.execute("ROLLBACK")
                            raise StoreError(f"saving the history failed: {e}") from e
                    else:
                        store.db.execute("ROLLBACK")
                        if isinstance(exc, sqlite3.Error):
                            raise StoreError(f"saving the history failed: {exc}") from exc
                finally:
                    store._lock.release()
                return False

        return _Tx()

    # -- conversations -----------------------------------------------------------------------------
    def create_conversation(self, conv: Conversation) -> int:
        now = time.time()
        with self._tx():
            cur = self.db.execute(
                "INSERT INTO conversations (title, system_prompt, created, updated, params, model_path) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (conv.title, conv.system_prompt, now, now, json.dumps(conv.meta.get("params", {})),
                 conv.meta.get("model_path", "")),
            )
        conv.meta["db_id"] = cur.lastrowid
        return cur.lastrowid

    def update_conversation(self, conv: Conversation) -> None:
        cid = self._cid(conv)
        with self._tx():
            self.db.execute(
                "UPDATE conversations SET title=?, system_prompt=?, updated=?, params=?, model_path=?, root_active=? "
                "WHERE id=?",
                (conv.title, conv.system_prompt, time.time(), json.dumps(conv.meta.get("params", {})),
                 conv.meta.get("model_path", ""), conv.root.active, cid),
            )

    def _cid(self, conv: Conversation) -> int:
        if "db_id" not in conv.meta:
            self.create_conversation(conv)
        return conv.meta["db_id"]

    def list_conversations(self, search: str = "") -> list[ConversationSummary]:
        """Newest first, pinned ones on top; search matches titles and message text."""
        q = "SELECT id, title, updated, pinned FROM conversations c WHERE deleted IS NULL"
        args: tuple = ()
        if search.strip():
            q += (" AND (title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m WHERE "
                  "m.conversation_id = c.id AND m.text LIKE ? ESCAPE '\\'))")
            pat = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            args = (pat, pat)
        q += " ORDER BY pinned DESC, updated DESC"
        with self._lock:
            return [ConversationSummary(r[0], r[1], r[2], bool(r[3])) for r in self.db.execute(q, args)]

    def rename(self, cid: int, title: str) -> None:
        with self._tx():
            self.db.execute("UPDATE conversations SET title=? WHERE id=?", (title, cid))

    def pin(self, cid: int, pinned: bool = True) -> None:
        with self._tx():
            self.db.execute("UPDATE conversations SET pinned=? WHERE id=?", (int(pinned), cid))

    def delete(self, cid: int) -> None:
        """Soft delete: the rows stay until purge; `undelete` brings it back."""
        with self._tx():
            self.db.execute("UPDATE conversations SET deleted=? WHERE id=?", (time.time(), cid))

    def undelete(self, cid: int) -> None:
        with self._tx():
            self.db.execute("UPDATE conversations SET deleted=NULL WHERE id=?", (cid,))

    # -- messages ----------------------------------------------------------------------------------------
    def add_message(self, conv: Conversation, msg: Message) -> int:
        """Insert a message (committed before this returns) and record which versions are shown."""
        cid = self._cid(conv)
        parent_id = msg.parent.meta.get("db_id") if msg.parent is not None and msg.parent.role != "root" else None
        position = msg.parent.children.index(msg) if msg.parent is not None else 0
        with self._tx():
            cur = self.db.execute(
                "INSERT INTO messages (conversation_id, parent_id, position, role, text, meta, record, created, "
                "active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (cid, parent_id, position, msg.role, msg.text, meta_json(msg.meta), record_json(msg), time.time(),
                 msg.active),
            )
            msg.meta["db_id"] = cur.lastrowid
            self._save_active(conv, msg.parent)
            self.db.execute("UPDATE conversations SET updated=?, title=? WHERE id=?", (time.time(), conv.title, cid))
        return msg.meta["db_id"]

    def update_message(self, msg: Message, conv: Conversation | None = None, text: str | None = None,
                       with_record: bool = True) -> None:
        """Rewrite a message's text and meta, and its record unless told not to (a streaming reply's
        batch writes its text; its record, which only grows, is written when it ends). `text`: the
        text as it was when the write was asked for (a writer thread's snapshot)."""
        mid = msg.meta.get("db_id")
        if mid is None:
            raise StoreError("the message was never stored")
        text = msg.text if text is None else text
        with self._tx():
            if with_record:
                self.db.execute("UPDATE messages SET text=?, meta=?, record=? WHERE id=?",
                                (text, meta_json(msg.meta), record_json(msg), mid))
            else:
                self.db.execute("UPDATE messages SET text=?, meta=? WHERE id=?", (text, meta_json(msg.meta), mid))
            if conv is not None:
                self.db.execute("UPDATE conversations SET updated=? WHERE id=?", (time.time(), self._cid(conv)))

    def save_active(self, conv: Conversation, parent: Message | None) -> None:
        """Record which version of parent's children is shown."""
        with self._tx():
            self._save_active(conv, parent)

    def _save_active(self, conv: Conversation, parent: Message | None) -> None:
        if parent is None or parent.role == "root":
            self.db.execute("UPDATE conversations SET root_active=? WHERE id=?", (conv.root.active, self._cid(conv)))
        elif parent.meta.get("db_id") is not None:
            self.db.execute("UPDATE messages SET active=? WHERE id=?", (parent.active, parent.meta["db_id"]))

    def load(self, cid: int) -> Conversation:
        """The whole tree of a conversation. A row that cannot be read is quarantined with the replies
        under it (they would be orphans) and reported once."""
        with self._lock:
            row = self.db.execute(
                "SELECT title, system_prompt, root_active, params, model_path FROM conversations WHERE id=?", (cid,)
            ).fetchone()
            if row is None:
                raise StoreError(f"conversation {cid} does not exist")
            rows = self.db.execute(
                "SELECT id, parent_id, position, role, text, meta, active, record FROM messages "
                "WHERE conversation_id=? ORDER BY parent_id IS NOT NULL, parent_id, position, id", (cid,)
            ).fetchall()
        conv = Conversation(system_prompt=row[1], title=row[0])
        conv.meta.update(db_id=cid, params=_loads(row[3], {}), model_path=row[4])
        nodes: dict[int, Message] = {}
        bad: dict[int, tuple[tuple, str]] = {}  # row id → (row, why); a parent before its replies
        for mid, parent_id, _pos, role, text, meta_json_, active, record_json_ in rows:
            raw = (mid, parent_id, role, text, meta_json_, record_json_)
            if parent_id is not None and parent_id in bad:
                bad[mid] = (raw, f"a reply under message {_root_of(bad, parent_id)}")
                continue
            try:
                if role not in ROLES:
                    raise ValueError(f"unknown role {role!r}")
                try:
                    meta = json.loads(meta_json_) if meta_json_ else {}
                except ValueError as e:
                    raise ValueError(f"unreadable meta: {e}") from e
                if not isinstance(meta, dict):
                    raise ValueError("unreadable meta: not an object")
                try:
                    record = ReplyRecord.from_dict(json.loads(record_json_)) if record_json_ else None
                except ValueError as e:
                    raise ValueError(f"unreadable record: {e}") from e
                parent = conv.root if parent_id is None else nodes.get(parent_id)
                if parent is None:
                    raise ValueError("its parent message is missing")
            except ValueError as e:
                bad[mid] = (raw, str(e))
                continue
            meta["db_id"] = mid
            m = Message(role=role, text=text or "", parent=parent, meta=meta, active=active, record=record)
            parent.children.append(m)
            nodes[mid] = m
        for node in [conv.root, *nodes.values()]:
            want = row[2] if node is conv.root else node.active
            node.active = min(max(want, 0), max(len(node.children) - 1, 0))
        if bad:
            self._quarantine(bad)
        return conv

    def _quarantine(self, bad: dict[int, tuple[tuple, str]]) -> None:
        """Move unreadable rows and the replies under them to `quarantine` (one transaction: the
        whole subtree goes, or, on a read-only database, nothing), and report each damaged row once,
        with how many replies went with it."""
        try:
            with self._tx():
                for (mid, parent_id, role, text, meta_json_, record_json_), reason in bad.values():
                    self.db.execute(
                        "INSERT INTO quarantine (source_table, source_id, row_json, reason, at) VALUES (?, ?, ?, ?, ?)",
                        ("messages", mid, json.dumps({"id": mid, "parent_id": parent_id, "role": role, "text": text,
                                                      "meta": meta_json_, "record": record_json_}), reason,
                         time.time()),
                    )
                ids = list(bad)
                self.db.execute(f"DELETE FROM messages WHERE id IN ({','.join('?' * len(ids))})", ids)
        except StoreError:
            pass  # a read-only database: report, change nothing
        for mid, (raw, reason) in bad.items():
            if raw[1] is not None and raw[1] in bad:
                continue  # a reply under a damaged row: counted with it
            under = sum(1 for other in bad if other != mid and _root_of(bad, other) == mid)
            self.problems.append(f"message {mid}: {reason}" + (f" (set aside with the {under} "
                                                                 f"repl{'y' if under == 1 else 'ies'} under it)"
                                                                 if under else ""))

    # -- export / import --------------------------------------------------------------------------------------
    def export_json(self, cid: int) -> dict[str, Any]:
        conv = self.load(cid)
        return conversation_to_dict(conv)

    def export_all(self) -> dict[str, Any]:
        """Every conversation (not the deleted ones) in one versioned document."""
        return {"format": "playground-conversations", "version": FORMAT_VERSION,
                "conversations": [self.export_json(s.id) for s in self.list_conversations()]}

    def import_json(self, data: dict[str, Any]) -> int:
        """Import one exported conversation, or all of an export of everything; returns the
        (last) new conversation's id."""
        if isinstance(data, dict) and data.get("format") == "playground-conversations":
            ids = [self.import_json(c) for c in data.get("conversations", [])]
            if not ids:
                raise StoreError("the export holds no conversations")
            return ids[-1]
        conv = conversation_from_dict(data)
        cid = self.create_conversation(conv)
        stack = list(conv.root.children)
        while stack:
            m = stack.pop(0)
            self.add_message(conv, m)
            stack.extend(m.children)
        self.update_conversation(conv)
        return cid


def _root_of(bad: dict[int, tuple[tuple, str]], mid: int) -> int:
    """The damaged row at the top of mid's quarantined subtree."""
    while True:
        parent = bad[mid][0][1]
        if parent is None or parent not in bad:
            return mid
        mid = parent


def _loads(s: str, default):
    try:
        return json.loads(s)
    except (TypeError, ValueError):
        return default
