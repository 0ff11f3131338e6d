"""SentencePiece-style GGUF vocabularies (Llama 2, Mistral, TinyLlama): merges implied by scores,
byte fallback, the ▁ space marker. Checked against transformers building its tokenizer from the
same GGUF."""

from __future__ import annotations

import gguf
import pytest

from playground.loading.gguf_loader import tokenizer_from_gguf

PIECES = [
    "▁", "t", "h", "e", "a", "n", "d", "o", "r", "l", "w", "s", "i", "c", "k", "u", "q", "b", "H", "W", "!", ",",
    "he", "▁t", "▁the", "an", "▁a", "nd", "▁and", "or", "▁w", "ld", "orld", "▁world", "ll", "llo", "ello", "hello",
    "▁hello", "ic", "ck", "ick", "qu", "▁qu", "▁quick", "▁b", "ro", "▁bro", "own", "▁brown", "▁▁", "▁▁▁▁", "in", "is",
]
TEXTS = ["hello world", "the quick brown fox", "Hello World!", "and the and", "日本 ok", "  two leading spaces",
         "a\nb", "tab\there", "ünï", "<s> inside </s> text"]


@pytest.fixture(scope="module")
def spm_gguf(tmp_path_factory):
    path = tmp_path_factory.mktemp("spm") / "spm.gguf"
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + PIECES
    types = [2, 3, 3] + [6] * 256 + [1] * len(PIECES)
    # longer, more frequent pieces score higher, so they merge first
    scores = [0.0, 0.0, 0.0] + [0.0] * 256 + [float(len(p)) - i * 0.01 for i, p in enumerate(PIECES)]
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_space_prefix(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.fixture(scope="module")
def both(spm_gguf):
    from transformers import AutoTokenizer

    ours = tokenizer_from_gguf(spm_gguf)
    ref = AutoTokenizer.from_pretrained(str(spm_gguf.parent), gguf_file=spm_gguf.name)
    return ours, ref


@pytest.mark.parametrize("text", TEXTS)
def test_sentencepiece_ids_equal_transformers(both, text):
    ours, ref = both
    assert ours.encode(text, add_bos=False, allow_special=True) == ref.encode(text, add_special_tokens=False)


@pytest.mark.parametrize("text", [t for t in TEXTS[:7] if not t.startswith(" ")])
def test_sentencepiece_round_trip(both, text):
    ours, _ = both
    assert ours.decode(ours.encode(text, add_bos=False)) == text


def test_leading_space_decodes_as_transformers_does(both):
    # transformers prepends no ▁ to text that starts with a space, and strips one on decode,
    # so a leading space is lost both there and here
    ours, ref = both
    text = "  two leading spaces"
    assert ours.decode(ours.encode(text, add_bos=False)) == ref.decode(ref.encode(text, add_special_tokens=False))


def test_bos_is_added_and_bytes_fall_back(both):
    ours, _ = both
    ids = ours.encode("日")
    assert ids[0] == 1 and ours.add_bos
    assert all(3 <= i < 259 for i in ids[2:])  # 日 is three UTF-8 byte tokens
