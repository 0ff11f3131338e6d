"""Model loading: one entry point, `load_model(path)`, for GGUF files, Hugging Face folders and
Playground's own checkpoints. Nothing here ever unpickles a file.

Importing this package is cheap and torch-free (the GUI imports `discovery` and `meta`); the
loader itself, which needs torch, is imported on first use of `load_model` and friends.
"""

from __future__ import annotations

from .errors import (
    GGUFError,
    MissingFileError,
    ModelLoadError,
    SafetensorsError,
    UnsafeFormatError,
    UnsupportedArchitectureError,
)

__all__ = [
    "LoadedModel", "load_model", "build_model", "pick_device", "PRECISIONS", "ModelLoadError", "GGUFError",
    "SafetensorsError", "UnsafeFormatError", "UnsupportedArchitectureError", "MissingFileError",
]
_LAZY = {"LoadedModel", "load_model", "build_model", "pick_device", "PRECISIONS"}


def __getattr__(name: str):
    if name in _LAZY:
        from . import api

        return getattr(api, name)
    raise AttributeError(name)
