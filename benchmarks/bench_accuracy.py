"""How close our fast path's next-token probabilities are to the exact model's, next to llama.cpp's.

Teacher-forced: each text is fed as is, and at every position we compare the engine's
distribution over the next token with the one of transformers running the same GGUF file's exact
weights in float32 (dequantized by gguf-py; where transformers cannot read the architecture, our
own float32 reference model, which equals transformers' logits to 1e-4 in the tests):
  - KL(exact ‖ engine), in nats, averaged over positions;
  - top-1: the share of positions where the engine's most likely token is the exact model's.
Every engine sees the same token ids (our tokenizer's). Ours is measured two ways, both the fast
path: "prompt" (the whole text in one pass, as a prefill) and "decode" (one token at a time
through the cache, as generation runs); llama.cpp evaluates the text in batches of 512.

    .venv/bin/python benchmarks/bench_accuracy.py                       # the default model
    .venv/bin/python benchmarks/bench_accuracy.py --model m.gguf --json out.json

The texts are in several languages and scripts, written for this benchmark (none is in the
project's corpus).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

TEXTS = {
    "Chinese": (
        "清晨的山谷里雾气还没有散去，老茶农已经背着竹篓走上了陡峭的小路。他说，春天的第一批嫩芽最珍贵，"
        "必须在太阳升起之前采摘，否则叶子里的香气就会被晒走。村子里的年轻人大多去了城市，只有每年采茶的"
        "季节，他们才会回来帮忙。傍晚时分，炒锅里的茶叶发出轻轻的沙沙声，整个院子都弥漫着清新的味道。"
    ),
    "French": (
        "Ce matin-là, le marché de la place était plus animé que d'habitude. Les marchands de fromages "
        "criaient leurs prix, une vieille dame comparait deux melons avec un sérieux de juge, et un enfant "
        "tirait sur la manche de son père pour voir les poissons. Nous avons acheté du pain encore tiède, "
        "quelques pêches et un bouquet de lavande, puis nous nous sommes assis à la terrasse d'un café."
    ),
    "Python": (
        "def merge_intervals(intervals):\n"
        "    \"\"\"Merge overlapping closed intervals, given as (start, end) pairs.\"\"\"\n"
        "    merged = []\n"
        "    for start, end in sorted(intervals):\n"
        "        if merged and start <= merged[-1][1]:\n"
        "            merged[-1] = (merged[-1][0], max(merged[-1][1], end))\n"
        "        else:\n"
        "            merged.append((start, end))\n"
        "    return merged\n\n\n"
        "if __name__ == \"__main__\":\n"
        "    print(merge_intervals([(1, 3), (2, 6), (8, 10), (9, 12)]))\n"
    ),
    "Maths and emoji": (
        "Let's check the sum 1 + 2 + ... + n = n(n + 1)/2 for n = 10: the left side is 55 and the right "
        "side is 10 × 11 / 2 = 55 ✅. For the squares, 1² + 2² + 3² = 14 and 3 · 4 · 7 / 6 = 14 🎉. "
        "If a pizza 🍕 is cut into 8 slices and you eat 3, then 5/8 = 0.625 of it is left 😋. "
        "Finally, √2 ≈ 1.41421 and π ≈ 3.14159, so π/√2 ≈ 2.2214 📐."
    ),
    "English prose": (
        "The lighthouse keeper had not spoken to another person in eleven days when the supply boat finally "
        "appeared on the horizon. He watched it for a long time through the salt-streaked window, unsure "
        "whether he was glad. The storms had taught him to listen to the building: the groan of the iron "
        "stairs, the rattle of the lamp room, the patient knocking of the sea against the rocks below."
    ),
}


def kl_top1(exact: torch.Tensor, other: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per position: KL(exact ‖ other) in nats, and whether the top tokens agree."""
    lp, lq = exact.double().log_softmax(-1), other.double().log_softmax(-1)
    return (lp.exp() * (lp - lq)).sum(-1), lp.argmax(-1) == lq.argmax(-1)


