"""Attention maps for a long SmolLM2 conversation: computed, then the all-heads grid drawn.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_attention.py

Target: 512 tokens (30 layers × 9 heads) computed and drawn in under 500 ms; reports 1024
and 2048 tokens too (BertViz draws in a browser and stalls far earlier).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> None:
    import torch
    from PySide6.QtWidgets import QApplication

    from playground.engine.inspect import attention_maps
    from playground.loading import load_model
    from playground.loading.discovery import default_model
    from playground.ui.attention_view import AttentionView

    torch.set_num_threads(2)
    app = QApplication.instance() or QApplication(sys.argv)
    lm = load_model(default_model(), device="cpu", dtype="auto")
    text = open(__file__).read() * 20
    view = AttentionView()
    view.resize(900, 700)
    view.show()
    for n in [int(a) for a in sys.argv[1:]] or (512, 1024, 2048):
        ids = lm.tokenizer.encode(text)[:n]
        compute, draw = [], []
        for _ in range(3):
            t = time.perf_counter()
            amap = attention_maps(lm, ids)
            compute.append(time.perf_counter() - t)
            t = time.perf_counter()
            view.grid.setChecked(True)
            view.set_map(amap)
            app.processEvents()
            draw.append(time.perf_counter() - t)
            del amap
        c, d = statistics.median(compute) * 1000, statistics.median(draw) * 1000
        print(f"{n} tokens: attention computed in {c:.0f} ms, all-heads grid drawn in {d:.0f} ms, "
              f"total {c + d:.0f} ms" + (" (target < 500 ms)" if n == 512 else ""), flush=True)


if __name__ == "__main__":
    main()
