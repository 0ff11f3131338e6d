"""The memory-bandwidth ceiling of one-token decoding on this machine, next to our kernels' rate.

Decoding one token reads every weight matrix once (the embedding only once where it is also the
output layer), so no engine decodes faster than (read bandwidth) / (weight bytes per token).
This measures, with the given threads:
- read bandwidth: PyTorch reducing a buffer at least as large as the model's weights (the fastest
  of three reductions, best of --reps passes each; the buffer is larger than any cache here);
- our one-token product over one matrix of the model's kind (F16/BF16 rows, or whatever the file
  stores) as large as all its weights: what the native kernel streams, without the engine;
and prints the ceiling in tokens per second for the model file given (default: SmolLM2's BF16 GGUF
from benchmarks/smollm2_variants.py), for comparison with bench_generate.py's decode rates.

    flock -x /tmp/cpu.lock .venv/bin/python benchmarks/bench_bandwidth.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import gguf
import numpy as np
import torch

HERE = Path(__file__).resolve().parent


def weight_bytes_per_token(path: Path) -> tuple[int, str]:
    """Bytes of the matrices one decoded token reads, and the file's main matrix type."""
    r = gguf.GGUFReader(str(path))
    mats = {t.name: t for t in r.tensors if len(t.shape) == 2}
    tied = "output.weight" not in mats
    total = sum(int(t.n_bytes) for name, t in mats.items() if tied or name != "token_embd.weight")
    if not tied:  # the embedding: one row per token
        e = mats["token_embd.weight"]
        total += int(e.n_bytes) // int(e.shape[1])
    kinds = [t.tensor_type.name for t in mats.values()]
    return total, max(set(kinds), key=kinds.count)


def best_of(fn, reps: int) -> float:
    fn()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="a GGUF (default: SmolLM2-135M's BF16 GGUF)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=15)
    a = ap.parse_args()
    if a.model is None:
        sys.path.insert(0, str(HERE))
        from smollm2_variants import make_all

        a.model = make_all(q8=False)["bf16.gguf"]
    torch.set_num_threads(a.threads)
    per_token, kind = weight_bytes_per_token(a.model)

    buf = torch.ones(max(per_token, 256 << 20) // 8, dtype=torch.int64)
    # the fastest of three reductions (they differ by up to 15% here: none is purely the memory)
    reads = {"sum int64": buf.sum, "amax int32": buf.view(torch.int32).amax, "sum float32": buf.view(torch.float32).sum}
    how, t_read = min(((name, best_of(fn, a.reps)) for name, fn in reads.items()), key=lambda p: p[1])
    read_gbs = buf.numel() * 8 / t_read / 1e9
    del buf

    from playground.model import native
    from playground.model.blocklinear import RAW_KINDS, BlockLinear

    lib = native.library()
    kern = "no native kernels"
    if lib is not None and kind in RAW_KINDS and kind in ("F16", "BF16"):
        lib.pg_set_threads(a.threads)
        cols = 576
        rows = per_token // 2 // cols
        rng = np.random.default_rng(0)
        raw = (rng.integers(0, 1 << 14, (rows, cols), dtype=np.uint16) | 0x3000).view(np.uint8)  # finite values
        layer = BlockLinear(kind, raw, cols)
        x = torch.randn(1, cols)
        t_k = best_of(lambda: layer(x), a.reps)
        kern = f"{rows * cols * 2 / t_k / 1e9:.1f} GB/s ({t_k * 1e3:.2f} ms a pass, {lib.describe()})"

    print(f"model: {a.model.name} ({kind}); {a.threads} threads; best of {a.reps}")
    print(f"| weight bytes per token | {per_token / 1e6:.1f} MB |")
    print(f"| read bandwidth (torch {how}, {t_read * 1e3:.2f} ms a pass) | {read_gbs:.1f} GB/s |")
    print(f"| decode ceiling = bandwidth / bytes per token | {read_gbs * 1e9 / per_token:.0f} tok/s |")
    print(f"| our one-token product over one {kind} matrix of that size | {kern} |")


if __name__ == "__main__":
    main()
