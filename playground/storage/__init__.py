"""Conversation history (SQLite, stdlib only): store.py (the database), migrations.py (named
schema changes), exchange.py (JSON and Markdown export, import), writer.py (batched writes)."""

from .exchange import (
    StoreError,
    conversation_from_dict,
    conversation_to_dict,
    conversation_to_markdown,
    write_atomically,
)
from .store import Store
from .writer import BatchedWriter

__all__ = ["Store", "StoreError", "BatchedWriter", "conversation_to_dict", "conversation_from_dict",
           "conversation_to_markdown", "write_atomically"]
