"""The C allocator's settings for the prompt path (glibc on Linux only; elsewhere nothing changes).

A prefill makes many short-lived temporaries of a few megabytes (each layer's activations for
hundreds of tokens). glibc serves blocks over its mmap threshold (128 KiB at first, raised as it
sees them freed) straight from the OS and gives them back on free, so the first passes fault every
page of every temporary in again: on 2 cores a 512-token SmolLM2 prefill ran at ~1,100 tok/s for its
first two passes and ~1,600 once the threshold had grown. Fixing the threshold at 32 MiB (the most
glibc's own adjustment reaches) and keeping up to 64 MiB of freed memory at the top of the heap
makes every pass as fast as a warm one, for a few MiB of peak memory (bench_generate: +3-7 MB).
"""

from __future__ import annotations

import ctypes
import platform
import sys

M_TRIM_THRESHOLD = -1  # glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20

_applied: bool | None = None


def keep_prefill_memory() -> bool:
    """Apply the settings above once per process; True where they are in effect (glibc)."""
    global _applied
    if _applied is None:
        _applied = False
        if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
            try:
                mallopt = ctypes.CDLL(None).mallopt
            except (OSError, AttributeError):
                return False
            mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
            _applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _applied
