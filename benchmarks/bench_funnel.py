"""The sampler funnel's 50 alternatives: recorded for every token, or recomputed for the token a
student clicks? Measures both sides on SmolLM2.

    flock -x /tmp/cpu.lock .venv/bin/python benchmarks/bench_funnel.py

Prints: the saved record's size per token with the top 10 (what is stored) and with the top 50
(the alternative), both with the per-stage counts; the generation speed with 10 and 50 tracked
alternatives (the sampler's top-N costs time on every token); and the time to recompute one
token's funnel (a forward pass over the prefix) at several context lengths.
"""

from __future__ import annotations

import json
import statistics
import sys
import time


def main() -> None:
    import torch

    from playground.engine.funnel import token_funnel
    from playground.engine.generate import TokenEvent, generate
    from playground.loading import load_model
    from playground.loading.discovery import default_model
    from playground.sampling_params import SamplingParams

    torch.set_num_threads(2)
    lm = load_model(default_model(), device="cpu")
    text = open(__file__).read() * 10
    prompt = lm.tokenizer.encode_chat([{"role": "user", "content": "Tell me a long story about a dragon."}])
    p = SamplingParams(temperature=0.8, seed=1, max_tokens=100)
    sizes, speeds = {}, {}
    for n in (10, 50):
        t = time.perf_counter()
        events = [e for e in generate(lm.model, lm.tokenizer, prompt, p, top_n=n) if isinstance(e, TokenEvent)]
        speeds[n] = len(events) / (time.perf_counter() - t)
        sizes[n] = statistics.mean(len(json.dumps(e.to_dict(with_params=False))) for e in events)
    print(f"saved record per token: top 10 {sizes[10]:.0f} bytes, top 50 {sizes[50]:.0f} bytes "
          f"({sizes[50] / sizes[10]:.1f}×; a 500-token reply: {sizes[10] * 500 / 1024:.0f} vs "
          f"{sizes[50] * 500 / 1024:.0f} KiB)")
    print(f"generation with 10 tracked alternatives {speeds[10]:.1f} tok/s, with 50 {speeds[50]:.1f} tok/s "
          f"(ratio {speeds[50] / speeds[10]:.2f})")
    ids = lm.tokenizer.encode(text)
    for n in [int(a) for a in sys.argv[1:]] or (100, 300, 1000):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            f = token_funnel(lm.model, ids[:n], p, chosen=ids[n])
            times.append(time.perf_counter() - t)
        print(f"funnel recomputed at {n} tokens of context: {statistics.median(times) * 1000:.0f} ms "
              f"({len(f.alternatives)} alternatives, stages {f.survivors})", flush=True)


if __name__ == "__main__":
    main()
