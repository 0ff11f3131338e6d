"""The five classes of hostile GGUF files that a mutation fuzz found ending in untyped exceptions
(issue #17), each made from a tiny, complete Llama GGUF (byte-level BPE vocabulary with merges, a
chat template, F32 norms and Q8_0 matrices) with exactly one thing wrong."""

from __future__ import annotations

from pathlib import Path

from fuzz.seeds import Shape, write_gguf

S = Shape()


def merge_out_of_vocabulary(folder: Path) -> Path:
    """A BPE merge names a token that is not in the vocabulary (tokenizers raised a bare Exception)."""
    return write_gguf(folder / "merge-oov.gguf", "llama", "Q8_0", merges_extra=["Ġ zzq"])


def missing_tensor(folder: Path) -> Path:
    """token_embd.weight renamed (KeyError: 'token_embd.weight' in the loader)."""
    p = write_gguf(folder / "missing-tensor.gguf", "llama", "Q8_0")
    raw = p.read_bytes()
    assert raw.count(b"token_embd.weight") == 1
    p.write_bytes(raw.replace(b"token_embd.weight", b"token_embx.weight"))
    return p


def kv_heads_disagree(folder: Path) -> Path:
    """head_count_kv says 4 where k and v hold 2 heads (the first forward failed: shape '[T, 8, 16]' is invalid)."""
    return write_gguf(folder / "kv-heads.gguf", "llama", "Q8_0", meta_override={"llama.attention.head_count_kv": 4})


def ffn_width_disagrees(folder: Path) -> Path:
    """feed_forward_length says 96 where the MLP is 128 wide (a size mismatch in the first forward)."""
    return write_gguf(folder / "ffn-width.gguf", "llama", "Q8_0", meta_override={"llama.feed_forward_length": S.hidden - 32})


def huge_allocation(folder: Path) -> Path:
    """key_length planted as 2**28: a KV cache of hundreds of GB (the old loader tried to allocate it)."""
    return write_gguf(folder / "huge-heads.gguf", "llama", "Q8_0", meta_override={"llama.attention.key_length": 1 << 28})


ISSUE_17_CLASSES = {
    "merge-out-of-vocabulary": (merge_out_of_vocabulary, "TokenizerError", "merge rule .* names 'zzq'"),
    "missing-tensor": (missing_tensor, "TensorError", "lacks the tensor 'token_embd.weight'"),
    "kv-heads-disagree": (kv_heads_disagree, "TensorError", "attn_k.weight' has shape \\[32, 64\\].*implies \\[64, 64\\]"),
    "ffn-width-disagrees": (ffn_width_disagrees, "TensorError", "ffn_gate.weight' has shape \\[128, 64\\].*implies \\[96, 64\\]"),
    "huge-allocation": (huge_allocation, "ConfigError", "head_dim is 268435456; expected a whole number from 1 to 2,048"),
}
