"""Per-token surprisal of a text (lesson 4): the engine's numbers equal the studio's loss for the
same sentence and checkpoint, and their mean and exp are the loss and the perplexity."""

from __future__ import annotations

import math

import pytest
import torch

from playground.engine.score import score_text
from playground.paths import resources_dir
from playground.training.run import score_sentence

TEACHING = resources_dir() / "checkpoints" / "shakespeare-qa"
SENTENCE = "To be, or not to be: that is the question."


@pytest.fixture(scope="module")
def teaching():
    from playground.loading import load_model

    return load_model(TEACHING, device="cpu")


def test_surprisals_average_to_the_studios_loss(teaching):
    s = score_text(teaching, SENTENCE)
    assert len(s.surprisal) == len(s.token_ids) - 1 == len(s.top) and len(s.labels) == len(s.token_ids)
    assert all(x >= 0 for x in s.surprisal)
    studio = score_sentence(str(TEACHING), SENTENCE)
    assert studio["tokens"] == len(s.surprisal)
    assert s.loss == pytest.approx(studio["loss"], abs=1e-4)
    assert s.perplexity == pytest.approx(math.exp(s.loss)) == pytest.approx(studio["perplexity"], rel=1e-3)


def test_each_surprisal_is_minus_log_p_of_the_token_that_came(teaching):
    s = score_text(teaching, SENTENCE)
    ids = s.token_ids
    with torch.no_grad():
        for i in (1, len(ids) - 1):
            logits = teaching.model(torch.tensor([ids[:i]]), use_cache=False)[0, -1]
            p = torch.softmax(logits.float(), -1)[ids[i]].item()
            assert s.surprisal[i - 1] == pytest.approx(-math.log(p), abs=1e-4)


def test_a_single_token_cannot_be_scored(teaching):
    with pytest.raises(ValueError, match="two tokens"):
        score_text(teaching, "a")
