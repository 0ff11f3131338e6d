"""How much memory a load will take, checked against what is available, before allocating any.

`plan()` adds up what a load will hold at its peak: the converted weights, the largest
temporary of the conversion, the KV cache for the context the caller plans to use, and the
working buffers of a forward pass. `check()` compares that with the memory this computer has
available (and, where the process runs under an address-space or data limit, the room left
under it; the file's own pages count there, since it is memory-mapped) and refuses with a
`NotEnoughMemoryError` that says what the model needs and what there is.

Unix-only modules (`resource`) are imported inside the functions that use them.
"""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass

from ..model.config import ModelConfig
from .errors import NotEnoughMemoryError

PLANNED_CONTEXT = 8192  # the KV cache a load is checked for when the caller names no context
SLACK = 64 << 20  # allocator rounding, thread stacks, small tables
MiB = 1 << 20


@dataclass(frozen=True)
class MemoryPlan:
    weights: int  # bytes the loaded weights keep
    transient: int  # the largest temporary while converting them
    kv_cache: int  # the KV cache for `context` tokens
    activations: int  # a forward pass's working buffers
    context: int
    mapped: int = 0  # bytes of the file mapped into the address space (not anonymous memory)

    @property
    def total(self) -> int:
        return self.weights + self.transient + self.kv_cache + self.activations + SLACK

    def describe(self) -> str:
        return (f"{_gb(self.total)} (weights {_gb(self.weights)}, KV cache {_gb(self.kv_cache)} for "
                f"{self.context:,} tokens, working memory {_gb(self.transient + self.activations + SLACK)})")


def _gb(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / MiB:.0f} MB"


def kv_cache_bytes(cfg: ModelConfig, context: int, elem: int = 2) -> int:
    return 2 * cfg.n_layers * cfg.n_kv_heads * cfg.head_dim * context * elem


def activation_bytes(cfg: ModelConfig, context: int, elem: int = 4, rows: int = 512) -> int:
    """A prefill chunk's widest buffers, attention scores for one head, and a row of logits."""
    width = cfg.dim * 3 + cfg.hidden_dim * 3 + cfg.n_heads * cfg.head_dim + 2 * cfg.n_kv_heads * cfg.head_dim
    return rows * width * elem + rows * context * 4 + 64 * context * 4 + 4 * cfg.vocab_size * 4


def plan(cfg: ModelConfig, weights: int, transient: int, context: int | None = None, kv_elem: int = 2,
         mapped: int = 0) -> MemoryPlan:
    ctx = min(cfg.max_seq_len, context or PLANNED_CONTEXT)
    return MemoryPlan(weights, transient, kv_cache_bytes(cfg, ctx, kv_elem), activation_bytes(cfg, ctx), ctx, mapped)


def check(p: MemoryPlan, name: str) -> None:
    """Refuse the load if it cannot fit."""
    avail = available_bytes()
    if avail is not None and p.total > avail:
        raise NotEnoughMemoryError(
            f"{name} needs about {p.describe()}; this computer has {_gb(avail)} available. "
            "Close other programs, or choose a smaller or more quantized model.")
    room = address_space_room()
    if room is not None and p.total + p.mapped > room:
        raise NotEnoughMemoryError(
            f"{name} needs about {p.describe()} plus {_gb(p.mapped)} of mapped file; this process may use "
            f"only {_gb(room)} more (its memory limit).")


# -------------------------------------------------------------------------------- what there is
def available_bytes() -> int | None:
    """Physical memory available to a new allocation without swapping (None where unknown)."""
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            return None
    if sys.platform == "win32":
        return _windows_available()
    try:  # macOS and other Unixes: free pages, else all of physical memory
        pages = os.sysconf("SC_AVPHYS_PAGES") if "SC_AVPHYS_PAGES" in os.sysconf_names else os.sysconf("SC_PHYS_PAGES")
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _windows_available() -> int | None:
    class MemoryStatusEx(ctypes.Structure):
        _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                    ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                    ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                    ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                    ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

    st = MemoryStatusEx()
    st.dwLength = ctypes.sizeof(st)
    try:
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(st)):  # type: ignore[attr-defined]
            return int(st.ullAvailPhys)
    except (AttributeError, OSError):
        pass
    return None


def address_space_room() -> int | None:
    """Room left under this process's address-space or data limit (RLIMIT_AS / RLIMIT_DATA), if it has one."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    rooms = []
    for limit in ("RLIMIT_AS", "RLIMIT_DATA"):
        if not hasattr(resource, limit):
            continue
        soft, _ = resource.getrlimit(getattr(resource, limit))
        if soft == resource.RLIM_INFINITY:
            continue
        used = _vm_used(data=limit == "RLIMIT_DATA")
        if used is not None:
            rooms.append(max(0, soft - used))
    return min(rooms) if rooms else None


def _vm_used(data: bool) -> int | None:
    """This process's mapped address space (or its private writable part, which RLIMIT_DATA counts)."""
    try:
        with open("/proc/self/status") as f:
            want = "VmData:" if data else "VmSize:"
            for line in f:
                if line.startswith(want):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


# -------------------------------------------------------------------------------- per format
_Q4_KEPT = {"Q4_0", "Q4_1"}  # the fast path keeps these as 4-bit groups of 32 (20 bytes each)
# kept exactly as the file stores them (GGUF's block sizes: Q4_K 144 bytes per 256 weights, BF16 2 a
# weight, …); every other matrix type becomes Q8_0 groups (34 bytes per 32)
RAW_BLOCKS = {"Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K", "Q3_K", "Q2_K", "IQ4_NL", "IQ4_XS", "F16", "BF16"}
NATIVE_SCORES_PER_POSITION = 64 * 4  # the native kernels reserve (not touch) a score row per thread


def matrix_bytes(kind: str, n: int) -> int:
    """Bytes the fast path keeps for a matrix of n weights stored as `kind`."""
    if kind in _Q4_KEPT:
        return n // 32 * 20
    if kind in RAW_BLOCKS:
        from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

        block, size = GGML_QUANT_SIZES[GGMLQuantizationType[kind]]
        return n // block * size
    return n // 32 * 34


def fast_weight_bytes(shapes_types: dict[str, tuple[tuple[int, ...], str]]) -> tuple[int, int]:
    """(bytes kept, largest temporary) when the fast path loads these tensors: matrices kept as
    stored (4-bit groups, K-quant blocks, F16/BF16 rows) or converted to 8-bit groups of 32 (fused
    q/k/v and gate/up are concatenated once: a second copy), vectors to float32 plus a bfloat16
    copy. A float32 matrix is requantized 4,096 rows at a time."""
    kept, biggest, chunk = 0, 0, 0
    for shape, kind in shapes_types.values():
        n = 1
        for d in shape:
            n *= d
        if len(shape) == 1:
            kept += 6 * n
            continue
        b = matrix_bytes(kind, n)
        kept += b
        biggest = max(biggest, b)
        if kind not in _Q4_KEPT | RAW_BLOCKS and kind != "Q8_0":
            chunk = max(chunk, min(shape[0], 4096) * (n // shape[0]) * 4 * 4)
    return kept, 3 * biggest + chunk


def float_weight_bytes(shapes: dict[str, tuple[int, ...]], elem: int) -> tuple[int, int]:
    """(bytes kept, largest temporary) for the reference model in a float type of `elem` bytes:
    each tensor is dequantized to float32, then copied in."""
    kept, biggest = 0, 0
    for shape in shapes.values():
        n = 1
        for d in shape:
            n *= d
        kept += n * elem
        biggest = max(biggest, n * 4)
    return kept, 3 * biggest
