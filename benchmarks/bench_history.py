"""History store costs: what saving a streaming reply costs the generation loop, and how fast
the sidebar opens on a large history.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_history.py

1. SmolLM2 streams 200 tokens three times; the reply is saved in batches every 250 ms, as the
   app does. Prints the time spent in those writes as a share of the generation (target < 1%).
2. A history of 1,000 conversations × 50 messages: time from opening the database to the
   sidebar filled (target < 300 ms).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def streaming_cost() -> None:
    from playground.conversation import Conversation
    from playground.engine.generate import TokenEvent, generate
    from playground.loading import load_model
    from playground.loading.discovery import default_model
    from playground.sampling import SamplingParams
    from playground.storage import BatchedWriter, Store

    lm = load_model(default_model(), device="cpu", dtype="auto")
    lm.tokenizer.eos_ids = []
    shares = []
    for _ in range(3):
        store = Store(Path(tempfile.mkdtemp()) / "h.db")
        conv = Conversation()
        store.add_message(conv, conv.add("user", "Write a long story about a dragon."))
        reply = conv.add("assistant", "")
        store.add_message(conv, reply)
        writer = BatchedWriter(store, 0.25)  # writes on its own thread; the loop only notes changes
        in_writes = 0.0
        t0 = time.perf_counter()
        ids = lm.tokenizer.encode_chat(conv.messages_for_model(upto=reply))
        for ev in generate(lm.model, lm.tokenizer, ids, SamplingParams(temperature=0.7, max_tokens=200)):
            if isinstance(ev, TokenEvent):
                reply.text += ev.text
                t = time.perf_counter()
                writer.touch(conv, reply)
                in_writes += time.perf_counter() - t
        total = time.perf_counter() - t0
        t = time.perf_counter()
        writer.touch(conv, reply, final=True)
        in_writes += time.perf_counter() - t
        writer.close()
        shares.append(in_writes / total * 100)
        print(f"  {writer.writes} batched writes, {in_writes * 1000:.1f} ms of {total * 1000:.0f} ms", file=sys.stderr)
    print(f"saving a streaming reply: median {statistics.median(shares):.2f}% of the generation loop's own time "
          "(target < 1%; the writes run on the writer thread)")


def big_history_open() -> None:
    import sqlite3

    from PySide6.QtWidgets import QApplication

    from playground.session import History
    from playground.storage import Store
    from playground.ui.history_panel import HistoryPanel

    path = Path(tempfile.mkdtemp()) / "big.db"
    Store(path).close()
    db = sqlite3.connect(path)
    now = time.time()
    with db:
        for c in range(1000):
            cur = db.execute("INSERT INTO conversations (title, system_prompt, created, updated) VALUES (?, '', ?, ?)",
                             (f"Conversation {c}: a question about topic {c % 37}", now - c, now - c))
            cid, parent = cur.lastrowid, None
            for m in range(50):
                cur = db.execute(
                    "INSERT INTO messages (conversation_id, parent_id, role, text, meta, created) VALUES (?, ?, ?, ?, '{}', ?)",
                    (cid, parent, "user" if m % 2 == 0 else "assistant", f"message {m} " * 40, now))
                parent = cur.lastrowid
    db.close()
    app = QApplication.instance() or QApplication(sys.argv)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        store = Store(path)
        panel = HistoryPanel(History(store))
        panel.refresh()
        app.processEvents()
        times.append((time.perf_counter() - t) * 1000)
        assert panel.list.count() == 1000
        store.close()
    print(f"sidebar with 1,000 conversations x 50 messages: median {statistics.median(times):.0f} ms (target < 300 ms)")


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    big_history_open()
    streaming_cost()
