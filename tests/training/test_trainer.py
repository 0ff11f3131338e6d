"""Training: the loss falls, a resumed run continues the same curve, fine-tuning counts only
answer tokens, and the checkpoint chats."""

from __future__ import annotations

import torch

from playground.engine.generate import Finished, generate
from playground.loading import load_model
from playground.model.config import ModelConfig
from playground.sampling import SamplingParams
from playground.training.data import (
    DEFAULT_CORPUS,
    DEFAULT_QA,
    QAPair,
    encode_corpus,
    qa_batch,
    qa_example,
    read_corpus,
    read_qa,
    split_text,
    train_tokenizer,
)
from playground.training.trainer import TrainConfig, Trainer, build, masked_loss

TEXT = read_corpus([DEFAULT_CORPUS])[:60_000]


def _setup(tmp_path, arch="llama", steps=40, **kw):
    tok = train_tokenizer(TEXT, vocab_size=300)
    train, val = split_text(TEXT, 0.1)
    cfg = ModelConfig(arch=arch, vocab_size=tok.get_vocab_size(), dim=64, n_layers=2, n_heads=4, hidden_dim=128,
                      max_seq_len=32, tie_embeddings=True, bias=arch == "gpt2", dropout=0.1)
    tcfg = TrainConfig(steps=steps, batch_size=8, lr=3e-3, warmup=5, eval_every=10, eval_iters=2,
                       sample_every=0, ckpt_every=10, seed=3, **kw)
    model = build(cfg, seed=3)
    return Trainer(model, tok, tcfg, tmp_path / "ckpt", encode_corpus(tok, train), encode_corpus(tok, val))


def test_loss_falls(tmp_path):
    for arch in ("llama", "gpt2"):
        losses = [ev.loss for ev in _setup(tmp_path / arch, arch).run()]
        assert len(losses) == 40
        assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5


def test_resume_continues_the_same_curve(tmp_path):
    full = _setup(tmp_path / "a", steps=20, grad_accum=2)
    losses = [ev.loss for ev in full.run()]
    # a second run stops at step 10 (its checkpoint), a third resumes from it
    first = _setup(tmp_path / "b", steps=20, grad_accum=2)
    for ev in first.run():
        if ev.step == 10:
            first.request_stop()
    resumed = _setup(tmp_path / "c", steps=20, grad_accum=2)
    resumed.resume(tmp_path / "b" / "ckpt")
    assert resumed.state.step == 10
    rest = [ev.loss for ev in resumed.run()]
    assert len(rest) == 10
    assert torch.allclose(torch.tensor(rest), torch.tensor(losses[10:]), atol=1e-5)


def test_fine_tuning_loss_counts_only_answer_tokens():
    tok = train_tokenizer(TEXT, vocab_size=300)
    ids, mask = qa_example(tok, QAPair("Who says: \"To be, or not to be\" in Hamlet?", "Hamlet"), block=64)
    answer = tok.encode(" Hamlet").ids
    assert sum(mask) == len(answer) + 1  # the answer and the end token
    assert ids[-len(answer) - 1: -1] == answer and mask[: len(ids) - len(answer) - 1] == [0] * (len(ids) - len(answer) - 1)
    x, y, w = qa_batch([(ids, mask), qa_example(tok, QAPair("Q?", "A much longer answer here"), 64)], pad=1)
    logits = torch.randn(*x.shape, tok.get_vocab_size())
    base = masked_loss(logits, y, w)
    changed = logits.clone()
    changed[w == 0] += torch.randn_like(changed[w == 0]) * 10  # prompt and padding positions
    assert torch.allclose(masked_loss(changed, y, w), base)
    changed[w == 1] += 5 * torch.randn_like(changed[w == 1])
    assert not torch.allclose(masked_loss(changed, y, w), base)


