"""Speed and memory of Playground's engine next to llama.cpp and transformers, on the same GGUF.

Each measurement runs in a fresh subprocess (so load time and peak RSS are honest), engines
alternate within each repetition, and the table shows medians and our ratio to llama.cpp.

    .venv/bin/python benchmarks/bench_generate.py            # default model, 3 repetitions
    .venv/bin/python benchmarks/bench_generate.py --reps 5 --engines ours,llama.cpp
    .venv/bin/python benchmarks/bench_generate.py --engines ours,ours-pytorch-kernels,llama.cpp
    .venv/bin/python benchmarks/bench_generate.py --engines ours-avx512,ours-avx2,llama.cpp   # per kernels variant
    .venv/bin/python benchmarks/bench_generate.py --baseline /tmp/before --engines ours,ours-baseline,llama.cpp
    # ours on a Hugging Face folder (quantized at load, or --dtype exact), llama.cpp on a GGUF of the same weights:
    .venv/bin/python benchmarks/bench_generate.py --ours HF_FOLDER --dtype auto --model Q8_0.gguf --engines ours,llama.cpp
    .venv/bin/python benchmarks/bench_loading.py     # all of these on SmolLM2, made from the bundled file

llama.cpp comes from `pip install llama-cpp-python` (builds from source, ~5 min); transformers
from the test extras. Engines that are not installed are skipped with a note.

Pitfalls handled (see ../shared/PERF_NOTES.md): llama.cpp books prompt time only at
llama_synchronize; generate() reuses a cached prompt unless reset() is called first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROMPT_TOKENS = 512
DECODE_TOKENS = 128
CHAT = [{"role": "user", "content": "What is the capital of France?"}]
STORY = [{"role": "user", "content": "Write a long story about a dragon who learns to paint."}]
THREADS = int(os.environ.get("BENCH_THREADS", "2"))


def _rss_mb() -> float:
    """Peak resident memory of this process in MiB (resource on Unix, psutil elsewhere)."""
    try:
        import resource
    except ImportError:  # Windows
        import psutil

        info = psutil.Process().memory_info()
        return getattr(info, "peak_wset", info.rss) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _our_tokenizer(path):
    from playground.loading.gguf_loader import tokenizer_from_gguf

    return tokenizer_from_gguf(path)


def _long_ids(tok, n):
    text = open(__file__).read()
    ids = tok.encode(text * 4)
    return ids[:n]


# ---------------------------------------------------------------------------- engines
def run_ours(path, dtype="auto"):
    import torch

    torch.set_num_threads(THREADS)
    from playground.engine.generate import TokenEvent, generate
    from playground.loading import load_model
    from playground.sampling import SamplingParams

    path = Path(os.environ.get("BENCH_OURS") or path)
    dtype = os.environ.get("BENCH_DTYPE") or dtype
    t = time.perf_counter()
    lm = load_model(path, device="cpu", dtype=dtype)
    load = time.perf_counter() - t
    tok, model = lm.tokenizer, lm.model
    out = {"load_s": load, "weights": lm.weights, "weights_mb": lm.weights_bytes / 2**20}
    # time to first token on a short chat (prefill + sampling + event)
    chat = tok.encode_chat(CHAT)
    for _ in range(2):
        t = time.perf_counter()
        it = generate(model, tok, chat, SamplingParams(temperature=0, max_tokens=1))
        next(e for e in it if isinstance(e, TokenEvent))
        out["ttft_ms"] = (time.perf_counter() - t) * 1000
    # prompt processing
    ids = _long_ids(tok, PROMPT_TOKENS)
    with torch.inference_mode():
        for _ in range(2):
            model.setup_cache(PROMPT_TOKENS + 8)
            t = time.perf_counter()
            model(torch.tensor([ids]), start=0, use_cache=True, last_only=True)
            out["prompt_tok_s"] = PROMPT_TOKENS / (time.perf_counter() - t)
    # decode, greedy, ignoring EOS
    tok.eos_ids = []
    story = tok.encode_chat(STORY)
    times = []
    for _ in generate(model, tok, story, SamplingParams(temperature=0, max_tokens=DECODE_TOKENS)):
        times.append(time.perf_counter())
    out["decode_tok_s"] = (DECODE_TOKENS - 1) / (times[DECODE_TOKENS - 1] - times[0])
    out["peak_rss_mb"] = _rss_mb()
    return out


def run_llamacpp(path):
    import llama_cpp

    tok = _our_tokenizer(path)  # same ids for every engine
    t = time.perf_counter()
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=1024, n_threads=THREADS, n_batch=512, verbose=False)
    load = time.perf_counter() - t
    out = {"load_s": load}

    def first_token(ids):
        # Llama.eval alone crashes in 0.3.36 (no sampler set yet); generate() prefills then
        # samples, so the time to its first token is prefill plus one greedy sample.
        llm.reset()
        t = time.perf_counter()
        next(llm.generate(list(ids), top_k=1, temp=0.0, reset=True))
        return time.perf_counter() - t

    chat = tok.encode_chat(CHAT)
    for _ in range(2):
        out["ttft_ms"] = first_token(chat) * 1000
    ids = _long_ids(tok, PROMPT_TOKENS)
    for _ in range(2):
        out["prompt_tok_s"] = PROMPT_TOKENS / first_token(ids)
    llm.reset()
    story = tok.encode_chat(STORY)
    times = []
    for n, _ in enumerate(llm.generate(story, top_k=1, temp=0.0, reset=True)):
        times.append(time.perf_counter())
        if n + 1 == DECODE_TOKENS:
            break
    out["decode_tok_s"] = (DECODE_TOKENS - 1) / (times[-1] - times[0])
    out["peak_rss_mb"] = _rss_mb()
    return out


def run_transformers(path):
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(THREADS)
    tok = _our_tokenizer(path)
    t = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32).eval()
    load = time.perf_counter() - t
    out = {"load_s": load}
    chat = tok.encode_chat(CHAT)
    with torch.inference_mode():
        for _ in range(2):
            t = time.perf_counter()
            int(model(torch.tensor([chat])).logits[0, -1].argmax())
            out["ttft_ms"] = (time.perf_counter() - t) * 1000
        ids = _long_ids(tok, PROMPT_TOKENS)
        for _ in range(2):
            t = time.perf_counter()
            model(torch.tensor([ids]))
            out["prompt_tok_s"] = PROMPT_TOKENS / (time.perf_counter() - t)
        story = tok.encode_chat(STORY)
        res = model(torch.tensor([story]), use_cache=True)
        past, nxt = res.past_key_values, int(res.logits[0, -1].argmax())
        times = [time.perf_counter()]
        for _ in range(DECODE_TOKENS - 1):
            res = model(torch.tensor([[nxt]]), past_key_values=past, use_cache=True)
            past, nxt = res.past_key_values, int(res.logits[0, -1].argmax())
            times.append(time.perf_counter())
    out["decode_tok_s"] = (DECODE_TOKENS - 1) / (times[-1] - times[0])
    out["peak_rss_mb"] = _rss_mb()
    return out


def run_ours_torch(path):
    """Ours without the native kernels (as on a machine without a C compiler)."""
    os.environ["PLAYGROUND_NATIVE"] = "0"
    return run_ours(path)


def _variant(name):
    """Ours on one variant of the native kernels (PLAYGROUND_NATIVE forces it)."""
    def run(path):
        os.environ["PLAYGROUND_NATIVE"] = name
        from playground.model import native

        if native.library() is None:
            raise SystemExit(f"kernels {name}: {native.why_unavailable()}")
        return run_ours(path)
    return run


def run_ours_baseline(path):
    """Ours from an earlier checkout (--baseline DIR, passed as BENCH_BASELINE): its playground
    package instead of this one, to compare a change with what it replaced in the same run."""
    src = os.environ["BENCH_BASELINE"]
    sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__module__.startswith("_editable")]
    sys.path.insert(0, src)
    import playground

    assert playground.__file__.startswith(src), playground.__file__
    return run_ours(path)


ENGINES = {"ours": run_ours, "ours-baseline": run_ours_baseline, "llama.cpp": run_llamacpp, "transformers": run_transformers,
           "ours-pytorch-kernels": run_ours_torch, "ours-avx512": _variant("avx512"), "ours-avx2": _variant("avx2"),
           "ours-neon": _variant("neon"), "ours-portable": _variant("portable")}
METRICS = [("decode_tok_s", "decode tok/s", True), ("prompt_tok_s", f"prompt tok/s ({PROMPT_TOKENS})", True),
           ("ttft_ms", "time to first token (ms)", False), ("load_s", "load (s)", False),
           ("peak_rss_mb", "peak RSS (MB)", False)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="GGUF file (default: SmolLM2-135M-Instruct Q4_1)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--engines", default="ours,llama.cpp,transformers")
    ap.add_argument("--baseline", help="a checkout of an earlier commit, run as engine ours-baseline "
                                       "(e.g. git worktree add /tmp/before <commit>)")
    ap.add_argument("--ours", help="the model our engine loads (default: --model); e.g. a Hugging Face folder")
    ap.add_argument("--dtype", default="auto", help="our precision: auto (default) or exact")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.baseline:
        os.environ["BENCH_BASELINE"] = str(Path(a.baseline).resolve())
    if a.ours:
        os.environ["BENCH_OURS"] = a.ours
    if not a.worker:  # a worker inherits the precision (its own --dtype is the default)
        os.environ["BENCH_DTYPE"] = a.dtype
    if a.model is None:
        from playground.loading.discovery import default_model

        a.model = str(default_model())
    path = Path(a.model)
    if a.worker:
        print(json.dumps(ENGINES[a.worker](path)))
        return
    engines = [e for e in a.engines.split(",") if e]
    results: dict[str, list[dict]] = {e: [] for e in engines}
    skipped = {}
    for rep in range(a.reps):
        for e in engines:
            if e in skipped:
                continue
            proc = subprocess.run([sys.executable, __file__, "--model", str(path), "--worker", e],
                                  capture_output=True, text=True)
            if proc.returncode:
                skipped[e] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
                continue
            results[e].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"rep {rep + 1}/{a.reps} {e}: {results[e][-1]}", file=sys.stderr, flush=True)
    med = {e: {k: statistics.median(r[k] for r in rs) for k, _, _ in METRICS} for e, rs in results.items() if rs}
    cols = [e for e in engines if e in med]
    weights = results.get("ours") and results["ours"][0].get("weights")
    ours_model = Path(a.ours).name if a.ours else path.name
    print(f"\nours: {ours_model} ({a.dtype}{': ' + weights if weights else ''}); peers: {path.name}; "
          f"{THREADS} threads, medians of {a.reps} runs\n")
    ours = [e for e in cols if e.startswith("ours") and "llama.cpp" in med]  # each gets a ratio column
    head = "| metric | " + " | ".join(cols) + "".join(f" | {e} / llama.cpp" for e in ours) + " |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for key, label, higher_better in METRICS:
        row = f"| {label} | " + " | ".join(f"{med[e][key]:.1f}" if key != "load_s" else f"{med[e][key]:.2f}" for e in cols)
        for e in ours:
            ratio = med[e][key] / med["llama.cpp"][key]
            row += f" | {ratio:.2f}× {'(higher is better)' if higher_better else '(lower is better)'}"
        print(row + " |")
    for e, why in skipped.items():
        print(f"\n{e} skipped: {why}")


if __name__ == "__main__":
    main()
