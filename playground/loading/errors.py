"""Typed errors for everything that can be wrong with a model file or folder.

Each message is written for the user who picked the file: what is wrong, and where it helps,
what to do instead. Every failure while loading is one of these (the loader wraps what the
`tokenizers`, `safetensors`, `jinja2` and torch libraries raise, keeping their message), so the
command line prints one line and the window shows one dialog, never a traceback.
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


class ConfigError(ModelLoadError):
    """A configuration value (GGUF metadata or config.json) is missing, mistyped or out of range."""


class TensorError(ModelLoadError):
    """A tensor the architecture needs is missing, has the wrong shape, or a type we cannot use."""


class TokenizerError(ModelLoadError):
    """The vocabulary, merges, special tokens, tokenizer files or chat template are inconsistent."""


class NotEnoughMemoryError(ModelLoadError):
    """The model and its KV cache need more memory than this computer (or process) has available."""


def is_library_error(e: BaseException) -> bool:
    """Whether e is an error a parsing library raised on bad input: any Exception, or the
    `PanicException` that pyo3 raises when Rust code in `tokenizers` or `safetensors` panics
    (e.g. on a tokenizer.json whose continuing_subword_prefix is a number). That one derives from
    BaseException, so `except Exception` lets it through as a traceback."""
    return isinstance(e, Exception) or type(e).__name__ == "PanicException"
