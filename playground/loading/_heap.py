"""Give freed heap memory back to the system while a model converts.

glibc keeps memory freed by the many mid-sized temporaries of a weight conversion on its heap,
which would add about 100 MB to the peak of a SmolLM2 load. Trimming after each layer returns
it at once. (A fixed mmap threshold would do it too, but makes every large activation an mmap
and page-faults a prefill to half its speed.)
"""

from __future__ import annotations

import ctypes
import sys


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


_LIBC = _libc()


def trim() -> None:
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
