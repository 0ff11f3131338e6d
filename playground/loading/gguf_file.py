"""A strict reader for GGUF files (llama.cpp's model format), versions 2 and 3.

Every count, length and offset is checked against the bytes that are really there before
anything is read or allocated, so a truncated or hostile file is rejected at once with a
`GGUFError` that says what is wrong, never a crash, a hang or a huge allocation. The file is
memory-mapped; tensors are views into it until someone dequantizes them.

Layout (little-endian): magic "GGUF", u32 version, u64 tensor count, u64 key/value count,
the key/value pairs, the tensor infos (name, dims, type, offset), padding to the alignment,
then the tensor data.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
from gguf.quants import dequantize

from .errors import GGUFError

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
MAX_DIMS = 4

# value types of the key/value section: (struct code, size)
_SCALARS = {
    0: ("B", 1), 1: ("b", 1), 2: ("H", 2), 3: ("h", 2), 4: ("I", 4), 5: ("i", 4),
    6: ("f", 4), 7: ("?", 1), 10: ("Q", 8), 11: ("q", 8), 12: ("d", 8),
}
_NP_SCALARS = {0: "<u1", 1: "<i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4", 7: "?", 10: "<u8", 11: "<i8", 12: "<f8"}
_STRING, _ARRAY = 8, 9
_U64 = struct.Struct("<Q")

_PLAIN_DTYPES = {
    GGMLQuantizationType.F32: np.float32, GGMLQuantizationType.F16: np.float16,
    GGMLQuantizationType.F64: np.float64, GGMLQuantizationType.I8: np.int8,
    GGMLQuantizationType.I16: np.int16, GGMLQuantizationType.I32: np.int32,
    GGMLQuantizationType.I64: np.int64,
}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]  # numpy order: outermost first (GGUF stores innermost first)
    type: GGMLQuantizationType
    offset: int  # absolute offset in the file
    nbytes: int

    @property
    def n_elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


class _Cursor:
    """Reads from a buffer, refusing to go past its end."""

    def __init__(self, buf, size: int):
        self.buf, self.size, self.pos = buf, size, 0

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise GGUFError(
                f"the file is truncated or corrupt: {what} needs {n} bytes at offset {self.pos}, "
                f"but the file has {self.size} bytes"
            )

    def scalar(self, code: str, size: int, what: str):
        self.need(size, what)
        (v,) = struct.unpack_from("<" + code, self.buf, self.pos)
        self.pos += size
        return v

    def u32(self, what: str) -> int:
        return self.scalar("I", 4, what)

    def u64(self, what: str) -> int:
        return self.scalar("Q", 8, what)

    def string(self, what: str) -> str:
        n = self.u64(f"the length of {what}")
        self.need(n, f"{what} ({n} bytes)")
        raw = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("utf-8", errors="replace")

    def strings(self, count: int, what: str) -> list[str]:
        """count strings in a row (a vocabulary: ~50k-250k of them): string() in one tight loop, with
        the same checks and messages, their text built only on failure (SmolLM2's header: 86 -> 40 ms)."""
        buf, size, pos, out = self.buf, self.size, self.pos, []
        unpack, add = _U64.unpack_from, out.append
        for i in range(count):
            if pos + 8 > size:
                self.pos = pos
                self.need(8, f"the length of element {i} of {what}")
            (n,) = unpack(buf, pos)
            pos += 8
            if pos + n > size:
                self.pos = pos
                self.need(n, f"element {i} of {what} ({n} bytes)")
            raw = bytes(buf[pos : pos + n])
            pos += n
            try:
                add(raw.decode("utf-8"))
            except UnicodeDecodeError:
                add(raw.decode("utf-8", errors="replace"))
        self.pos = pos
        return out

    def value(self, vtype: int, what: str, depth: int = 0) -> Any:
        if vtype in _SCALARS:
            code, size = _SCALARS[vtype]
            return self.scalar(code, size, what)
        if vtype == _STRING:
            return self.string(what)
        if vtype == _ARRAY:
            if depth > 2:
                raise GGUFError(f"{what}: arrays nested too deeply")
            etype = self.u32(f"the element type of {what}")
            count = self.u64(f"the length of {what}")
            if etype in _SCALARS:
                size = _SCALARS[etype][1]
                self.need(count * size, f"{what} ({count} elements)")
                arr = np.frombuffer(self.buf, dtype=_NP_SCALARS[etype], count=count, offset=self.pos)
                self.pos += count * size
                return arr.copy()
            if etype == _STRING:
                # each string takes at least its 8-byte length
                self.need(count * 8, f"{what} ({count} strings)")
                return self.strings(count, what)
            if etype == _ARRAY:
                self.need(count * 12, f"{what} ({count} arrays)")
                return [self.value(_ARRAY, f"element {i} of {what}", depth + 1) for i in range(count)]
            raise GGUFError(f"{what}: unknown array element type {etype}")
        raise GGUFError(f"{what}: unknown value type {vtype}")


class GGUFFile:
    """The metadata and tensor table of a GGUF file, with its data memory-mapped."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            size = self.path.stat().st_size
        except OSError as e:
            raise GGUFError(f"cannot read {self.path}: {e.strerror}") from e
        if size < 24:
            raise GGUFError(f"{self.path.name} is too short to be a GGUF file ({size} bytes)")
        with open(self.path, "rb") as f:
            self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self.size = size
        try:
            self._parse()
        except GGUFError:
            self.close()
            raise

    def close(self) -> None:
        # numpy views may still point into the map; closing then would raise BufferError
        try:
            self._mm.close()
        except BufferError:
            pass

    def _parse(self) -> None:
        c = _Cursor(self._mm, self.size)
        c.need(4, "the magic number")
        magic = bytes(self._mm[0:4])
        if magic != MAGIC:
            raise GGUFError(f"{self.path.name} is not a GGUF file (it starts with {magic!r}, not b'GGUF')")
        c.pos = 4
        self.version = c.u32("the version")
        if self.version not in SUPPORTED_VERSIONS:
            raise GGUFError(
                f"GGUF version {self.version} is not supported (supported: {SUPPORTED_VERSIONS}); "
                "re-convert the model with a current llama.cpp"
            )
        n_tensors = c.u64("the tensor count")
        n_kv = c.u64("the key/value count")
        # every key/value takes at least 8 (key length) + 4 (type) + 1 bytes; every tensor info 8+4+8+4+8
        if n_kv * 13 > self.size - c.pos:
            raise GGUFError(f"the header claims {n_kv} metadata entries, more than a {self.size}-byte file can hold; the file is truncated or corrupt")
        if n_tensors * 32 > self.size - c.pos:
            raise GGUFError(f"the header claims {n_tensors} tensors, more than a {self.size}-byte file can hold; the file is truncated or corrupt")

        self.metadata: dict[str, Any] = {}
        for i in range(n_kv):
            key = c.string(f"metadata key {i}")
            vtype = c.u32(f"the type of {key!r}")
            if key in self.metadata:
                raise GGUFError(f"metadata key {key!r} appears twice")
            self.metadata[key] = c.value(vtype, f"metadata {key!r}")

        alignment = self.metadata.get("general.alignment", 32)
        if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
            raise GGUFError(f"general.alignment must be a power of two, got {alignment!r}")

        infos = []
        names = set()
        for i in range(n_tensors):
            name = c.string(f"the name of tensor {i}")
            if name in names:
                raise GGUFError(f"tensor {name!r} appears twice")
            names.add(name)
            n_dims = c.u32(f"the dimension count of {name!r}")
            if not 1 <= n_dims <= MAX_DIMS:
                raise GGUFError(f"tensor {name!r} has {n_dims} dimensions (1 to {MAX_DIMS} allowed)")
            dims = [c.u64(f"dimension {d} of {name!r}") for d in range(n_dims)]
            raw_type = c.u32(f"the type of {name!r}")
            offset = c.u64(f"the offset of {name!r}")
            try:
                ttype = GGMLQuantizationType(raw_type)
                block, type_size = GGML_QUANT_SIZES[ttype]
            except (ValueError, KeyError):
                raise GGUFError(f"tensor {name!r} has unknown type {raw_type}; this file needs a newer Playground") from None
            if any(d == 0 for d in dims) or any(d > self.size * 256 for d in dims):
                raise GGUFError(f"tensor {name!r} has impossible dimensions {dims}")
            if dims[0] % block:
                raise GGUFError(f"tensor {name!r}: row length {dims[0]} is not a multiple of the {ttype.name} block size {block}")
            n = int(np.prod(dims, dtype=object))
            nbytes = n // block * type_size
            infos.append((name, tuple(reversed(dims)), ttype, offset, nbytes))

        data_start = (c.pos + alignment - 1) // alignment * alignment
        self.data_offset = data_start
        self.tensors: dict[str, TensorInfo] = {}
        for name, shape, ttype, offset, nbytes in infos:
            if offset % alignment:
                raise GGUFError(f"tensor {name!r}: data offset {offset} is not aligned to {alignment}")
            absolute = data_start + offset
            if absolute + nbytes > self.size:
                raise GGUFError(
                    f"tensor {name!r}: its data ({nbytes} bytes at offset {absolute}) lies past the end "
                    f"of the file ({self.size} bytes); the file is truncated"
                )
            self.tensors[name] = TensorInfo(name, shape, ttype, absolute, nbytes)

    def release(self, prefix: str) -> None:
        """Drop the file pages of tensors named prefix* from memory once they are converted
        (they are re-read from disk if touched again), so a load never holds the file twice."""
        if not hasattr(mmap, "MADV_DONTNEED"):
            return
        page = mmap.PAGESIZE
        for t in self.tensors.values():
            if t.name.startswith(prefix):
                start = t.offset // page * page
                try:
                    self._mm.madvise(mmap.MADV_DONTNEED, start, t.offset + t.nbytes - start)
                except (OSError, ValueError):
                    return

    # -- access -----------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)

    def raw(self, name: str) -> np.ndarray:
        """The tensor's bytes as stored: (rows..., bytes per row) uint8, a view into the file."""
        t = self.tensors[name]
        block, type_size = GGML_QUANT_SIZES[t.type]
        shape = (*t.shape[:-1], t.shape[-1] // block * type_size)
        return np.frombuffer(self._mm, dtype=np.uint8, count=t.nbytes, offset=t.offset).reshape(shape)

    def array(self, name: str) -> np.ndarray:
        """The tensor as float32 (dequantized if it is quantized), shaped as numpy sees it."""
        t = self.tensors[name]
        if t.type in _PLAIN_DTYPES:
            arr = np.frombuffer(self._mm, dtype=_PLAIN_DTYPES[t.type], count=t.n_elements, offset=t.offset)
            return arr.reshape(t.shape).astype(np.float32)
        if t.type == GGMLQuantizationType.BF16:
            u16 = np.frombuffer(self._mm, dtype=np.uint16, count=t.n_elements, offset=t.offset)
            return (u16.astype(np.uint32) << 16).view(np.float32).reshape(t.shape)
        try:
            return dequantize(self.raw(name), t.type).reshape(t.shape)
        except NotImplementedError:
            raise GGUFError(f"tensor {name!r}: dequantizing {t.type.name} is not supported") from None
