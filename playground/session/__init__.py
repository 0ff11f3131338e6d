"""The chat session: a conversation's request lifecycle, without Qt and without torch.

The window (through a thin Qt adapter over the engine worker), the terminal chat (synchronously),
and later the HTTP server and the lessons all drive one `ChatSession`. It talks to a model only
through a `Backend` (backend.py): the local engine is the first one; a remote OpenAI-compatible
endpoint can be another.
"""

from .backend import Backend, GenerationRequest, ModelIdentity, ReplySink
from .chat import ChatSession
from .compare import Comparison, first_divergence
from .history import History, HistoryError
from .hooks import Hook
from .replay import ReplayResult

__all__ = ["Backend", "ChatSession", "Comparison", "GenerationRequest", "History", "HistoryError", "Hook", "ModelIdentity",
           "ReplayResult", "ReplySink", "first_divergence"]
