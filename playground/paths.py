"""Where Playground keeps its files. One environment variable, PLAYGROUND_HOME, moves all of
them (tests point it at a temporary folder; portable installs at a folder beside the app)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def home() -> Path:
    env = os.environ.get("PLAYGROUND_HOME")
    if env:
        return Path(env).expanduser()
    try:
        from platformdirs import user_data_dir

        return Path(user_data_dir("playground", appauthor=False))
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        return Path.home() / ".local" / "share" / "playground"


def models_dir() -> Path:
    return home() / "models"


def resources_dir() -> Path:
    """The data Playground ships (corpus, QA set, teaching checkpoint): `resources/` beside the
    package in a checkout or an editable install; <prefix>/share/playground/resources when
    installed from a wheel."""
    here = Path(__file__).resolve().parents[1] / "resources"
    if here.is_dir():
        return here
    import site
    import sys

    for base in (sys.prefix, getattr(site, "USER_BASE", None) or ""):
        p = Path(base) / "share" / "playground" / "resources"
        if p.is_dir():
            return p
    return here


def same_path(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name the same file or folder (after links and ".."); False if either
    cannot be resolved."""
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False
