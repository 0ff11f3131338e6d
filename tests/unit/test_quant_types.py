"""GGUF's block formats on the fast path, kept exactly as the file stores them (no re-quantization
at load): each type's dequantization equals gguf.quants', each native variant's products equal the
exact formula, a model file of each type decodes like the float model of its exact weights, and a
truncated or misshapen tensor of each type is refused with a clear error."""

from __future__ import annotations

import struct

import gguf
import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType as Q

from playground.loading import load_model, memory
from playground.loading.errors import GGUFError
from playground.model import native
from playground.model.blocklinear import RAW_KINDS, BlockLinear
from tests.helpers import (
    RANDOM_BLOCK_SCALES,
    agreement,
    random_blocks,
    sharpen,
    tiny_hf_model,
    tiny_tokenizer,
    write_gguf,
)

TYPES = sorted(RAW_KINDS)


def _blocks(kind: str, rows: int, cols: int, seed: int = 0) -> np.ndarray:
    """Valid blocks of `kind`: random ones for the types gguf-py cannot write, else gguf's quantization."""
    if kind in RANDOM_BLOCK_SCALES:
        return random_blocks(kind, rows, cols, seed)
    w = np.random.default_rng(seed).normal(0, 0.05, (rows, cols)).astype(np.float32)
    return np.ascontiguousarray(gguf.quants.quantize(w, getattr(Q, kind))).view(np.uint8).reshape(rows, -1)


def _exact(raw: np.ndarray, kind: str) -> torch.Tensor:
    return torch.from_numpy(np.array(gguf.quants.dequantize(raw, getattr(Q, kind)), dtype=np.float32))


@pytest.mark.parametrize("kind", TYPES)
def test_dequantization_equals_gguf_quants_exactly(kind):
    raw = _blocks(kind, 24, 512)
    layer = BlockLinear(kind, raw, 512)
    exact = _exact(raw, kind)
    assert torch.equal(layer.dequantized(), exact)
    assert torch.equal(layer.rows(torch.tensor([5, 0, 23])), exact[[5, 0, 23]])
    assert torch.equal(layer.raw, torch.from_numpy(raw))  # the file's bytes, as they were


def _variants() -> list:
    return native.runnable() or pytest.skip(f"native kernels unavailable: {native.why_unavailable()}")


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("tokens", [1, 3, 40])
def test_native_products_equal_the_exact_formula_in_every_variant(kind, tokens, monkeypatch):
    raw = _blocks(kind, 40, 768, seed=tokens)
    layer = BlockLinear(kind, raw, 768)
    exact = _exact(raw, kind)
    x = torch.randn(tokens, 768, generator=torch.Generator().manual_seed(tokens))
    want = x @ exact.t()
    scale = (x.abs() @ exact.abs().t()).max()  # the size of a product's terms
    for variant in _variants():
        lib = native.library(variant)
        monkeypatch.setitem(native._libs, "native", lib)
        layer._mat = None
        for precise in (False, True):
            layer.precise = precise
            got = layer(x)
            if tokens >= 32:  # wide products: through a bfloat16 copy of the weight
                tol = 1e-2
            elif tokens == 1 and lib.int8 != "none" and kind not in ("F16", "BF16") and not precise:
                # one token: x rounded to int8 per group of 32 (as llama.cpp does): against that formula
                tol = 1e-4
                g = x.reshape(1, -1, 32)
                d = g.abs().amax(-1, keepdim=True) / 127
                xr = (torch.round(g / d) * d).reshape(1, -1)
                assert (got - xr @ exact.t()).abs().max() <= 1e-4 * scale, (variant, "int8 formula")
                tol = 1.5 / 127  # and within int8 rounding of the exact product
            else:  # float32 (and precise int8: x as two roundings, ~250 times finer)
                tol = 1e-4
            assert (got - want).abs().max() <= tol * scale, (variant, precise)


