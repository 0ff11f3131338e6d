"""The model file's SHA-256 is read once per file version, then answered from the cache."""

from __future__ import annotations

import hashlib
import os

import pytest

from playground.engine import file_hash


def test_the_hash_is_computed_once_and_recomputed_when_the_file_changes(tmp_path, monkeypatch):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"weights" * 1000)
    assert file_hash.cached_sha256(model) == hashlib.sha256(b"weights" * 1000).hexdigest()
    assert file_hash.cache_file().is_file()
    reads = []
    real = file_hash.file_sha256
    monkeypatch.setattr(file_hash, "file_sha256", lambda p: reads.append(p) or real(p))
    assert file_hash.cached_sha256(model) == hashlib.sha256(b"weights" * 1000).hexdigest()
    assert reads == []  # answered from the cache: no byte read
    model.write_bytes(b"other weights")
    st = model.stat()
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))
    assert file_hash.cached_sha256(model) == hashlib.sha256(b"other weights").hexdigest() and len(reads) == 1


def test_a_folder_model_and_a_damaged_cache(tmp_path):
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"abc")
    want = hashlib.sha256(b"abc{}").hexdigest()
    file_hash.cache_file().parent.mkdir(parents=True, exist_ok=True)
    file_hash.cache_file().write_text("not json")
    assert file_hash.cached_sha256(folder) == want == file_hash.cached_sha256(folder)
    with pytest.raises(OSError):
        file_hash.cached_sha256(tmp_path / "missing.gguf")
