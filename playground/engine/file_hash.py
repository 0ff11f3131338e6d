"""The SHA-256 of a model file (or of a model folder's weights and config), computed once per
file version: a small JSON cache in the user's folder maps each path to its size, modification
time and hash, so loading the same model again costs a stat, not a read of hundreds of MB.

A reply records the hash, so a replay knows whether the model it runs is the one that wrote it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from ..paths import home

_lock = threading.Lock()


def model_files(path: str | Path) -> list[Path]:
    """The files whose bytes define a model: the file itself, or a folder's safetensors and config."""
    p = Path(path)
    return sorted(p.glob("*.safetensors")) + [p / "config.json"] if p.is_dir() else [p]


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Read every byte (see `cached_sha256` for the one to call)."""
    h = hashlib.sha256()
    for f in model_files(path):
        with open(f, "rb") as fh:
            while b := fh.read(chunk):
                h.update(b)
    return h.hexdigest()


def cache_file() -> Path:
    return home() / "model_hashes.json"


def _signature(path: Path) -> list[list]:
    out = []
    for f in model_files(path):
        st = f.stat()
        out.append([f.name, st.st_size, st.st_mtime_ns])
    return out


def cached_sha256(path: str | Path) -> str:
    """The model's SHA-256, from the cache when the files' sizes and modification times are the
    ones it was computed for, else computed now and remembered. Raises OSError for a missing file."""
    p = Path(path).resolve()
    sig = _signature(p)
    key = str(p)
    with _lock:
        cache = _read_cache()
        hit = cache.get(key)
        if isinstance(hit, dict) and hit.get("files") == sig and isinstance(hit.get("sha256"), str):
            return hit["sha256"]
    sha = file_sha256(p)
    with _lock:
        cache = _read_cache()
        cache[key] = {"files": sig, "sha256": sha}
        _write_cache(cache)
    return sha


def _read_cache() -> dict:
    try:
        data = json.loads(cache_file().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_cache(cache: dict) -> None:
    """Atomically (a temporary file renamed over); a cache that cannot be written is no error."""
    target = cache_file()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(cache), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
