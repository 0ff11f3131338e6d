"""What collecting per-token introspection costs the decode loop (target: under 5%).

    .venv/bin/python benchmarks/bench_events.py

Alternates generation with full token events (top-10 alternatives before and after the sampler,
what each stage removed, entropy) and with the sampler alone, on SmolLM2; medians of 4.
"""

from __future__ import annotations

import statistics

import torch

import playground.engine.generate as G
import playground.sampling as S
from playground.loading import load_model
from playground.loading.discovery import default_model
from playground.sampling import SamplingParams


def main() -> None:
    torch.set_num_threads(2)
    lm = load_model(default_model(), device="cpu", dtype="auto")
    lm.tokenizer.eos_ids = []
    ids = lm.tokenizer.encode_chat([{"role": "user", "content": "Write a story."}])
    full_sample = S.sample

    def bare_sample(logits, history, p, gen=None, track=False, top_n=10):
        return full_sample(logits, history, p, gen, track=False, top_n=0)

    def run(sampler, top_n):
        G.sample = sampler
        params = SamplingParams(temperature=0.7, max_tokens=100, seed=1)
        return list(G.generate(lm.model, lm.tokenizer, ids, params, top_n=top_n))[-1].decode_tok_s

    full, bare = [], []
    for _ in range(4):
        full.append(run(full_sample, 10))
        bare.append(run(bare_sample, 0))
    G.sample = full_sample
    f, b = statistics.median(full), statistics.median(bare)
    print(f"decode with token events {f:.1f} tok/s, without {b:.1f} tok/s: events cost {100 * (1 - f / b):.1f}% "
          "(target < 5%)")


if __name__ == "__main__":
    main()
