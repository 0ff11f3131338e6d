"""One display name per model, wherever it is shown (toolbar, picker, architecture view, replies).

The rule: the name the file gives itself (GGUF `general.name`, a Hugging Face config's
`_name_or_path`) when a person can read it, else the file's own name. Converters fill
`general.name` from the source folder when nobody set one, title-casing training-run tags on
the way: SmolLM2's file says "Smollm2 135M 8k Lc100K Mix1 Ep2", its file name
"SmolLM2-135M-Instruct.Q4_1.gguf". Nothing here reads a file or imports torch.
"""

from __future__ import annotations

import re
from pathlib import Path

MAX_LEN = 48
# a training-run tag as converters title-case it: "Lc100K", "Mix1", "Ep2", "Bs512", "Lr3E"
_RUN_TAG = re.compile(r"^[A-Za-z]{1,4}\d+[A-Za-z]?$")
# what quantizing tools append to a file name: ".Q4_1", "-q4_k_m", ".IQ3_XS", "-F16", ".bf16"
_QUANT_SUFFIX = re.compile(r"[.\-_](?:I?Q\d\w*|F16|F32|BF16|FP16|GGUF)$", re.IGNORECASE)


def is_human_readable(name: str | None) -> bool:
    """True for a name a person chose or would choose: printable, short, not a path, and not a
    string of training-run tags (two or more words like "Ep2" or "Lc100K")."""
    if not name or not name.strip() or len(name) > MAX_LEN:
        return False
    if any(not ch.isprintable() for ch in name) or "/" in name or "\\" in name:
        return False
    tags = [w for w in name.split() if _RUN_TAG.match(w)]
    return len(tags) < 2


def file_display_name(path: str | Path) -> str:
    """A model's name from its path: the file name without extension and quantization suffix,
    a folder's name, or the repository name of a Hugging Face cache folder."""
    p = Path(path)
    for part in p.parts:
        if part.startswith("models--"):  # ~/.cache/huggingface/hub/models--Org--Name/snapshots/<hash>
            return part.split("--")[-1]
    stem = p.name[: -len(".gguf")] if p.name.lower().endswith(".gguf") else p.name
    return _QUANT_SUFFIX.sub("", stem) or stem


def display_name(metadata_name: str | None, path: str | Path, fallback: str | None = None) -> str:
    """The one name shown for a model: its own name when readable, else its file's name (or
    `fallback`, where the path is not a name: Ollama keeps files as content hashes)."""
    name = (metadata_name or "").strip()
    if "/" in name and is_human_readable(name.rsplit("/", 1)[-1]):  # "HuggingFaceTB/SmolLM2-135M"
        name = name.rsplit("/", 1)[-1]
    return name if is_human_readable(name) else (fallback or file_display_name(path))
