"""The training code under torchrun with DistributedDataParallel (gloo, 2 CPU processes) follows
the single-process curve for the same global batch and seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_tiny(out: str) -> list[float]:
    from playground.model.config import ModelConfig
    from playground.training.data import DEFAULT_CORPUS, encode_corpus, read_corpus, train_tokenizer
    from playground.training.trainer import TrainConfig, Trainer, build

    text = read_corpus([DEFAULT_CORPUS])[:20_000]
    tok = train_tokenizer(text, vocab_size=300)
    data = encode_corpus(tok, text)
    cfg = ModelConfig(vocab_size=tok.get_vocab_size(), dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_seq_len=32,
                      tie_embeddings=True, dropout=0.0)
    tcfg = TrainConfig(steps=6, batch_size=8, warmup=2, eval_every=0, sample_every=0, ckpt_every=0, seed=5)
    return [ev.loss for ev in Trainer(build(cfg, 5), tok, tcfg, out, data, data).run()]


def test_two_processes_match_one(tmp_path):
    single = run_tiny(str(tmp_path / "one"))
    out = tmp_path / "losses.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")  # --standalone: a rendezvous on localhost
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "tests.training.ddp_child", str(tmp_path / "two"), str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    double = json.loads(out.read_text())
    assert len(double) == len(single) == 6
    assert max(abs(a - b) for a, b in zip(single, double)) < 1e-4
