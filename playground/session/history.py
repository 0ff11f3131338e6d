"""The history as the views see it: list and search conversations, rename, pin, delete and
undo, export (JSON, Markdown) and import. A thin face over `storage.Store`, so the window never
imports storage; failures come back as `HistoryError` (storage's StoreError)."""

from __future__ import annotations

import json
from collections.abc import Callable

from ..storage import Store, StoreError, conversation_to_markdown, write_atomically
from ..storage.store import ConversationSummary

HistoryError = StoreError


class History:
    def __init__(self, store: Store, write: Callable[..., object] | None = None,
                 settle: Callable[[], None] | None = None):
        self.store = store
        self._write = write or (lambda fn, *args: fn(*args))  # the session's reporting wrapper for writes
        self._settle = settle or (lambda: None)  # writes queued on the writer thread go first: a read sees them

    @property
    def problems(self) -> list[str]:
        """Damaged messages set aside so far (each reported once)."""
        return self.store.problems

    def list(self, search: str = "") -> list[ConversationSummary]:
        """Newest first, pinned on top (a reply still on the writer thread shows at its next write)."""
        return self.store.list_conversations(search)

    def pin(self, cid: int, pinned: bool) -> None:
        self._write(self.store.pin, cid, pinned)

    def undelete(self, cid: int) -> None:
        self._write(self.store.undelete, cid)

    def export(self, cid: int | None, path: str, kind: str = "json") -> None:
        """One conversation as JSON or Markdown, or all of them (cid None) as JSON, written
        atomically. Raises HistoryError."""
        self._settle()
        if cid is None:
            text = json.dumps(self.store.export_all(), indent=1, ensure_ascii=False)
        elif kind == "json":
            text = json.dumps(self.store.export_json(cid), indent=1, ensure_ascii=False)
        else:
            text = conversation_to_markdown(self.store.load(cid))
        write_atomically(path, text)

    def import_file(self, path: str) -> int:
        """Import an exported JSON file; returns the (last) new conversation's id. Raises
        HistoryError for a file that cannot be read or is not an export."""
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            raise HistoryError(f"{path}: {e}") from e
        return self.store.import_json(data)
