"""Training data: corpora, tokenizers trained on them, batches, and the QA format.

A corpus is text from .txt/.md files (or .jsonl with a "text" field), split into training and
validation by position (the last fraction is validation, so no passage appears in both).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from ..paths import resources_dir

RESOURCES = resources_dir()
DEFAULT_CORPUS = RESOURCES / "corpus" / "shakespeare.txt"
DEFAULT_QA = RESOURCES / "qa" / "shakespeare_qa.jsonl"
SPECIALS = ["<|endoftext|>", "<|pad|>"]


def read_corpus(paths: list[str | Path]) -> str:
    """Text of files and folders (.txt, .md, .jsonl with "text"), joined by blank lines."""
    parts = []
    for p in map(Path, paths):
        files = sorted(f for f in p.rglob("*") if f.suffix in (".txt", ".md", ".jsonl")) if p.is_dir() else [p]
        for f in files:
            if not f.exists():
                raise FileNotFoundError(f"{f} does not exist")
            if f.suffix == ".jsonl":
                for line in f.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        parts.append(str(json.loads(line).get("text", "")))
            else:
                parts.append(f.read_text(encoding="utf-8"))
    text = "\n\n".join(parts)
    if not text.strip():
        raise ValueError("the corpus is empty")
    return text


def split_text(text: str, val_fraction: float = 0.05) -> tuple[str, str]:
    cut = int(len(text) * (1 - val_fraction))
    cut = text.rfind("\n", 0, cut) + 1 or cut  # at a line boundary
    return text[:cut], text[cut:]


def train_tokenizer(text: str, vocab_size: int = 2048, kind: str = "bpe") -> Tokenizer:
    """A byte-level BPE (GPT-2 style) of vocab_size tokens, or a character-level vocabulary."""
    if kind == "char":
        chars = sorted(set(text))
        vocab = {c: i for i, c in enumerate(SPECIALS + chars)}
        tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=SPECIALS[1]))
        tok.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
        tok.decoder = decoders.Fuse()
    elif kind == "bpe":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator([text[i: i + 100_000] for i in range(0, len(text), 100_000)], trainer)
    else:
        raise ValueError(f"tokenizer kind must be 'bpe' or 'char', got {kind!r}")
    tok.add_special_tokens(SPECIALS)
    return tok


def encode_corpus(tok: Tokenizer, text: str) -> torch.Tensor:
    ids: list[int] = []
    for i in range(0, len(text), 200_000):
        ids += tok.encode(text[i: i + 200_000]).ids
    return torch.tensor(ids, dtype=torch.long)


def get_batch(data: torch.Tensor, block: int, batch: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """batch random windows of block+1 tokens: inputs x and next-token targets y."""
    if len(data) <= block + 1:
        raise ValueError(f"the text has {len(data)} tokens, fewer than a context of {block} needs")
    starts = torch.randint(0, len(data) - block - 1, (batch,), generator=gen)
    x = torch.stack([data[s: s + block] for s in starts.tolist()])
    y = torch.stack([data[s + 1: s + block + 1] for s in starts.tolist()])
    return x, y


# ------------------------------------------------------------------------------ question answering
QA_TEMPLATE = "Question: {question}\nAnswer:"


@dataclass
class QAPair:
    question: str
    answer: str
    split: str = "train"


def read_qa(path: str | Path) -> list[QAPair]:
    pairs = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            pairs.append(QAPair(str(d["question"]), str(d["answer"]), str(d.get("split", "train"))))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}, line {n}: not a QA pair ({e})") from None
    return pairs


def qa_example(tok: Tokenizer, pair: QAPair, block: int) -> tuple[list[int], list[int]]:
    """Token ids of "Question: …\\nAnswer: <answer><eos>" and the loss mask: 1 on the answer
    tokens (and the end token) only, so fine-tuning learns to answer, not to ask."""
    eos = tok.token_to_id(SPECIALS[0])
    prompt = tok.encode(QA_TEMPLATE.format(question=pair.question)).ids
    answer = tok.encode(" " + pair.answer).ids + [eos]
    ids = (prompt + answer)[-(block + 1):]
    mask = ([0] * len(prompt) + [1] * len(answer))[-(block + 1):]
    return ids, mask


def qa_batch(examples: list[tuple[list[int], list[int]]], pad: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs x, targets y and a weight per target: 1 for answer tokens, 0 for prompt and padding."""
    T = max(len(ids) for ids, _ in examples) - 1
    x = torch.full((len(examples), T), pad, dtype=torch.long)
    y = torch.full((len(examples), T), pad, dtype=torch.long)
    w = torch.zeros((len(examples), T))
    for i, (ids, mask) in enumerate(examples):
        n = len(ids) - 1
        x[i, :n] = torch.tensor(ids[:-1])
        y[i, :n] = torch.tensor(ids[1:])
        w[i, :n] = torch.tensor(mask[1:], dtype=torch.float)
    return x, y, w
