"""safetensors files: the header checked against the file, then the tensors memory-mapped.

The header is validated before anything else is believed: its length, every dtype and shape,
and that the byte ranges tile the data section exactly (no overlaps, gaps or ranges past the
end). Tensors are then views into a private (copy-on-write) mapping of the file, read only when
a model copies or converts them; `release()` drops the pages of tensors already converted, so a
load never holds the file and the converted weights at once.
"""

from __future__ import annotations

import json
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import SafetensorsError

_ST_DTYPES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
    "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8,
}
_TORCH = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}
MAX_HEADER = 100 * 1024 * 1024


@dataclass(frozen=True)
class STensor:
    """Where one tensor lies: its shape, dtype name, file, absolute offset and size in bytes."""

    shape: tuple[int, ...]
    dtype: str
    path: Path
    offset: int
    nbytes: int


class LazyTensor:
    """A tensor read only when the model copies it in (or the fast path converts it); names: the
    file's tensors it reads (whose pages can be released once it is converted)."""

    def __init__(self, shape: tuple[int, ...], make, names: tuple[str, ...] = ()):
        self.shape, self._make, self.names = tuple(shape), make, tuple(names)

    def __call__(self) -> torch.Tensor:
        return self._make()


def check_safetensors(path: Path) -> dict[str, Any]:
    """Validate a safetensors header against the file; return the header."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise SafetensorsError(f"{path.name} is too short to be a safetensors file")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER or n > size - 8:
            raise SafetensorsError(f"{path.name}: the header claims {n} bytes, but the file has only {size}")
        try:
            header = json.loads(fh.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SafetensorsError(f"{path.name}: the header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path.name}: the header is not a JSON object")
    data_size = size - 8 - n
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise SafetensorsError(f"{path.name}: tensor {name!r} has a malformed header entry") from None
        if not isinstance(dtype, str) or dtype not in _ST_DTYPES:
            raise SafetensorsError(f"{path.name}: tensor {name!r} has unknown dtype {dtype!r}")
        if not isinstance(shape, list) or len(shape) > 8:
            raise SafetensorsError(f"{path.name}: tensor {name!r} has the shape {shape!r}, not a list of sizes")
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape) or not (
            isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= data_size
        ):
            raise SafetensorsError(
                f"{path.name}: tensor {name!r} points outside the file (bytes {begin}..{end} of {data_size})"
            )
        expected = int(np.prod(shape, dtype=object)) * _ST_DTYPES[dtype]
        if end - begin != expected:
            raise SafetensorsError(
                f"{path.name}: tensor {name!r} of shape {shape} needs {expected} bytes, the header gives {end - begin}"
            )
        spans.append((begin, end, name))
    meta = header.get("__metadata__")
    if meta is not None and not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
        raise SafetensorsError(f"{path.name}: the header's __metadata__ is not a table of strings")
    spans.sort()
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            raise SafetensorsError(f"{path.name}: tensor {name!r} overlaps another or leaves a gap in the data")
        pos = end
    if pos != data_size:
        raise SafetensorsError(f"{path.name}: the data section has {data_size - pos} bytes no tensor accounts for")
    return header


def read_header_table(paths: list[Path]) -> dict[str, STensor]:
    """Every tensor in these files, each header validated."""
    table: dict[str, STensor] = {}
    for p in paths:
        header = check_safetensors(p)
        n = _header_len(p)
        for name, info in header.items():
            if name == "__metadata__":
                continue
            if name in table:
                raise SafetensorsError(f"the tensor {name!r} is in both {table[name].path.name} and {p.name}")
            begin, end = info["data_offsets"]
            table[name] = STensor(tuple(info["shape"]), info["dtype"], p, 8 + n + begin, end - begin)
    return table


def _header_len(p: Path) -> int:
    with open(p, "rb") as fh:
        return struct.unpack("<Q", fh.read(8))[0]


class MappedSafetensors:
    """Tensors of validated safetensors files as views into private mappings of them."""

    def __init__(self, table: dict[str, STensor]):
        self.table = table
        self._maps: dict[Path, mmap.mmap] = {}

    def _map(self, p: Path) -> mmap.mmap:
        if p not in self._maps:
            try:
                with open(p, "rb") as fh:
                    self._maps[p] = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_COPY)
            except (OSError, ValueError) as e:
                raise SafetensorsError(f"{p.name} could not be mapped: {e}") from e
        return self._maps[p]

    def get(self, name: str) -> torch.Tensor:
        t = self.table[name]
        if t.dtype not in _TORCH:
            raise SafetensorsError(f"{t.path.name}: the tensor {name!r} is {t.dtype}, not a float type")
        m = self._map(t.path)
        if t.offset + t.nbytes > len(m):
            raise SafetensorsError(f"{t.path.name}: the tensor {name!r} lies past the end of the file (it changed?)")
        n = int(np.prod(t.shape, dtype=np.int64))
        if n == 0:
            return torch.empty(t.shape, dtype=_TORCH[t.dtype])
        return torch.frombuffer(m, dtype=_TORCH[t.dtype], count=n, offset=t.offset).view(t.shape)

    def lazy(self, name: str) -> LazyTensor:
        return LazyTensor(self.table[name].shape, lambda: self.get(name), (name,))

    def release(self, names) -> None:
        """Drop the file pages of these tensors from memory (re-read from disk if touched again)."""
        if not hasattr(mmap, "MADV_DONTNEED"):
            return
        page = mmap.PAGESIZE
        for name in names:
            t = self.table[name]
            m = self._maps.get(t.path)
            if m is None or not t.nbytes:
                continue
            start = t.offset // page * page
            try:
                m.madvise(mmap.MADV_DONTNEED, start, t.offset + t.nbytes - start)
            except (OSError, ValueError):
                return

    def close(self) -> None:
        for m in self._maps.values():
            try:
                m.close()
            except BufferError:  # a tensor still views it; the map goes when that tensor does
                pass
        self._maps.clear()
