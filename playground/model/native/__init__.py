"""Native CPU kernels: one library (pgkernels), built with the package, holding every
instruction-set variant of its architecture (AVX-512, AVX2 and portable on x86-64; NEON with
and without dot products, and portable on ARM64), bound here with ctypes.

The fast path decodes with them: one call from Python per token runs the whole forward pass
over the file's quantized weights (engine.c). The library picks the best variant the CPU runs
(dispatch.c); PLAYGROUND_NATIVE=avx512|avx2|neon|portable forces one (for tests and bug reports),
PLAYGROUND_NATIVE=0 turns them off. Where the library is missing (a source checkout that was
never installed) or the forced variant cannot run, everything still works through PyTorch's
kernels, only slower, and `why_unavailable()` says why.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import platform
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)

ABI = 10
Q4, Q8 = 0, 1  # the split kinds; GGUF's own blocks: blocklinear.RAW_KINDS
VARIANTS = ("avx512", "avx2", "neon", "portable")  # every variant there is, best first
_ALIASES = {"scalar": "portable"}
_OFF = ("0", "off", "no", "false")
_BEST = ("", "1", "on", "yes", "true", "auto", "native")
LIBRARY_NAMES = ("pgkernels.so", "pgkernels.dll", "pgkernels.dylib")

_lock = threading.Lock()
_dll: ctypes.CDLL | None = None
_dll_why = ""
_libs: dict[str, Kernels | None] = {}
_why: dict[str, str] = {}


class Mat(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int32), ("rows", ctypes.c_int32), ("cols", ctypes.c_int32),
                ("d", ctypes.c_void_p), ("m", ctypes.c_void_p), ("qs", ctypes.c_void_p), ("bias", ctypes.c_void_p),
                ("precise", ctypes.c_int32)]


class Layer(ctypes.Structure):  # engine.c's pg_layer
    _fields_ = [(n, ctypes.c_void_p) for n in ("attn_norm", "ffn_norm", "post_attn_norm", "post_ffn_norm", "q_norm",
                                               "k_norm", "inv_freq")] + [
        ("rope_dims", ctypes.c_int32), ("window", ctypes.c_int32), ("rope_scale", ctypes.c_float),
        ("n_qkv", ctypes.c_int32), ("n_gate_up", ctypes.c_int32),
        ("qkv", Mat * 3), ("wo", Mat), ("gate_up", Mat * 2), ("down", Mat)]


class Desc(ctypes.Structure):  # engine.c's pg_desc
    _fields_ = [(n, ctypes.c_int32) for n in ("dim", "n_layers", "n_heads", "n_kv", "head_dim", "hidden", "vocab",
                                              "max_tokens", "max_seq", "gelu")] + [
        (n, ctypes.c_float) for n in ("eps", "embed_scale", "attn_scale", "attn_softcap", "final_softcap")] + [
        ("out_norm", ctypes.c_void_p), ("embed", Mat), ("output", Mat), ("layers", ctypes.POINTER(Layer))]


class Kernels:
    """One variant of the kernels: the library's entry points with that variant's table bound, so
    callers write `k.pg_gemm(mat, x, T, y)` whatever the variant."""

    def __init__(self, dll: ctypes.CDLL, table: int, path: Path):
        self.dll, self.table, self.path = dll, table, path
        self.variant = dll.pg_kernels_name(table).decode()
        self.int8 = dll.pg_kernels_int8(table).decode()
        self.pg_set_threads = dll.pg_set_threads
        self.pg_forward = dll.pg_forward
        self.pg_model_free = dll.pg_model_free
        self.pg_gemm = functools.partial(dll.pg_gemm, table)
        self.pg_dequant_bf16 = functools.partial(dll.pg_dequant_bf16, table)
        self.pg_dequant_rows = functools.partial(dll.pg_dequant_rows, table)
        self.pg_model_new = functools.partial(dll.pg_model_new, table)
        self.pg_attention = functools.partial(dll.pg_attention, table)

    def pg_simd(self) -> bytes:
        return self.variant.encode()

    def pg_int8(self) -> bytes:
        return self.int8.encode()

    def describe(self) -> str:
        """e.g. "avx512/vnni": the variant, and how it sums one-token products."""
        return f"{self.variant}/{self.int8}"

    def __repr__(self) -> str:
        return f"<native kernels {self.describe()} from {self.path}>"


def setting() -> str:
    """PLAYGROUND_NATIVE, normalized: "off", "native" (the best this CPU runs) or a variant's name."""
    value = os.environ.get("PLAYGROUND_NATIVE", "").strip().lower()
    if value in _OFF:
        return "off"
    if value in _BEST:
        return "native"
    return _ALIASES.get(value, value)


def library_path() -> Path | None:
    """Where the built library is: lib/ beside this file (an install from a wheel), or in a
    site-packages folder an editable install put it in."""
    here = Path(__file__).resolve().parent / "lib"
    rel = Path("playground", "model", "native", "lib")
    for folder in [here] + [Path(p) / rel for p in sys.path if p]:
        for name in LIBRARY_NAMES:
            if (folder / name).is_file():
                return folder / name
    return None


