"""Conversation history in SQLite: never lost, never half-written (stdlib only).

- WAL journal with `synchronous=FULL`: a committed write survives a crash or power loss.
- One row per message; a conversation is a tree (parent_id, sibling position, active child).
- The user's message is committed before generation starts; a streaming reply is rewritten in
  batches (the caller decides how often, e.g. every 250 ms), so a crash loses at most a batch.
- Schema changes are named migrations (`m001_…`), applied once and recorded.
- A row that cannot be read (bad JSON, unknown role) is moved to `quarantine` and reported;
  it never stops the rest of the history from loading.
- Deletion is soft (undo restores it); a reply streaming into a deleted conversation keeps
  writing safely.
- Two windows or two app instances may share a database: SQLite serialises the writes
  (busy timeout), and no write replaces another's rows.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..conversation import Conversation, Message

ROLES = {"user", "assistant"}
FORMAT_VERSION = 1  # of exported JSON


class StoreError(Exception):
    """A write or read of the history failed (disk full, read-only folder, locked database)."""


def _run(db: sqlite3.Connection, script: str) -> None:
    """Run statements one by one (executescript would commit the migration's transaction)."""
    for stmt in script.split(";"):
        if stmt.strip():
            db.execute(stmt)


def m001_initial(db: sqlite3.Connection) -> None:
    _run(
        db,
        """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            system_prompt TEXT NOT NULL DEFAULT '',
            created REAL NOT NULL,
            updated REAL NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0,
            deleted REAL
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id),
            parent_id INTEGER REFERENCES messages(id),
            position INTEGER NOT NULL DEFAULT 0,
            role TEXT NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            meta TEXT NOT NULL DEFAULT '{}',
            created REAL NOT NULL
        );
        CREATE INDEX messages_by_conversation ON messages(conversation_id);
        """
    )


def m002_branches_and_settings(db: sqlite3.Connection) -> None:
    """Which version of each message is shown, the conversation's sampling parameters and model."""
    _run(
        db,
        """
        ALTER TABLE messages ADD COLUMN active INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE conversations ADD COLUMN root_active INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE conversations ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE conversations ADD COLUMN model_path TEXT NOT NULL DEFAULT '';
        CREATE TABLE quarantine (
            id INTEGER PRIMARY KEY,
            source_table TEXT NOT NULL,
            source_id INTEGER,
            row_json TEXT NOT NULL,
            reason TEXT NOT NULL,
            at REAL NOT NULL
        );
        """
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [m001_initial, m002_branches_and_settings]


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
                "INSERT INTO messages (conversation_id, parent_id, position, role, text, meta, created, active) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (cid, parent_id, position, msg.role, msg.text, _meta_json(msg.meta), time.time(), msg.active),
            )
            msg.meta["db_id"] = cur.lastrowid
            self._save_active(conv, msg.parent)
            self.db.execute("UPDATE conversations SET updated=?, title=? WHERE id=?", (time.time(), conv.title, cid))
        return msg.meta["db_id"]

    def update_message(self, msg: Message, conv: Conversation | None = None) -> None:
        """Rewrite a message's text and meta (a streaming reply's batch, or its final state)."""
        mid = msg.meta.get("db_id")
        if mid is None:
            raise StoreError("the message was never stored")
        with self._tx():
            self.db.execute("UPDATE messages SET text=?, meta=?, active=? WHERE id=?",
                            (msg.text, _meta_json(msg.meta), msg.active, mid))
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
        """The whole tree of a conversation. Unreadable rows are quarantined and reported."""
        with self._lock:
            row = self.db.execute(
                "SELECT title, system_prompt, root_active, params, model_path FROM conversations WHERE id=?", (cid,)
            ).fetchone()
            if row is None:
                raise StoreError(f"conversation {cid} does not exist")
            rows = self.db.execute(
                "SELECT id, parent_id, position, role, text, meta, active FROM messages "
                "WHERE conversation_id=? ORDER BY parent_id IS NOT NULL, parent_id, position, id", (cid,)
            ).fetchall()
        conv = Conversation(system_prompt=row[1], title=row[0])
        conv.meta.update(db_id=cid, params=_loads(row[3], {}), model_path=row[4])
        nodes: dict[int, Message] = {}
        bad: list[tuple[tuple, str]] = []
        for mid, parent_id, _pos, role, text, meta_json, active in rows:
            if role not in ROLES:
                bad.append(((mid, parent_id, role, text, meta_json), f"unknown role {role!r}"))
                continue
            try:
                meta = json.loads(meta_json) if meta_json else {}
                if not isinstance(meta, dict):
                    raise ValueError("meta is not an object")
            except ValueError as e:
                bad.append(((mid, parent_id, role, text, meta_json), f"unreadable meta: {e}"))
                continue
            parent = conv.root if parent_id is None else nodes.get(parent_id)
            if parent is None:
                bad.append(((mid, parent_id, role, text, meta_json), "its parent message is missing"))
                continue
            meta["db_id"] = mid
            m = Message(role=role, text=text or "", parent=parent, meta=meta, active=active)
            parent.children.append(m)
            nodes[mid] = m
        for node in [conv.root, *nodes.values()]:
            want = row[2] if node is conv.root else node.active
            node.active = min(max(want, 0), max(len(node.children) - 1, 0))
        if bad:
            self._quarantine(bad)
        return conv

    def _quarantine(self, bad) -> None:
        try:
            with self._tx():
                for (mid, parent_id, role, text, meta_json), reason in bad:
                    self.db.execute(
                        "INSERT INTO quarantine (source_table, source_id, row_json, reason, at) VALUES (?, ?, ?, ?, ?)",
                        ("messages", mid, json.dumps({"id": mid, "parent_id": parent_id, "role": role, "text": text,
                                                      "meta": meta_json}), reason, time.time()),
                    )
                    # children of a quarantined row would be orphans: they follow it
                    self.db.execute("DELETE FROM messages WHERE id=?", (mid,))
        except StoreError:
            pass  # a read-only database: report, change nothing
        self.problems += [f"message {row[0]}: {reason}" for row, reason in bad]

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


def _meta_json(meta: dict) -> str:
    """Meta as stored: keys starting with '_' are in-memory only, the row id is the row's own."""
    return json.dumps({k: v for k, v in meta.items() if k != "db_id" and not k.startswith("_")}, default=_jsonable)


def _jsonable(o):
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if hasattr(o, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(o)
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


def _loads(s: str, default):
    try:
        return json.loads(s)
    except (TypeError, ValueError):
        return default


def conversation_to_dict(conv: Conversation) -> dict[str, Any]:
    def node(m: Message) -> dict[str, Any]:
        return {"role": m.role, "text": m.text, "active": m.active,
                "meta": json.loads(_meta_json(m.meta)), "children": [node(c) for c in m.children]}

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
        m = Message(role=d["role"], text=str(d.get("text", "")), parent=parent, meta=dict(d.get("meta") or {}))
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
