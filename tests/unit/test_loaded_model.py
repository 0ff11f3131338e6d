"""`LoadedModel` facts that callers rely on, on both model paths."""

from __future__ import annotations

import torch

from playground.loading import load_model
from playground.model.fast import FastLlama
from tests.helpers import tiny_hf_model, tiny_tokenizer, write_llama_gguf


def test_device_is_known_on_the_fast_path_and_the_reference(tmp_path):
    path = write_llama_gguf(tiny_hf_model("llama"), tiny_tokenizer(), tmp_path / "t.gguf", "Q4_1")
    fast, ref = load_model(path, device="cpu", dtype="auto"), load_model(path, device="cpu")
    assert isinstance(fast.model, FastLlama) and not isinstance(ref.model, FastLlama)
    assert fast.device == torch.device("cpu") and ref.device == torch.device("cpu")
