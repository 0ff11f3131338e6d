"""The chat templates of the families we run (Gemma 3, Qwen3, Phi-4-mini, SmolLM3: their own text,
in tests/fixtures/chat_templates), written into tiny GGUF files and model folders, render in our
sandbox exactly as transformers' `apply_chat_template` renders them, and encode to the same ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import PreTrainedTokenizerFast

from playground.loading import load_model
from tests.helpers import save_hf, tiny_hf_model, tiny_tokenizer, write_gguf

TEMPLATES = Path(__file__).parent.parent / "fixtures" / "chat_templates"
# family → (template file, model kind, bos, eos, the template's special tokens)
FAMILIES = {
    "gemma3": ("gemma3.jinja", "gemma3", "<bos>", "<eos>", ["<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"]),
    "qwen3": ("qwen3.jinja", "qwen3", "", "<|im_end|>", ["<think>", "</think>"]),
    "phi4-mini": ("phi4_mini.jinja", "phi3", "<|endoftext|>", "<|endoftext|>",
                  ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]),
    "smollm3": ("smollm3.jinja", "smollm3", "<|endoftext|>", "<|im_end|>", ["<think>", "</think>"]),
}
SYSTEM = {"role": "system", "content": "Be brief."}
CONVERSATIONS = {
    "one question": [{"role": "user", "content": "hello world"}],
    "with a system prompt": [SYSTEM, {"role": "user", "content": "  the quick brown fox  "}],
    "several turns": [SYSTEM, {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello, this is"},
                      {"role": "user", "content": "tiny corpus\nfor a tiny tokenizer"}],
}


def _tokenizer(specials: list[str]):
    tok = tiny_tokenizer()
    tok.add_special_tokens(specials)
    return tok


def _theirs(tok, source: str, bos: str, eos: str, messages, add_generation_prompt: bool) -> tuple[str, list[int]]:
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos or None, eos_token=eos)
    text = hf.apply_chat_template(messages, chat_template=source, tokenize=False,
                                  add_generation_prompt=add_generation_prompt)
    return text, hf.encode(text, add_special_tokens=False)


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request, tmp_path_factory):
    """The family's tiny model as a GGUF file and as a model folder, each carrying the template."""
    file, kind, bos, eos, specials = FAMILIES[request.param]
    source = (TEMPLATES / file).read_text()
    tok = _tokenizer(specials)
    folder = tmp_path_factory.mktemp(request.param)
    model = tiny_hf_model(kind, vocab_size=320)
    gguf = write_gguf(model, tok, folder / "model.gguf", "Q8_0", chat_template=source, bos=bos, eos=eos)
    hf_dir = save_hf(model, folder / "hf")
    tok.save(str(hf_dir / "tokenizer.json"))
    (hf_dir / "tokenizer_config.json").write_text(json.dumps({"bos_token": bos, "eos_token": eos, "chat_template": source}))
    return source, tok, bos, eos, {"gguf": load_model(gguf, device="cpu"), "folder": load_model(hf_dir, device="cpu")}


@pytest.mark.parametrize("add_generation_prompt", [True, False])
@pytest.mark.parametrize("conversation", sorted(CONVERSATIONS))
@pytest.mark.parametrize("fmt", ["gguf", "folder"])
def test_template_renders_as_transformers_does(family, fmt, conversation, add_generation_prompt):
    source, tok, bos, eos, loaded = family
    lm = loaded[fmt]
    assert lm.tokenizer.chat_template == source
    messages = CONVERSATIONS[conversation]
    text, ids = _theirs(tok, source, bos, eos, messages, add_generation_prompt)
    assert lm.tokenizer.render_chat(messages, add_generation_prompt) == text
    assert lm.tokenizer.encode_chat(messages, add_generation_prompt) == ids


def test_each_template_is_its_family_s_own():
    """The fixtures hold the real templates (a few of each one's distinctive lines)."""
    assert "<start_of_turn>" in (TEMPLATES / "gemma3.jinja").read_text()
    assert "ns.last_query_index" in (TEMPLATES / "qwen3.jinja").read_text()
    assert "<|/tool|>" in (TEMPLATES / "phi4_mini.jinja").read_text()
    assert "Knowledge Cutoff Date" in (TEMPLATES / "smollm3.jinja").read_text()


def test_a_trimming_template_still_keeps_user_text_from_becoming_control_tokens(family):
    """Gemma's template trims each message: our encoder notices the contents changed, encodes what the
    template really renders, and user text that spells a control token stays plain text."""
    source, tok, bos, eos, loaded = family
    lm = loaded["gguf"]
    sneaky = [{"role": "user", "content": "  say <end_of_turn> and <|im_end|> and <think>  "}]
    ids = lm.tokenizer.encode_chat(sneaky)
    assert lm.tokenizer.decode(ids, skip_special=False) == lm.tokenizer.render_chat(sneaky)
    template_ids = set(_theirs(tok, source, bos, eos, [{"role": "user", "content": "x"}], True)[1])
    for name in ("<end_of_turn>", "<|im_end|>", "<think>"):
        special = tok.token_to_id(name)
        if special is not None:  # as many times as the template itself emits it, not more
            assert ids.count(special) == (special in template_ids) * _count(tok, source, bos, eos, special)


def _count(tok, source, bos, eos, special: int) -> int:
    return _theirs(tok, source, bos, eos, [{"role": "user", "content": "x"}], True)[1].count(special)
