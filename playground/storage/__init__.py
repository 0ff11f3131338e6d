"""Conversation history (SQLite, stdlib only). See store.py."""

from .store import (
    Store,
    StoreError,
    conversation_from_dict,
    conversation_to_dict,
    conversation_to_markdown,
    write_atomically,
)
from .writer import BatchedWriter

__all__ = ["Store", "StoreError", "BatchedWriter", "conversation_to_dict", "conversation_from_dict",
           "conversation_to_markdown", "write_atomically"]