def exact_logits(path: Path, ids: list[int]) -> tuple[torch.Tensor, str]:
    """The exact model's logits (T, vocab): transformers on the file's dequantized weights, or our
    float32 reference where transformers cannot read the architecture."""
    global _exact_model
    if _exact_model is None:
        try:
            from transformers import AutoModelForCausalLM

            m = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
            _exact_model = (m.eval(), "transformers float32")
        except Exception as e:  # an architecture transformers' GGUF reader lacks
            from playground.loading import load_model

            print(f"  (transformers cannot load this file: {type(e).__name__}; using our float32 reference)",
                  file=sys.stderr)
            _exact_model = (load_model(path, device="cpu", dtype="float32").model, "ours float32 reference")
    model, name = _exact_model
    with torch.inference_mode():
        x = torch.tensor([ids])
        out = model(x)
        logits = out.logits if hasattr(out, "logits") else out
    return logits[0].float(), name


_exact_model = None


def ours(path: Path, ids: list[int], how: str) -> torch.Tensor:
    global _ours
    if _ours is None:
        from playground.loading import load_model

        _ours = load_model(path, device="cpu", dtype="auto").model
    m = _ours
    with torch.inference_mode():
        if how == "prompt":
            return m(torch.tensor([ids]))[0].float()
        m.setup_cache(len(ids))
        return torch.cat([m(torch.tensor([[t]]), start=i, use_cache=True)[0] for i, t in enumerate(ids)]).float()


_ours = None


def llamacpp(path: Path, ids: list[int]) -> torch.Tensor | None:
    global _llama
    try:
        import llama_cpp
    except ImportError:
        return None
    if _llama is None:
        _llama = llama_cpp.Llama(model_path=str(path), n_ctx=2048, n_batch=512, logits_all=True,
                                 n_threads=int(os.environ.get("BENCH_THREADS", "2")), verbose=False)
    _llama.reset()
    _llama.eval(ids)
    return torch.from_numpy(np.array(_llama.scores[: len(ids)], dtype=np.float32))


_llama = None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="GGUF file (default: SmolLM2-135M-Instruct Q4_1)")
    ap.add_argument("--json", help="write the numbers here too")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    if a.model is None:
        from playground.loading.discovery import default_model

        a.model = str(default_model())
    path = Path(a.model)
    from playground.loading.gguf_loader import tokenizer_from_gguf

    tok = tokenizer_from_gguf(path)
    engines = ["ours (prompt)", "ours (decode)", "llama.cpp"]
    rows, totals = [], {e: ([], []) for e in engines}
    reference = ""
    for name, text in TEXTS.items():
        ids = tok.encode(text)
        exact, reference = exact_logits(path, ids)
        got = {"ours (prompt)": ours(path, ids, "prompt"), "ours (decode)": ours(path, ids, "decode"),
               "llama.cpp": llamacpp(path, ids)}
        row = {"text": name, "tokens": len(ids)}
        for e in engines:
            if got[e] is None:
                continue
            kl, top = kl_top1(exact, got[e])
            totals[e][0].append(kl)
            totals[e][1].append(top)
            row[e] = (kl.mean().item(), top.float().mean().item())
        rows.append(row)
    present = [e for e in engines if totals[e][0]]
    print(f"\n{path.name}: teacher-forced against {reference}; KL(exact ‖ engine) in nats, mean over "
          f"positions · top-1 agreement\n")
    print("| text | tokens | " + " | ".join(present) + " |")
    print("|---|---|" + "---|" * len(present))
    for row in rows:
        cells = [f"{row[e][0]:.4f} · {100 * row[e][1]:.1f}%" for e in present]
        print(f"| {row['text']} | {row['tokens']} | " + " | ".join(cells) + " |")
    overall = {}
    for e in present:
        kl, top = torch.cat(totals[e][0]), torch.cat(totals[e][1])
        overall[e] = (kl.mean().item(), top.float().mean().item())
    n = sum(r["tokens"] for r in rows)
    print(f"| **all** | {n} | " + " | ".join(f"**{overall[e][0]:.4f} · {100 * overall[e][1]:.1f}%**" for e in present)
          + " |")
    if a.json:
        Path(a.json).write_text(json.dumps({"model": str(path), "reference": reference, "texts": rows,
                                            "overall": overall}, indent=1))


if __name__ == "__main__":
    main()
