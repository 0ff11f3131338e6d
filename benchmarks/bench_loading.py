"""SmolLM2 from a Hugging Face bfloat16 folder against llama.cpp on the same weights.

Makes the variants (benchmarks/smollm2_variants.py: the folder, BF16/F16 GGUFs of its weights,
llama.cpp's Q8_0 of them), then runs benchmarks/bench_generate.py for each pairing:
- ours "exact" on the folder (bfloat16 weights as stored) vs llama.cpp on the BF16 and F16 GGUFs;
- ours "auto" on the folder (quantized at load to Q8_0 blocks) vs llama.cpp on its Q8_0 GGUF.
Each table is one run of bench_generate (engines alternating in fresh processes, medians).

    flock -x /tmp/cpu.lock .venv/bin/python benchmarks/bench_loading.py --reps 5
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--only", choices=["exact", "auto"], help="run one pairing")
    a = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from smollm2_variants import make_all

    v = make_all()
    pairings = [("auto", v["q8_0.gguf"]), ("exact", v["bf16.gguf"]), ("exact", v["f16.gguf"])]
    for dtype, peer in pairings:
        if a.only and dtype != a.only:
            continue
        print(f"\n## ours {dtype} on {v['hf-bf16'].name} vs llama.cpp on {peer.name}", flush=True)
        subprocess.run([sys.executable, str(HERE / "bench_generate.py"), "--model", str(peer), "--ours",
                        str(v["hf-bf16"]), "--dtype", dtype, "--engines", "ours,llama.cpp", "--reps", str(a.reps)],
                       check=False)


if __name__ == "__main__":
    main()
