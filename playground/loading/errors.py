"""Typed errors for everything that can be wrong with a model file or folder.

Each message is written for the user who picked the file: what is wrong, and where it helps,
what to do instead.
"""

from __future__ import annotations


class ModelLoadError(Exception):
    """A model file or folder could not be loaded."""


class GGUFError(ModelLoadError):
    """A GGUF file is malformed, truncated or uses something we do not support."""


class SafetensorsError(ModelLoadError):
    """A safetensors file's header does not describe its contents honestly."""


class UnsupportedArchitectureError(ModelLoadError):
    """The model's architecture is not one Playground can run."""


class UnsafeFormatError(ModelLoadError):
    """The file is a pickle (.bin/.pt/.pth/.ckpt): loading it could run arbitrary code."""


class MissingFileError(ModelLoadError):
    """A file the format needs (tokenizer.json, config.json, weights) is absent."""