def _open() -> ctypes.CDLL | None:
    global _dll, _dll_why
    if _dll is not None or _dll_why:
        return _dll
    path = library_path()
    if path is None:
        _dll_why = ("the kernels library is not built (install the package: pip install -e . "
                    "or make setup builds it)")
        return None
    try:
        dll = ctypes.CDLL(str(path))
        if dll.pg_abi() != ABI:
            raise OSError(f"stale kernels library {path} (ABI {dll.pg_abi()}, need {ABI}): rebuild with make setup")
    except (OSError, AttributeError) as e:
        _dll_why = str(e)
        return None
    _warn_if_stale(path)
    _declare(dll)
    import torch

    global _pool_size, _pool_maker
    _pool_size = dll.pg_set_threads(max(1, torch.get_num_threads()))
    _pool_maker = threading.get_native_id()
    _dll = dll
    return dll


_pool_size = 1  # the kernels' threads (the caller counts as one)
_pool_maker: int | None = None  # the native id of the thread that started the pool's workers


def adopt_threads() -> None:
    """Start the kernels' worker threads again from the calling thread unless it started them.
    A thread inherits its scheduling priority from the thread that starts it (the nice value on
    Linux), so the engine's worker, which runs below the GUI's priority, calls this to bring the
    pool's workers down with it; otherwise they keep the priority of whichever thread first
    loaded the library. Cheap when nothing changes; waits for a forward pass in progress."""
    global _pool_maker
    with _lock:
        dll = _dll  # not loaded yet: whichever thread loads it starts the workers
        me = threading.get_native_id()
        if dll is None or _pool_maker == me:
            return
        if _pool_size > 1:
            dll.pg_set_threads(1)  # ends the workers
            dll.pg_set_threads(_pool_size)  # and starts them from this thread
        _pool_maker = me


def _warn_if_stale(path: Path) -> None:
    """In a checkout, kernels built before their sources were last edited are worth a warning."""
    sources = list(Path(__file__).parent.glob("*.[ch]"))
    if sources and max(s.stat().st_mtime for s in sources) > path.stat().st_mtime + 1:
        log.warning("the native kernels (%s) are older than their C sources: run `make setup` to rebuild them", path)


def _declare(dll: ctypes.CDLL) -> None:
    P, Int = ctypes.c_void_p, ctypes.c_int
    dll.pg_kernels_for.argtypes = [ctypes.c_char_p]
    dll.pg_kernels_for.restype = P
    dll.pg_variant_status.argtypes = [ctypes.c_char_p]
    dll.pg_built_variants.restype = ctypes.c_char_p
    dll.pg_kernels_name.argtypes = [P]
    dll.pg_kernels_name.restype = ctypes.c_char_p
    dll.pg_kernels_int8.argtypes = [P]
    dll.pg_kernels_int8.restype = ctypes.c_char_p
    dll.pg_set_threads.argtypes = [Int]
    dll.pg_gemm.argtypes = [P, ctypes.POINTER(Mat), P, Int, P]
    dll.pg_dequant_bf16.argtypes = [P, ctypes.POINTER(Mat), P]
    dll.pg_dequant_rows.argtypes = [P, ctypes.POINTER(Mat), P, Int, P]
    dll.pg_model_new.argtypes = [P, ctypes.POINTER(Desc)]
    dll.pg_model_new.restype = P
    dll.pg_model_free.argtypes = [P]
    dll.pg_forward.argtypes = [P, P, Int, Int, P, P, Int, P, Int]
    I64, F = ctypes.c_int64, ctypes.c_float
    dll.pg_attention.argtypes = [P, P, Int, Int, Int, I64, I64, P, P, Int, I64, Int, Int, F, F, P]


def library(variant: str = "native") -> Kernels | None:
    """The kernels: "native" is what the app uses (the best variant this CPU runs, or the one
    PLAYGROUND_NATIVE forces); a variant's name asks for that one (tests compare them). None,
    with `why_unavailable(variant)`, where it cannot run."""
    with _lock:
        if variant in _libs:
            return _libs[variant]
        lib, why = None, ""
        mode = setting()
        name = _ALIASES.get(variant, variant)
        if name == "native":
            name = mode
        if mode == "off":
            why = "turned off by PLAYGROUND_NATIVE"
        elif name != "native" and name not in VARIANTS:
            why = f"unknown kernels variant {name!r} (PLAYGROUND_NATIVE takes {', '.join(VARIANTS)} or 0)"
        elif (dll := _open()) is None:
            why = _dll_why
        else:
            table = dll.pg_kernels_for(name.encode())
            if table:
                lib = Kernels(dll, table, library_path())
            elif dll.pg_variant_status(name.encode()) == 1:
                why = f"no {name} kernels on {platform.machine() or 'this architecture'}"
            else:
                why = f"this CPU lacks the {name} instructions"
        if lib is None:
            log.info("native kernels (%s) unavailable: %s; using PyTorch's", variant, why)
        _libs[variant], _why[variant] = lib, why
        return lib


def why_unavailable(variant: str = "native") -> str:
    return _why.get(variant, "")


def runnable() -> list[str]:
    """The variants this CPU runs, best first (none where the library is not built)."""
    dll = _open()
    if dll is None:
        return []
    built = dll.pg_built_variants().decode().split(",")
    return [v for v in built if dll.pg_variant_status(v.encode()) == 0]


def in_use(model) -> str:
    """Which kernels run `model`, for the status bar and --stats: "native avx512/vnni",
    "PyTorch kernels (why)", or "reference" for the float model."""
    if not hasattr(model, "native"):
        return "reference"
    k = model.native()
    if k is None:
        return f"PyTorch kernels ({why_unavailable() or 'native kernels off'})"
    return f"native {k[0].describe()}"