def test_a_checkpoint_loads_and_chats_like_any_model(tmp_path):
    trainer = _setup(tmp_path, steps=10)
    list(trainer.run())
    lm = load_model(tmp_path / "ckpt", device="cpu")
    assert lm.format == "playground" and lm.config.n_layers == 2
    ids = lm.tokenizer.encode_chat([{"role": "user", "content": "Who is Hamlet?"}])
    assert lm.tokenizer.decode(ids).endswith("Question: Who is Hamlet?\nAnswer:")
    events = list(generate(lm.model, lm.tokenizer, ids, SamplingParams(temperature=0, max_tokens=5)))
    assert isinstance(events[-1], Finished)
    with torch.no_grad():  # the same weights as the trainer's
        trainer.model.eval()
        x = torch.tensor([ids])
        assert torch.allclose(lm.model(x), trainer.model(x), atol=1e-5)


def test_bundled_qa_set():
    pairs = read_qa(DEFAULT_QA)
    assert len(pairs) > 3000
    assert {p.split for p in pairs} == {"train", "test"}
    assert sum(p.split == "test" for p in pairs) > 300


def test_cli_train_finetune_eval(tmp_path, capsys):
    import json

    from playground.cli import main

    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT[:40_000])
    base = tmp_path / "base"
    common = ["--steps", "6", "--batch", "4", "--eval-every", "3", "--ckpt-every", "3"]
    assert main(["train", "--corpus", str(corpus), "--out", str(base), "--vocab", "300", "--layers", "1",
                 "--dim", "32", "--heads", "2", "--context", "32", "--sample-every", "3", *common]) == 0
    out = capsys.readouterr().out
    assert "step     6" in out and "val loss" in out and "sample:" in out and (base / "model.safetensors").exists()
    assert main(["finetune", str(base), "--out", str(tmp_path / "qa"), *common]) == 0
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "qa"), "--corpus", str(corpus), "--max-qa", "5"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["qa_pairs"] == 5 and report["perplexity"] > 1
    for key in ("exact_match", "bleu", "rouge1", "rouge2", "rougeL"):
        assert 0 <= report[key] <= 100


def test_the_shipped_teaching_checkpoint_is_the_offline_default(monkeypatch):
    import playground.loading.discovery as discovery

    ckpt = discovery.teaching_checkpoint()
    assert ckpt is not None, "resources/checkpoints/shakespeare-qa is missing"
    assert sum(f.stat().st_size for f in ckpt.iterdir()) < 20 * 2**20
    monkeypatch.setattr(discovery, "bundled_default", lambda: None)
    assert discovery.default_model() == ckpt  # nothing else installed: the teaching model
    lm = load_model(ckpt, device="cpu")
    ids = lm.tokenizer.encode_chat([{"role": "user", "content": "In which play does Donalbain appear?"}])
    events = list(generate(lm.model, lm.tokenizer, ids, SamplingParams(temperature=0, max_tokens=12)))
    assert isinstance(events[-1], Finished) and events[-1].generated_tokens >= 1
    [found] = [m for m in discovery.discover() if m.path == ckpt]
    assert found.source == "default" and found.format == "hf" and found.describe()["params"] > 1e6
    monkeypatch.undo()
    if discovery.bundled_default():  # with SmolLM2 installed it is listed beside it
        assert [m.source for m in discovery.discover() if m.path == ckpt] == ["teaching"]


def test_progress_is_a_bar_on_a_terminal():
    import io

    from playground.training.run import print_progress
    from playground.training.trainer import StepEvent

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    print_progress(StepEvent(5, 2.0, 1e-3, 1000.0, 60.0), total=10, out=term)
    print_progress(StepEvent(10, 1.5, 1e-3, 1000.0, 0.0, val_loss=1.6, val_ppl=4.95), total=10, out=term)
    text = term.getvalue()
    assert text.startswith("\r[###############               ] step     5")
    assert "\r[##############################] step    10" in text and text.endswith("ppl 5.0\n")
