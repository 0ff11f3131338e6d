"""The sampler's one look at the whole vocabulary: the k most likely tokens, the largest logit and
the sums that give every token's probability and the distribution's entropy.

Everything else the sampler does (its stages, the draw) runs on those k candidates, so this is the
only part whose cost grows with the vocabulary. With the native kernels' AVX-512 or AVX2 variant it
is one C call (model/native/sample.c: two passes, no allocation; 262,144 logits in ~0.06 ms where
PyTorch's max, exp, sums and top-k took ~0.5 ms and pushed the weights out of the cache); elsewhere
(ARM, the portable kernels, no library) the same numbers come from PyTorch.

The top k are ordered larger logit first and, between equal logits, smaller token id first, on
either path (torch.topk itself promises no order for ties).
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass

import torch

MAX_K = 1024  # sample.c's limit; a larger k takes the PyTorch path
NATIVE_COPIES = ("avx512", "avx2", "portable")  # sample.c's compiled copies (portable: scalar, for checks)
FAST_COPIES = ("avx512", "avx2")  # the copies faster than PyTorch's passes: the ones "auto" uses

_fns: dict[str, object] = {}


@dataclass
class VocabScan:
    logits: torch.Tensor  # as scanned: NaN made -inf and +inf made finite where there were any
    ids: list[int]  # the k most likely token ids (order above)
    vals: list[float]  # their logits
    max: float  # the largest logit
    z: float  # sum of exp(logit - max)
    zx: float  # sum of exp(logit - max) * (logit - max), over tokens of non-zero probability

    def prob(self, logit: float) -> float:
        """A token's probability under the whole distribution, from its logit."""
        if self.z <= 0.0 or logit == -math.inf:
            return 0.0 if self.z > 0.0 else math.nan
        return math.exp(logit - self.max) / self.z

    @property
    def entropy(self) -> float:
        """Of the whole distribution, in nats (0 when no token is possible)."""
        if self.z <= 0.0:
            return 0.0
        return max(math.log(self.z) - self.zx / self.z, 0.0)


def sanitize(logits: torch.Tensor) -> torch.Tensor:
    """NaN becomes -inf (never chosen), +inf the largest finite value (strongly preferred)."""
    if torch.isfinite(logits.sum()):  # a sum is finite only if every term is: one pass, no mask
        return logits
    return torch.nan_to_num(logits.float(), nan=-math.inf, posinf=torch.finfo(torch.float32).max / 2, neginf=-math.inf)


def scan(logits: torch.Tensor, k: int, copy: str = "auto") -> VocabScan:
    """The k most likely tokens and the distribution's sums, for a 1-D float logits tensor.
    `copy`: "auto" (native where it is faster, else PyTorch), "torch", or one of NATIVE_COPIES (tests
    check each against PyTorch; ValueError where that copy cannot run here)."""
    x = logits.float().contiguous()
    n = x.numel()
    k = max(0, min(k, n))
    fn = _native(copy) if k <= MAX_K and n > 0 else None
    if fn is None and copy not in ("auto", "torch"):
        raise ValueError(f"the {copy!r} copy of sample.c cannot run here (or k > {MAX_K}, or no logits)")
    if fn is not None:
        ids, vals, stats = (ctypes.c_int32 * max(k, 1))(), (ctypes.c_float * max(k, 1))(), (ctypes.c_double * 3)()
        rc = fn(x.data_ptr(), n, k, ids, vals, stats)
        if rc == 1:  # NaN or +inf among the logits
            x = sanitize(x).contiguous()
            rc = fn(x.data_ptr(), n, k, ids, vals, stats)
        if rc == 0:
            return VocabScan(x, list(ids)[:k], list(vals)[:k], stats[0], stats[1], stats[2])
    return _scan_torch(x, k)


def _scan_torch(x: torch.Tensor, k: int) -> VocabScan:
    x = sanitize(x)
    if x.numel() == 0:
        return VocabScan(x, [], [], -math.inf, 0.0, 0.0)
    m = float(x.max())
    ids: list[int] = []
    vals: list[float] = []
    if k:
        v, i = torch.topk(x, min(k + 1, x.numel()))  # one more: does the k-th tie with the next?
        if v.numel() > k and v[k] == v[k - 1]:  # which of the equal ones topk kept is arbitrary: the smallest ids
            kth = v[k - 1]
            above = (x > kth).nonzero().flatten()
            i = torch.cat([above, (x == kth).nonzero().flatten()[: k - above.numel()]])
            v = x[i]
        pairs = sorted(zip(i[:k].tolist(), v[:k].tolist()), key=lambda p: (-p[1], p[0]))
        ids, vals = [a for a, _ in pairs], [b for _, b in pairs]
    if m == -math.inf:  # no token possible
        return VocabScan(x, ids, vals, m, 0.0, 0.0)
    shifted = x - m
    e = shifted.exp()
    zx = torch.dot(e, shifted)
    if not torch.isfinite(zx):  # some logit is -inf: 0 · (-inf) is NaN, and those terms are 0
        zx = torch.dot(e, shifted.nan_to_num(neginf=0.0))
    return VocabScan(x, ids, vals, m, float(e.sum()), float(zx))


def _native(copy: str):
    """sample.c's entry point for `copy` ("auto": the kernels' own variant where it is a fast one),
    or None."""
    from .model import native

    if copy == "torch":
        return None
    if copy in _fns:
        return _fns[copy]
    if copy == "auto":
        lib = native.library()
        variant = lib.variant if lib is not None and lib.variant in FAST_COPIES else ""
        _fns["auto"] = _native(variant) if variant else None
        return _fns["auto"]
    if copy not in NATIVE_COPIES or (copy != "portable" and copy not in native.runnable()):
        return None
    fn = None
    lib = native.library(copy)
    dll = lib.dll if lib is not None else None
    if dll is not None and hasattr(dll, f"pg_logit_scan_{copy}"):
        fn = getattr(dll, f"pg_logit_scan_{copy}")
        fn.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32, ctypes.POINTER(ctypes.c_int32),
                       ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_double)]
        fn.restype = ctypes.c_int
    _fns[copy] = fn
    return fn
