"""Schema changes of the history database, as named functions applied once each, in order, and
recorded in the `migrations` table (`Store._migrate`). Never edit one that has shipped: add the
next. Each runs inside the transaction that records it, so a failed migration changes nothing."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from ..records import LEGACY_META_KEYS, ReplyRecord


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


def m003_reply_records(db: sqlite3.Connection) -> None:
    """A reply's typed record gets its own column: the token record, seed, hashes and stats move
    out of the untyped `meta` dict into a versioned `ReplyRecord` (`records.py`). A row whose meta
    cannot be read is left as it was: loading quarantines it and says so."""
    db.execute("ALTER TABLE messages ADD COLUMN record TEXT")
    rows = db.execute("SELECT id, meta FROM messages WHERE role='assistant'").fetchall()
    for mid, meta_json in rows:
        try:
            meta = json.loads(meta_json) if meta_json else {}
            if not isinstance(meta, dict):
                continue
            rec = ReplyRecord.from_legacy_meta(meta)
        except (ValueError, TypeError, KeyError):
            continue
        if rec is None:
            continue
        rest = {k: v for k, v in meta.items() if k not in LEGACY_META_KEYS}
        db.execute("UPDATE messages SET record=?, meta=? WHERE id=?",
                   (json.dumps(rec.to_dict()), json.dumps(rest), mid))


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [m001_initial, m002_branches_and_settings,
                                                          m003_reply_records]
