"""Remote model sources: an OpenAI-compatible endpoint (vLLM, llama.cpp's server, Ollama, another
Playground) as a session `Backend`, streamed with async httpx on the running loop. Imports no
model code and no Qt."""

from .backend import RemoteBackend, RemoteModelInfo, RemoteVocab, remote_model_info, request_body
from .client import RemoteError, list_models, normalize_url

__all__ = ["RemoteBackend", "RemoteError", "RemoteModelInfo", "RemoteVocab", "list_models", "normalize_url",
           "remote_model_info", "request_body"]
