"""Native CPU kernels (kernels.c), built on first use with the machine's C compiler.

The fast path decodes with them when they build: one call from Python per token runs the whole
forward pass over the file's quantized weights (see kernels.c). Where there is no compiler (or
PLAYGROUND_NATIVE=0), everything still works through PyTorch's kernels, only slower.

The library is cached per source, compiler flags and machine in the user cache folder (or
PLAYGROUND_CACHE), written atomically, so two processes building at once do not collide.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("kernels.c")
ABI = 7
Q4, Q8 = 0, 1

# How each build is compiled: "native" is what the app uses; the others are for the tests, which
# check every build this CPU can run against the portable one.
VARIANTS = {
    "native": ["-march=native"],
    "scalar": ["-march=native", "-DPG_SCALAR"],  # the portable C, no intrinsics
    "avx2": ["-mavx2", "-mfma", "-mf16c"],  # what most laptops without AVX-512 get
}
_NEEDS = {"avx2": ("avx2", "fma")}

_lock = threading.Lock()
_libs: dict[str, ctypes.CDLL | None] = {}
_why: dict[str, str] = {}


class Mat(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int32), ("rows", ctypes.c_int32), ("cols", ctypes.c_int32),
                ("d", ctypes.c_void_p), ("m", ctypes.c_void_p), ("qs", ctypes.c_void_p), ("bias", ctypes.c_void_p)]


class Layer(ctypes.Structure):
    _fields_ = [("attn_norm", ctypes.c_void_p), ("ffn_norm", ctypes.c_void_p),
                ("qkv", Mat), ("wo", Mat), ("gate_up", Mat), ("down", Mat)]


class Desc(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in ("dim", "n_layers", "n_heads", "n_kv", "head_dim", "hidden", "vocab",
                                              "max_tokens", "max_seq")] + [
        ("eps", ctypes.c_float), ("rope_scale", ctypes.c_float), ("inv_freq", ctypes.c_void_p),
        ("out_norm", ctypes.c_void_p), ("embed", Mat), ("output", Mat), ("layers", ctypes.POINTER(Layer))]


def cache_dir() -> Path:
    env = os.environ.get("PLAYGROUND_CACHE")
    if env:
        return Path(env).expanduser() / "native"
    try:
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("playground", appauthor=False)) / "native"
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        return Path.home() / ".cache" / "playground" / "native"


def _compiler() -> str | None:
    for cc in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc):
            return cc
    return None


def _build(cc: str, variant: str) -> Path:
    flags = ["-O3", "-fPIC", "-shared", "-pthread", "-std=c11"]
    arch = VARIANTS[variant]
    src = SOURCE.read_bytes()
    key = hashlib.sha256(src + " ".join([cc, *flags, *arch, platform.machine(), platform.processor(),
                                          _cpu_flags()]).encode()).hexdigest()[:16]
    out = cache_dir() / f"pgkernels-{variant}-{key}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".so.tmp")
    os.close(fd)
    try:
        errors = ""
        # some compilers (or CPUs) refuse -march=native: then the compiler's defaults
        for extra in ([arch, [a for a in arch if a != "-march=native"]] if variant != "avx2" else [arch]):
            proc = subprocess.run([cc, *flags, *extra, "-o", tmp, str(SOURCE), "-lm"], capture_output=True,
                                  text=True, timeout=120)
            if proc.returncode == 0:
                os.replace(tmp, out)
                return out
            errors = proc.stderr.strip()
        raise OSError(f"{cc} could not build the kernels: {errors[-400:]}")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return line
    except OSError:
        pass
    return ""


def library(variant: str = "native") -> ctypes.CDLL | None:
    """The kernels, built if need be; None (with `why_unavailable()`) where they cannot be."""
    with _lock:
        if variant in _libs:
            return _libs[variant]
        lib, why = None, ""
        setting = os.environ.get("PLAYGROUND_NATIVE", "1").strip().lower()
        missing = [f for f in _NEEDS.get(variant, ()) if f not in _cpu_flags().split()]
        if setting in ("0", "off", "no", "false"):
            why = "turned off by PLAYGROUND_NATIVE"
        elif sys.platform == "win32":
            why = "not built on Windows yet"
        elif missing:
            why = f"this CPU lacks {', '.join(missing)}"
        elif (cc := _compiler()) is None:
            why = "no C compiler found (set CC, or install gcc or clang)"
        else:
            try:
                lib = _bind(ctypes.CDLL(str(_build(cc, "scalar" if setting == "scalar" else variant))))
            except (OSError, subprocess.SubprocessError, AttributeError) as e:
                why = str(e)
        if lib is None:
            log.info("native kernels (%s) unavailable: %s; using PyTorch's", variant, why)
        _libs[variant], _why[variant] = lib, why
        return lib


def why_unavailable(variant: str = "native") -> str:
    return _why.get(variant, "")


def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    if lib.pg_abi() != ABI:
        raise OSError("stale native kernels (ABI mismatch)")
    lib.pg_simd.restype = ctypes.c_char_p
    lib.pg_int8.restype = ctypes.c_char_p
    lib.pg_set_threads.argtypes = [ctypes.c_int]
    lib.pg_gemm.argtypes = [ctypes.POINTER(Mat), ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.pg_dequant_bf16.argtypes = [ctypes.POINTER(Mat), ctypes.c_void_p]
    lib.pg_model_new.argtypes = [ctypes.POINTER(Desc)]
    lib.pg_model_new.restype = ctypes.c_void_p
    lib.pg_model_free.argtypes = [ctypes.c_void_p]
    lib.pg_forward.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                               ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    import torch

    lib.pg_set_threads(max(1, torch.get_num_threads()))
    return lib