@pytest.mark.parametrize("kind", ["Q4_K", "Q5_0", "Q6_K", "Q5_K", "Q3_K", "Q2_K", "IQ4_NL", "IQ4_XS", "Q5_1", "BF16"])
def test_a_file_of_each_type_runs_on_the_fast_path_without_conversion(kind, tmp_path):
    hf = sharpen(tiny_hf_model("llama", hidden_size=256, intermediate_size=512, max_position_embeddings=512))
    path = write_gguf(hf, tiny_tokenizer(), tmp_path / f"{kind}.gguf", kind)
    fast, ref = load_model(path, device="cpu", dtype="auto"), load_model(path, device="cpu")
    assert fast.quantization == kind
    products = [m for m in fast.model.modules() if isinstance(m, BlockLinear)]
    assert products and all(m.kind == kind for m in products)  # kept as stored
    # the memory check before the load sizes these matrices as what they hold, not as 8-bit groups
    planned = sum(memory.matrix_bytes(kind, m.out_features * m.in_features) for m in products)
    assert planned == sum(m.raw.numel() * m.raw.element_size() for m in products)
    ids = torch.randint(0, 320, (1, 200), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = ref.model(ids)
        fast.model.setup_cache(8)
        got = torch.cat([fast.model(ids[:, t : t + 1], start=t, use_cache=True) for t in range(200)], 1)
    kl, top1 = agreement(expected, got)
    assert kl < 2e-3 and top1 >= 0.95, (kl, top1)


def test_types_mixed_inside_one_product_stay_separate_products(tmp_path):
    """Q4_K_M files store v (and some down projections) in Q6_K beside q and k in Q4_K: q|k|v
    cannot be one matrix, so it is three products side by side."""
    from playground.loading.gguf_file import GGUFFile
    from playground.loading.gguf_loader import _qlinear
    from playground.model.blocklinear import Parts

    path = write_gguf(tiny_hf_model("llama", hidden_size=256, intermediate_size=512), tiny_tokenizer(),
                      tmp_path / "m.gguf", "Q4_K")
    mixed = _retype(path, tmp_path / "mixed.gguf", "blk.0.attn_v.weight", "Q6_K")
    f = GGUFFile(mixed)
    try:
        parts = [("blk.0.attn_q.weight", 4), ("blk.0.attn_k.weight", 2), ("blk.0.attn_v.weight", None)]
        layer = _qlinear(f, parts)
        assert isinstance(layer, Parts) and [p.kind for p in layer.parts] == ["Q4_K", "Q4_K", "Q6_K"]
        x = torch.randn(2, 256)
        assert layer(x).shape == (2, layer.out_features)
    finally:
        f.close()
    lm = load_model(mixed, device="cpu", dtype="auto")
    with torch.no_grad():
        assert torch.isfinite(lm.model(torch.tensor([[1, 2, 3]]), use_cache=True)).all()


def _retype(src, dst, name: str, kind: str):
    """A copy of a GGUF file with one tensor stored as another block type (random valid blocks)."""
    r = gguf.GGUFReader(str(src))
    w = gguf.GGUFWriter(str(dst), str(bytes(r.fields["general.architecture"].parts[-1]), "utf-8"))
    for field in r.fields.values():
        if field.name.startswith("GGUF.") or field.name == "general.architecture":
            continue
        vtype = field.types[0]
        value = field.contents()
        if vtype == gguf.GGUFValueType.ARRAY:
            w.add_array(field.name, value)
        else:
            w.add_key_value(field.name, value, vtype)
    for t in r.tensors:
        shape = tuple(int(v) for v in reversed(t.shape))
        if t.name == name:
            w.add_tensor(t.name, random_blocks(kind, shape[0], shape[1]), raw_dtype=getattr(Q, kind))
        else:
            w.add_tensor(t.name, np.array(t.data), raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return dst


@pytest.mark.parametrize("kind", TYPES)
def test_a_truncated_tensor_of_each_type_is_refused(kind, tmp_path):
    from playground.loading.gguf_file import GGUFFile

    hf = tiny_hf_model("llama", hidden_size=256, intermediate_size=512)
    path = write_gguf(hf, tiny_tokenizer(), tmp_path / "m.gguf", kind)
    f = GGUFFile(path)
    last = max((t for t in f.tensors.values() if t.type.name == kind), key=lambda t: t.offset)
    f.close()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(path.read_bytes()[: last.offset + last.nbytes // 2])  # half of its blocks are gone
    with pytest.raises(GGUFError, match=rf"{last.name}.*truncated"):
        load_model(cut, device="cpu", dtype="auto")


@pytest.mark.parametrize("kind", [k for k in TYPES if k not in ("F16", "BF16")])
def test_a_row_that_is_not_whole_blocks_is_refused(kind, tmp_path):
    """A tensor whose row length is not a whole number of the type's blocks (a K-quant row of 320
    weights, a 32-weight format's row of 48) cannot be read: the file is refused, naming both."""
    block = gguf.GGML_QUANT_SIZES[getattr(Q, kind)][0]
    hf = tiny_hf_model("llama", hidden_size=256, intermediate_size=512)
    path = write_gguf(hf, tiny_tokenizer(), tmp_path / "m.gguf", kind)
    data = bytearray(path.read_bytes())
    name = b"blk.0.ffn_down.weight"
    at = data.index(struct.pack("<Q", len(name)) + name) + 8 + len(name)
    n_dims = struct.unpack_from("<I", data, at)[0]
    assert n_dims == 2
    struct.pack_into("<Q", data, at + 4, 512 + block // 2)  # its row length: half a block more
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(bytes(data))
    with pytest.raises(GGUFError, match=rf"blk.0.ffn_down.weight.*not a multiple of the {kind} block size {block}"):
        load_model(bad, device="cpu", dtype="auto")
