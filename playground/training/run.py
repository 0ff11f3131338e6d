"""What `playground train`, `finetune` and `eval` run (the studio's worker runs the same)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tokenizers import Tokenizer

from ..model.config import ModelConfig
from .data import (
    DEFAULT_CORPUS,
    DEFAULT_QA,
    QA_TEMPLATE,
    SPECIALS,
    encode_corpus,
    qa_example,
    read_corpus,
    read_qa,
    split_text,
    train_tokenizer,
)
from .metrics import perplexity, qa_scores
from .trainer import TrainConfig, Trainer, build, masked_loss
from .tutorial_model import ARCH as TUTORIAL_ARCH
from .tutorial_model import TutorialConfig, build_tutorial

MODEL_PRESETS = {  # studio defaults sized for a laptop CPU
    "tiny": dict(dim=128, n_layers=4, n_heads=4, hidden_dim=384, max_seq_len=128),
    "small": dict(dim=256, n_layers=6, n_heads=8, hidden_dim=768, max_seq_len=256),
}


def model_config(vocab: int, arch: str = "llama", preset: str = "tiny", dropout: float = 0.1, **over) -> ModelConfig:
    d = dict(MODEL_PRESETS[preset])
    d.update({k: v for k, v in over.items() if v is not None})
    return ModelConfig(arch=arch, vocab_size=vocab, tie_embeddings=True, bias=arch == "gpt2", dropout=dropout,
                       name=f"studio-{arch}-{preset}", **d)


def tutorial_config(vocab: int, dropout: float = 0.1, causal: bool = False, positions: bool = False,
                    **over) -> TutorialConfig:
    """The tutorial's encoder model at the studio's sizes (hidden_dim: the feed-forward width)."""
    d = dict(dim=128, n_layers=2, n_heads=4, hidden_dim=512, max_seq_len=64)
    d.update({k: v for k, v in over.items() if v is not None and k in d})
    return TutorialConfig(vocab_size=vocab, dropout=dropout, causal=bool(causal), positions=bool(positions), **d)


def pretrain(corpus: list[str] | None, out: str, tcfg: TrainConfig, arch="llama", preset="tiny", vocab=2048,
             tokenizer_kind="bpe", resume: bool = False, log=print, **model_over) -> Trainer:
    text = read_corpus(corpus or [DEFAULT_CORPUS])
    train_text, val_text = split_text(text, 0.05)
    out = Path(out)
    if resume and (out / "tokenizer.json").exists():
        tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    else:
        tok = train_tokenizer(train_text, vocab, tokenizer_kind)
    if arch == TUTORIAL_ARCH:
        cfg = tutorial_config(tok.get_vocab_size(), **model_over)
        if resume and (out / "config.json").exists():
            cfg = TutorialConfig.from_dict(json.loads((out / "config.json").read_text())["playground"])
        tcfg.weight_decay = 0.0  # the tutorial trains with plain Adam (AdamW without decay is Adam)
        model = build_tutorial(cfg, tcfg.seed)
    else:
        cfg = model_config(tok.get_vocab_size(), arch, preset, **model_over)
        if resume and (out / "config.json").exists():
            cfg = ModelConfig.from_dict(json.loads((out / "config.json").read_text())["playground"])
        model = build(cfg, tcfg.seed)
    train_ids, val_ids = encode_corpus(tok, train_text), encode_corpus(tok, val_text)
    log(f"corpus: {len(text) / 1e6:.1f} M characters → {len(train_ids):,} training and {len(val_ids):,} validation "
        f"tokens; vocabulary {tok.get_vocab_size()}; model {cfg.n_params / 1e6:.2f} M parameters")
    trainer = Trainer(model, tok, tcfg, out, train_ids, val_ids)
    if resume and (out / "trainer_state.json").exists():
        trainer.resume(out)
        log(f"resumed at step {trainer.state.step}")
    return trainer


def finetune(base: str, out: str, tcfg: TrainConfig, qa_path: str | None = None, log=print) -> Trainer:
    from ..loading import load_model

    lm = load_model(base, device="cpu", dtype="float32")
    tok = Tokenizer.from_file(str(Path(base) / "tokenizer.json"))
    block = lm.config.max_seq_len
    pairs = read_qa(qa_path or DEFAULT_QA)
    train = [qa_example(tok, p, block) for p in pairs if p.split != "test"]
    test = [qa_example(tok, p, block) for p in pairs if p.split == "test"]
    log(f"fine-tuning on {len(train)} question-answer pairs ({len(test)} held out); loss on answer tokens only")
    tcfg.task = "qa"
    model = lm.model
    model.train()
    return Trainer(model, tok, tcfg, out, train, test)


@torch.no_grad()
def answer(model, tok: Tokenizer, question: str, max_new: int = 16) -> str:
    ids = tok.encode(QA_TEMPLATE.format(question=question)).ids
    eos = tok.token_to_id(SPECIALS[0])
    x = torch.tensor([ids])
    out: list[int] = []
    for _ in range(max_new):
        nxt = int(model(x[:, -model.config.max_seq_len:])[0, -1].argmax())
        if nxt == eos:
            break
        out.append(nxt)
        x = torch.cat([x, torch.tensor([[nxt]])], 1)
        if "\n" in tok.decode(out):
            break
    return tok.decode(out).split("\n")[0].strip()


@torch.no_grad()
def score_sentence(ckpt: str, text: str) -> dict:
    """The loss of one text under a checkpoint, the way the studio measures loss everywhere: the
    checkpoint's own tokenizer, targets shifted by one, `masked_loss` (cross-entropy), exp for the
    perplexity. Lesson 4 checks its hand-made numbers against this."""
    from ..loading import load_model

    lm = load_model(ckpt, device="cpu", dtype="float32")
    tok = Tokenizer.from_file(str(Path(ckpt) / "tokenizer.json"))
    ids = torch.tensor(tok.encode(text).ids[: lm.config.max_seq_len + 1])
    if len(ids) < 2:
        raise ValueError("the text needs at least two tokens")
    loss = float(masked_loss(lm.model.eval()(ids[None, :-1]), ids[None, 1:], None))
    return {"checkpoint": str(ckpt), "text": text, "tokens": len(ids) - 1, "loss": loss, "perplexity": perplexity(loss)}


@torch.no_grad()
def evaluate(ckpt: str, corpus: list[str] | None = None, qa_path: str | None = None, max_qa: int = 200,
             log=print) -> dict:
    from ..loading import load_model

    lm = load_model(ckpt, device="cpu", dtype="float32")
    tok = Tokenizer.from_file(str(Path(ckpt) / "tokenizer.json"))
    model = lm.model.eval()
    block = lm.config.max_seq_len
    _, val_text = split_text(read_corpus(corpus or [DEFAULT_CORPUS]), 0.05)
    ids = encode_corpus(tok, val_text)[: 200 * block + 1]
    losses = []
    for s in range(0, len(ids) - block - 1, block):
        x, y = ids[s: s + block][None], ids[s + 1: s + block + 1][None]
        losses.append(float(masked_loss(model(x), y, None)))
    nll = sum(losses) / max(len(losses), 1)
    pairs = [p for p in read_qa(qa_path or DEFAULT_QA) if p.split == "test"][:max_qa]
    hyps = [answer(model, tok, p.question) for p in pairs]
    result = {"checkpoint": str(ckpt), "val_loss": round(nll, 4), "perplexity": round(perplexity(nll), 2),
              **{k: round(v, 2) for k, v in qa_scores(hyps, [p.answer for p in pairs]).items()},
              "qa_pairs": len(pairs), "examples": [[p.question, p.answer, h] for p, h in list(zip(pairs, hyps))[:3]]}
    return result


def print_progress(ev, total: int | None = None, out=None) -> None:
    """A progress bar on a terminal (one line, redrawn), a line per step elsewhere; validation,
    samples and checkpoints always get lines of their own."""
    import sys

    out = out or sys.stdout
    bar = ""
    if total:
        done = min(1.0, ev.step / total)
        bar = f"[{'#' * int(done * 30):<30}] "
    line = (f"{bar}step {ev.step:5d}  loss {ev.loss:.3f}  lr {ev.lr:.2e}  {ev.tokens_per_s:,.0f} tok/s  "
            f"ETA {ev.eta_s / 60:.1f} min")
    tty = out.isatty()
    if ev.val_loss is not None:
        line += f"  | val loss {ev.val_loss:.3f}  ppl {ev.val_ppl:.1f}"
    print(("\r" + line) if tty else line, end="" if tty and ev.val_loss is None else "\n", file=out, flush=True)
    if ev.sample:
        print(("\n" if tty else "") + "  sample: " + ev.sample.replace("\n", " ⏎ ")[:160], file=out, flush=True)
    if ev.checkpoint:
        print(("\n" if tty else "") + f"  checkpoint → {ev.checkpoint}", file=out, flush=True)
