"""The tutorial's LanguageModel (nn.TransformerEncoder + Linear), with and without a causal mask
and positions: what leaks without the mask, and what training shows."""

from __future__ import annotations

import pytest
import torch

from playground.training.data import DEFAULT_CORPUS, encode_corpus, read_corpus, split_text, train_tokenizer
from playground.training.trainer import TrainConfig, Trainer
from playground.training.tutorial_model import TutorialConfig, TutorialLanguageModel, build_tutorial


def _model(causal: bool, positions: bool = True) -> TutorialLanguageModel:
    return build_tutorial(TutorialConfig(vocab_size=50, dim=32, n_heads=4, n_layers=2, hidden_dim=64,
                                         max_seq_len=12, causal=causal, positions=positions)).eval()


def test_without_the_mask_a_position_sees_the_token_it_must_predict():
    x = torch.randint(0, 50, (1, 12), generator=torch.Generator().manual_seed(0))
    y = x.clone()
    y[0, 6] = (x[0, 6] + 1) % 50  # change one token: positions before it must not notice, if causal
    for causal, leaks in ((False, True), (True, False)):
        m = _model(causal)
        with torch.no_grad():
            a, b = m(x), m(y)
        assert torch.allclose(a[0, :6], b[0, :6], atol=1e-5) != leaks


def test_prefix_logits_predict_from_the_past_only():
    x = torch.randint(0, 50, (2, 12), generator=torch.Generator().manual_seed(1))
    causal, open_ = _model(True), _model(False)
    with torch.no_grad():
        assert torch.allclose(causal.prefix_logits(x), causal(x), atol=1e-5)  # the same thing for a causal model
        honest = open_.prefix_logits(x)
        for j in (0, 5, 11):  # position j's prediction is the model run on tokens 0..j alone
            assert torch.allclose(honest[:, j], open_(x[:, : j + 1])[:, j], atol=1e-4)
        assert not torch.allclose(honest, open_(x), atol=1e-3)


def test_without_positions_attention_sees_a_bag_of_tokens():
    m = _model(causal=False, positions=False)
    x = torch.tensor([[3, 7, 9, 11]])
    with torch.no_grad():
        a, b = m(x), m(x[:, [2, 0, 3, 1]])
    assert torch.allclose(a[0, [2, 0, 3, 1]], b[0], atol=1e-5)  # reordered inputs, the same outputs reordered


def test_the_sizes_as_written_and_the_parameter_count():
    cfg = TutorialConfig.as_written()
    assert (cfg.vocab_size, cfg.dim, cfg.n_heads, cfg.n_layers) == (20000, 512, 8, 6)
    small = TutorialConfig(vocab_size=100, dim=16, n_heads=2, n_layers=1, hidden_dim=32, max_seq_len=8)
    assert small.n_params == sum(p.numel() for p in TutorialLanguageModel(small).parameters())
    with pytest.raises(ValueError):
        TutorialConfig(dim=30, n_heads=4)


@pytest.fixture(scope="module")
def shakespeare_chars():
    text = read_corpus([DEFAULT_CORPUS])[:300_000]
    train, val = split_text(text, 0.1)
    tok = train_tokenizer(train, 256, "char")
    return tok, encode_corpus(tok, train), encode_corpus(tok, val)


def _train(data, causal: bool, positions: bool, steps: int = 300) -> tuple[float, float]:
    tok, train, val = data
    cfg = TutorialConfig(vocab_size=tok.get_vocab_size(), dim=32, n_heads=4, n_layers=2, hidden_dim=128,
                         max_seq_len=16, causal=causal, positions=positions)
    tc = TrainConfig(steps=steps, batch_size=16, lr=3e-3, min_lr=3e-3, warmup=10, weight_decay=0.0,
                     eval_every=steps, eval_iters=4, sample_every=0, ckpt_every=0)
    trainer = Trainer(build_tutorial(cfg), tok, tc, "unused", train, val)
    events = list(trainer.run())
    return sum(e.loss for e in events[-20:]) / 20, events[-1].val_loss


@pytest.mark.slow
def test_unmasked_training_loss_falls_far_below_the_masked_while_its_validation_is_worse(shakespeare_chars):
    open_train, open_val = _train(shakespeare_chars, causal=False, positions=True)
    masked_train, masked_val = _train(shakespeare_chars, causal=True, positions=True)
    assert open_train < masked_train - 0.3  # it copies the next token, which it can see
    assert open_val > masked_val + 0.5  # and cannot, when it has to predict it
    # as the tutorial writes it (no positions either): the future is a bag of tokens, still a leak
    bag_train, bag_val = _train(shakespeare_chars, causal=False, positions=False)
    assert bag_train < masked_train - 0.1 and bag_val > masked_val + 0.3
