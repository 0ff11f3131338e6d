"""A random Llama written as GGUF (F32, F16, Q8_0) loads and matches transformers."""

from __future__ import annotations

import pytest
import torch

from playground.loading import load_model
from tests.helpers import roundtrip_weights, tiny_hf_model, tiny_tokenizer, write_llama_gguf


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("qtype", ["F32", "F16", "Q8_0"])
def test_gguf_llama_matches_reference(qtype, tied, tmp_path):
    ref = tiny_hf_model("llama", tie_word_embeddings=tied)
    path = write_llama_gguf(ref, tiny_tokenizer(), tmp_path / f"tiny-{qtype}.gguf", qtype)
    lm = load_model(path, device="cpu")
    assert lm.quantization == qtype
    ids = torch.randint(0, ref.config.vocab_size, (1, 40), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        exact = ref(ids).logits
        got = lm.model(ids)
    if qtype == "F32":
        assert (got - exact).abs().max().item() < 1e-5
        return
    # Against the reference with the same rounding applied to its weights, we agree to float
    # precision; against the exact reference, only within the quantization error.
    roundtrip_weights(ref, qtype)
    with torch.no_grad():
        rounded = ref(ids).logits
    assert (got - rounded).abs().max().item() < 1e-4
    err = (got - exact).abs().max().item()
    assert 0 < err < 0.05 * exact.abs().max().item()


def test_gguf_tokenizer_and_template_come_from_the_file(tmp_path):
    tok = tiny_tokenizer()
    template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    path = write_llama_gguf(tiny_hf_model("llama"), tok, tmp_path / "t.gguf", "F32", chat_template=template)
    lm = load_model(path, device="cpu")
    text = "the quick brown fox"
    assert lm.tokenizer.encode(text) == tok.encode(text).ids
    assert lm.tokenizer.eos_ids[0] == tok.token_to_id("<|im_end|>")
    ids = lm.tokenizer.encode_chat([{"role": "user", "content": "hi"}], add_generation_prompt=False)
    assert ids[0] == tok.token_to_id("<|im_start|>")
    assert lm.tokenizer.decode(ids) == "<|im_start|>user\nhi<|im_end|>\n"


@pytest.mark.parametrize("kind", ["qwen2", "gpt2"])
def test_gguf_qwen2_and_gpt2_match_reference(kind, tmp_path):
    ref = tiny_hf_model(kind)
    lm = load_model(write_llama_gguf(ref, tiny_tokenizer(), tmp_path / f"{kind}.gguf"), device="cpu")
    ids = torch.randint(0, ref.config.vocab_size, (1, 40), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert (lm.model(ids) - ref(ids).logits).abs().max().item() < 1e-5
