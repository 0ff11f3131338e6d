"""Training throughput of the studio's default config next to a plain PyTorch training loop of
the same model on the same batches (the peer every tutorial writes), alternating, medians.

    .venv/bin/python benchmarks/bench_train.py
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F

from playground.training.data import (
    DEFAULT_CORPUS,
    encode_corpus,
    get_batch,
    read_corpus,
    split_text,
    train_tokenizer,
)
from playground.training.run import model_config
from playground.training.trainer import TrainConfig, Trainer, build

STEPS = 60


def plain_loop(model, data, cfg: TrainConfig) -> float:
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=cfg.betas)
    gen = torch.Generator().manual_seed(0)
    model.train()
    t = time.perf_counter()
    for _ in range(STEPS):
        x, y = get_batch(data, model.config.max_seq_len, cfg.batch_size, gen)
        loss = F.cross_entropy(model(x).reshape(-1, model.config.vocab_size), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
    return STEPS * cfg.batch_size * model.config.max_seq_len / (time.perf_counter() - t)


def ours(model, tok, data, cfg: TrainConfig, out) -> float:
    trainer = Trainer(model, tok, cfg, out, data, data)
    t = time.perf_counter()
    for _ in trainer.run():
        pass
    return STEPS * cfg.batch_size * model.config.max_seq_len / (time.perf_counter() - t)


def main() -> None:
    import tempfile

    torch.set_num_threads(2)
    text, _ = split_text(read_corpus([DEFAULT_CORPUS]), 0.05)
    tok = train_tokenizer(text[:1_000_000], 2048)
    data = encode_corpus(tok, text[:1_000_000])
    cfg = TrainConfig(steps=STEPS, batch_size=16, eval_every=0, sample_every=0, ckpt_every=0)
    mcfg = model_config(tok.get_vocab_size(), "llama", "tiny")
    print(f"model: {mcfg.n_params / 1e6:.2f} M parameters, context {mcfg.max_seq_len}, batch {cfg.batch_size}")
    a, b = [], []
    for _ in range(3):
        a.append(plain_loop(build(mcfg, 1), data, cfg))
        b.append(ours(build(mcfg, 1), tok, data, cfg, tempfile.mkdtemp()))
    pa, pb = statistics.median(a), statistics.median(b)
    print(f"plain PyTorch loop: {pa:,.0f} tok/s; Playground trainer: {pb:,.0f} tok/s; ratio {pb / pa:.2f}×")


if __name__ == "__main__":
    main()
