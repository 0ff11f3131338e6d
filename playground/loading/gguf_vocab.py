"""Rebuild a `tokenizers.Tokenizer` from the vocabulary stored in a GGUF file.

Two kinds of vocabulary appear in GGUF files:
- "gpt2": byte-level BPE (GPT-2, Llama 3, Qwen2, SmolLM): tokens, merges, and a pre-tokenizer
  named by `tokenizer.ggml.pre`, which we map to the split regex llama.cpp uses for it;
- "llama": SentencePiece-style BPE (Llama 2, Mistral, TinyLlama): tokens with scores, `▁` for
  spaces, `<0xNN>` byte-fallback tokens; the merges are implied by the scores.
Tokens the file marks as control become special tokens; user-defined ones stay whole but plain.
"""

from __future__ import annotations

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

from .errors import GGUFError

# token types in tokenizer.ggml.token_type
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

_GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
_LLAMA3 = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_QWEN2 = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# tokenizer.ggml.pre → the regexes applied in order (as in llama.cpp's llama-vocab.cpp)
PRE_TOKENIZERS: dict[str, list[str]] = {
    "default": [_GPT2], "gpt-2": [_GPT2], "gpt2": [_GPT2], "phi-2": [_GPT2], "olmo": [_GPT2],
    "smollm": [r"\p{N}", _GPT2], "starcoder": [r"\p{N}", _GPT2], "refact": [r"\p{N}", _GPT2],
    "codeshell": [r"\p{N}", _GPT2], "command-r": [r"\p{N}", _GPT2], "exaone": [r"\p{N}", _GPT2],
    "llama3": [_LLAMA3], "llama-bpe": [_LLAMA3], "llama-v3": [_LLAMA3], "dbrx": [_LLAMA3],
    "smaug-bpe": [_LLAMA3], "falcon3": [_LLAMA3],
    "qwen2": [_QWEN2], "deepseek-r1-qwen": [_QWEN2],
}
# pre-tokenizers whose vocabularies take a whole word from the vocabulary before merging
IGNORE_MERGES = {"llama3", "llama-bpe", "llama-v3", "dbrx", "smaug-bpe", "falcon3"}


def _added_tokens(tokens: list[str], types) -> tuple[list[AddedToken], list[AddedToken]]:
    if types is None:
        return [], []
    special = [AddedToken(t, special=True, normalized=False) for t, ty in zip(tokens, types) if ty == CONTROL]
    user = [AddedToken(t, special=False, normalized=False) for t, ty in zip(tokens, types) if ty == USER_DEFINED]
    return special, user


def build_byte_level(tokens: list[str], merges: list[str], pre: str | None, types=None) -> Tokenizer:
    vocab = {t: i for i, t in enumerate(tokens)}
    pairs = []
    for m in merges:
        a, sep, b = m.partition(" ")
        if not sep:
            raise GGUFError(f"malformed merge rule {m!r} in the GGUF vocabulary")
        pairs.append((a, b))
    pre = pre or "default"
    regexes = PRE_TOKENIZERS.get(pre, [_GPT2])
    bpe = models.BPE(vocab=vocab, merges=pairs, fuse_unk=False, ignore_merges=pre in IGNORE_MERGES)
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(r), behavior="isolated") for r in regexes]
        + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    )
    tok.decoder = decoders.ByteLevel()
    special, user = _added_tokens(tokens, types)
    tok.add_special_tokens(special)
    tok.add_tokens(user)
    return tok


def build_sentencepiece(tokens: list[str], scores, types, unk_id: int | None, add_space_prefix: bool) -> Tokenizer:
    vocab = {t: i for i, t in enumerate(tokens)}
    score = {t: float(scores[i]) if scores is not None else -float(i) for i, t in enumerate(tokens)}
    normal = {t for i, t in enumerate(tokens) if types is None or types[i] in (NORMAL, USER_DEFINED)}
    # A merge (a, b) exists for every normal token that splits into two tokens; better-scored
    # tokens merge first, as SentencePiece's BPE does.
    merges = []
    for t in normal:
        for i in range(1, len(t)):
            a, b = t[:i], t[i:]
            if a in vocab and b in vocab:
                merges.append((score[t], vocab[a], vocab[b], a, b))
    merges.sort(key=lambda m: (-m[0], m[1], m[2]))
    unk = tokens[unk_id] if unk_id is not None and 0 <= unk_id < len(tokens) else None
    bpe = models.BPE(
        vocab=vocab, merges=[(m[3], m[4]) for m in merges], unk_token=unk, fuse_unk=True, byte_fallback=True
    )
    tok = Tokenizer(bpe)
    # As transformers' Llama tokenizer: spaces become ▁, and one ▁ is prepended unless the text
    # already starts with a space (sentencepiece and llama.cpp would prepend it regardless).
    tok.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement="▁", prepend_scheme="first" if add_space_prefix else "never", split=False
    )
    dec = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    if add_space_prefix:
        dec.append(decoders.Strip(" ", 1, 0))
    tok.decoder = decoders.Sequence(dec)
    special, user = _added_tokens(tokens, types)
    tok.add_special_tokens(special)
    tok.add_tokens(user)
    return tok
