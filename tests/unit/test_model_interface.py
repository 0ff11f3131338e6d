"""Both models implement the one CausalLM interface that generation and the inspector use."""

from __future__ import annotations

import pytest
import torch

from playground.loading import load_model
from playground.model.interface import CausalLM
from tests.helpers import ScriptedModel, tiny_hf_model, tiny_tokenizer, write_llama_gguf


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    path = write_llama_gguf(tiny_hf_model("llama"), tiny_tokenizer(), tmp_path_factory.mktemp("m") / "t.gguf", "Q4_1")
    return {"reference": load_model(path, device="cpu"), "fast": load_model(path, device="cpu", dtype="auto")}


@pytest.mark.parametrize("which", ["reference", "fast"])
def test_both_models_implement_the_interface(models, which):
    lm = models[which]
    assert isinstance(lm.model, CausalLM)
    assert lm.device == torch.device("cpu")  # LoadedModel.device used to raise on the fast path
    assert lm.model.describe().startswith(which)
    assert isinstance(lm.model.runs_own_threads(), bool)
    cache = lm.model.setup_cache(7)
    assert lm.model.cache is cache and cache.max_len == 7


@pytest.mark.parametrize("which", ["reference", "fast"])
def test_embed_then_layers_then_unembed_is_the_forward_pass(models, which):
    """The logit lens's last row (unembed of the last hidden state) is the model's own distribution,
    and the first hidden state is embed()."""
    m = models[which].model
    ids = torch.arange(5, 25)[None]
    with torch.no_grad():
        logits, extra = m(ids, use_cache=False, return_hidden=True)
        assert torch.equal(extra["hidden"][0].float(), m.embed(ids).float())
        lens = m.unembed(extra["hidden"][-1])
    assert lens.dtype == torch.float32 and lens.shape == logits.shape
    assert (lens - logits.float()).abs().max() < 1e-5


def test_the_scripted_stand_in_implements_it_too():
    assert isinstance(ScriptedModel(10, 0), CausalLM)
