"""The fast CPU path (quantized weights, fused projections, bfloat16) agrees with the float32
reference model on the same GGUF file, within the tolerance bfloat16 activations allow."""

from __future__ import annotations

import gguf
import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType as Q

from playground.engine.generate import TokenEvent, generate
from playground.loading import load_model
from playground.model import attention, native
from playground.model.fast import FastLlama
from playground.model.quant import NATIVE_DENSE_ROWS, QLinear, q4_blocks, q8_0_blocks
from playground.sampling import SamplingParams
from tests.helpers import agreement, sharpen, tiny_hf_model, tiny_tokenizer, write_llama_gguf


def _layer(kind: str, rows=96, cols=128, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(rows, cols)).astype(np.float32)
    raw = gguf.quants.quantize(w, getattr(Q, kind))
    exact = gguf.quants.dequantize(raw, getattr(Q, kind))  # what the file means
    layer = QLinear("q8", *q8_0_blocks(raw)) if kind == "Q8_0" else QLinear("q4", *q4_blocks(raw, kind))
    return layer, torch.from_numpy(np.ascontiguousarray(exact))


@pytest.mark.parametrize("kind", ["Q4_0", "Q4_1", "Q8_0"])
def test_gguf_blocks_are_kept_exactly(kind):
    layer, exact = _layer(kind)
    assert torch.equal(layer.dequantized(), exact)
    assert torch.equal(layer.rows(torch.tensor([3, 0, 95])), exact[[3, 0, 95]])
    dense = layer.dense().float()  # bfloat16 for prefill: rounding only
    assert (dense - exact).abs().max() <= 0.01 * exact.abs().max()


def test_float_requantized_to_8bit_groups():
    w = torch.randn(64, 96)
    layer = QLinear.from_float(w)
    assert (layer.dequantized() - w).abs().max() <= w.abs().max() / 127
    with pytest.raises(ValueError, match="disagree"):
        QLinear("q8", layer.qs[:, :64], layer.d)


def test_native_kernels_are_built_with_the_package():
    """The library comes from the package build (never from a compiler on the user's machine) and
    holds a variant this CPU runs; PLAYGROUND_NATIVE picks which (the suite runs once per variant:
    make test-variants)."""
    lib = native.library()
    if native.setting() == "off":
        assert lib is None and "PLAYGROUND_NATIVE" in native.why_unavailable()
        return
    assert native.library_path() is not None, "the kernels library is not built: pip install -e . builds it"
    runs = native.runnable()
    assert runs and runs[-1] == "portable"
    if native.setting() in runs:
        assert lib is not None and lib.variant == native.setting()
    elif native.setting() == "native":
        assert lib is not None and lib.variant == runs[0], native.why_unavailable()
    else:
        assert lib is None and native.why_unavailable()
    assert native.library("portable").describe() == "portable/none"


def test_playground_native_forces_a_variant(monkeypatch):
    """Each variant this CPU runs can be forced; one it cannot run (or that is not built for this
    architecture) leaves the PyTorch kernels in use, saying why."""
    if native.setting() == "off" or native.library_path() is None:
        pytest.skip(f"native kernels unavailable: {native.why_unavailable()}")
    runs = native.runnable()
    for variant in native.VARIANTS:
        monkeypatch.setenv("PLAYGROUND_NATIVE", variant)
        monkeypatch.setattr(native, "_libs", {})
        monkeypatch.setattr(native, "_why", {})
        lib = native.library()
        if variant in runs:
            assert lib is not None and lib.variant == variant
        else:
            assert lib is None
            assert variant in native.why_unavailable() and ("lacks" in native.why_unavailable() or
                                                            "no " in native.why_unavailable())
    monkeypatch.setenv("PLAYGROUND_NATIVE", "sse9")
    monkeypatch.setattr(native, "_libs", {})
    assert native.library() is None and "unknown" in native.why_unavailable()


def _products(layer: QLinear, x: torch.Tensor, monkeypatch) -> dict[str, torch.Tensor]:
    """The layer's product through each backend: every native variant this CPU runs, PyTorch's kernels."""
    out = {}
    for name in [*native.runnable(), "torch"]:
        lib = native.library(name) if name != "torch" else None
        if name != "torch" and lib is None:
            continue
        monkeypatch.setitem(native._libs, "native", lib)
        out[name] = layer(x).float()
    return out


@pytest.mark.parametrize("kind", ["Q4_0", "Q4_1", "Q8_0"])
@pytest.mark.parametrize("rows", [1, 3, 7, 40, 64])
@pytest.mark.parametrize("cols", [160, 1184])  # 5 and 37 groups: odd counts, short and long rows
def test_products_agree_with_the_exact_weight(kind, rows, cols, monkeypatch):
    layer, exact = _layer(kind, rows=80, cols=cols, seed=rows)
    x = torch.randn(rows, cols, generator=torch.Generator().manual_seed(rows))
    ref = x @ exact.t()
    libs = {name: native.library(name) for name in native.runnable()}
    got = _products(layer, x, monkeypatch)
    for name, y in got.items():
        # bfloat16 activations in PyTorch's kernels and in the dense prefill: about 1% off
        tol = 2e-2
        if name != "torch" and rows < NATIVE_DENSE_ROWS:
            if rows == 1 and libs[name].int8 != "none":
                # one token: x rounded to int8 per group of 32 (as llama.cpp does), the whole product
                # (d·q and the minimum m) taken with x as rounded
                assert (y - _int8_kernel(layer, x)).abs().max() <= 1e-4 * ref.abs().max()
                tol = 2e-2
            else:
                tol = 1e-4  # float32 throughout
        assert (y - ref).abs().max() <= tol * ref.abs().max(), name


def _int8_rows(x: torch.Tensor) -> torch.Tensor:
    """x rounded as the int8 kernels round it: per group of 32, to d·q with d = max|x|/127."""
    g = x.reshape(x.shape[0], -1, 32)
    d = g.abs().amax(-1, keepdim=True) / 127
    return (torch.round(g / d.clamp_min(1e-30)).clamp(-127, 127) * d).reshape(x.shape)


def _int8_kernel(layer: QLinear, x: torch.Tensor) -> torch.Tensor:
    """x rounded to int8 per group, times the exact weight: for q4 the minimum m multiplies the sum of
    x *as rounded*, so the rounding errors of d·q and m cancel as in the exact product (llama.cpp's q8_1)."""
    return _int8_rows(x) @ layer.dequantized().t()


def test_bias_is_added(monkeypatch):
    layer, exact = _layer("Q4_1", rows=64, cols=64)
    layer = QLinear("q4", layer.qs, layer.d, layer.m, bias=torch.arange(64.0))
    x = torch.randn(2, 64)
    for name, y in _products(layer, x, monkeypatch).items():
        ref = x @ exact.t() + torch.arange(64.0)
        assert (y - ref).abs().max() <= 2e-2 * ref.abs().max(), name


@pytest.fixture(scope="module", params=["Q4_1", "Q4_0", "Q8_0"])
def pair(request, tmp_path_factory):
    hf = sharpen(tiny_hf_model("llama", max_position_embeddings=512))
    path = write_llama_gguf(hf, tiny_tokenizer(), tmp_path_factory.mktemp("f") / f"t-{request.param}.gguf",
                            request.param)
    return load_model(path, device="cpu", dtype="auto"), load_model(path, device="cpu")


def _ids(n=40):
    return torch.randint(0, 320, (1, n), generator=torch.Generator().manual_seed(5))


# The fast path against the float32 reference on the same file, teacher-forced over 256 positions:
# mean KL(reference ‖ fast) and top-1 agreement (the sharpened tiny model's distributions are
# about as peaked as a trained model's; see benchmarks/bench_accuracy.py for real models).
FAST_KL, FAST_TOP1 = 2e-3, 0.95


@pytest.mark.parametrize("how", ["prompt", "token by token"])
def test_fast_agrees_with_the_reference_over_256_positions(pair, how):
    fast, ref = pair
    assert isinstance(fast.model, FastLlama)
    ids = _ids(256)
    m = fast.model
    with torch.no_grad():
        expected = ref.model(ids)
        if how == "prompt":  # one pass over all positions (the prefill path)
            got = m(ids, use_cache=False)
        else:  # one token at a time (the decode path: the native kernels where they built)
            m.setup_cache(8)
            got = torch.cat([m(ids[:, t : t + 1], start=t, use_cache=True) for t in range(256)], 1)
    kl, top1 = agreement(expected, got)
    assert kl < FAST_KL and top1 >= FAST_TOP1, (kl, top1)


def test_fast_cached_decode_equals_full_forward(pair):
    fast, _ = pair
    ids = _ids(30)
    m = fast.model
    with torch.no_grad():
        full = m(ids, use_cache=False)
        m.setup_cache(16)  # small on purpose: the cache must grow
        steps = [m(ids[:, :9], start=0, use_cache=True)]
        for t in range(9, 30):
            steps.append(m(ids[:, t : t + 1], start=t, use_cache=True))
    stepped = torch.cat(steps, 1)
    assert (stepped - full).abs().max().item() < 0.02 * full.abs().max().item()


def test_fast_attention_probabilities(pair):
    fast, ref = pair
    ids = _ids(12)
    _, extra = fast.model(ids, use_cache=False, need_weights=True)
    _, ref_extra = ref.model(ids, need_weights=True)
    att = extra["attentions"]
    assert len(att) == 2 and att[0].shape == (1, 4, 12, 12)
    assert torch.allclose(att[1].sum(-1), torch.ones(1, 4, 12), atol=1e-3)
    assert att[1][0, 0].triu(1).abs().max() == 0
    assert (att[1].float() - ref_extra["attentions"][1]).abs().max() < 0.05


def test_attention_probabilities_in_head_chunks_equal_whole_layers(pair, monkeypatch):
    from playground.engine.inspect import attention_maps

    fast, _ = pair
    ids = _ids(12)[0].tolist()
    whole = attention_maps(fast, ids).weights
    monkeypatch.setattr(attention, "WEIGHTS_CHUNK_BYTES", 1)  # one head at a time
    chunked = attention_maps(fast, ids).weights
    assert np.array_equal(whole, chunked)
    _, extra = fast.model(torch.tensor([ids]), use_cache=False, need_weights=True)
    assert extra["attentions"][0].shape == (1, 4, 12, 12)


def test_fast_generation_streams(pair):
    fast, _ = pair
    fast.tokenizer.eos_ids = []
    events = list(generate(fast.model, fast.tokenizer, fast.tokenizer.encode("the quick"),
                           SamplingParams(temperature=0, max_tokens=20)))
    assert sum(isinstance(e, TokenEvent) for e in events) == 20


def test_gpt2_gguf_falls_back_to_the_reference_model(tmp_path):
    path = write_llama_gguf(tiny_hf_model("gpt2"), tiny_tokenizer(), tmp_path / "g.gguf")
    assert not isinstance(load_model(path, device="cpu", dtype="auto").model, FastLlama)


def test_last_only_returns_the_last_positions_logits(pair):
    fast, ref = pair
    ids = _ids(20)
    with torch.no_grad():
        for lm in (fast, ref):
            full = lm.model(ids, use_cache=False)
            last = lm.model(ids, use_cache=False, last_only=True)
            assert last.shape == (1, 1, full.shape[-1])
            # one row may take the int8 kernels where many take float32 ones: within their rounding
            assert (last[0, 0] - full[0, -1]).abs().max() <= 2e-2 * full.abs().max()
            assert last[0, 0].argmax() == full[0, -1].argmax()


def test_native_forward_equals_the_pytorch_path(pair, monkeypatch):
    """The native kernels' whole forward pass (prompt of a few tokens, then decoding) against the
    PyTorch loop over the same weights and the same cache layout."""
    fast, _ = pair
    m = fast.model
    if m.native() is None:
        pytest.skip(f"native kernels unavailable: {native.why_unavailable()}")
    ids = _ids(30)
    with torch.no_grad():
        m.setup_cache(40)
        nat = [m(ids[:, :9], start=0, use_cache=True)] + [m(ids[:, t : t + 1], start=t, use_cache=True) for t in range(9, 30)]
        k_native = m.cache.k.clone()
        monkeypatch.setattr(m, "use_native", False)
        m.setup_cache(40)
        ref = [m(ids[:, :9], start=0, use_cache=True)] + [m(ids[:, t : t + 1], start=t, use_cache=True) for t in range(9, 30)]
    a, b = torch.cat(nat, 1), torch.cat(ref, 1)
    kl, top1 = agreement(b, a)  # float32 and int8 activations against bfloat16 ones
    assert kl < FAST_KL and top1 >= 0.9, (kl, top1)  # (30 positions: one differing top token is 3%)
    # the cache it leaves is the PyTorch path's cache (so either can continue the other's work)
    k_ref = m.cache.k[:, :, :, :30].float()
    assert (k_native[:, :, :, :30].float() - k_ref).abs().max() < 0.05 * k_ref.abs().max()


@pytest.mark.parametrize("variant", ["native", "avx512", "avx2", "neon"])
def test_native_simd_builds_equal_the_portable_build(variant, tmp_path, monkeypatch):
    simd, scalar = native.library(variant), native.library("portable")
    if simd is None or scalar is None:
        pytest.skip(f"{variant} kernels unavailable: {native.why_unavailable(variant) or native.why_unavailable('portable')}")
    path = write_llama_gguf(tiny_hf_model("llama"), tiny_tokenizer(), tmp_path / "t.gguf", "Q4_1")
    ids = _ids(20)
    outs = []
    for lib in (simd, scalar):
        monkeypatch.setitem(native._libs, "native", lib)
        m = load_model(path, device="cpu", dtype="auto").model
        with torch.no_grad():
            outs.append(torch.cat([m(ids[:, :12], use_cache=True, start=0)] +
                                  [m(ids[:, t : t + 1], start=t, use_cache=True) for t in range(12, 20)], 1))
    # several tokens at once: float32 in both; one token: the SIMD builds round x to int8
    assert (outs[0][:, :12] - outs[1][:, :12]).abs().max() < 1e-4 * outs[1].abs().max()
    assert (outs[0] - outs[1]).abs().max() < 2e-2 * outs[1].abs().max()


def test_native_rejects_bad_tokens(pair):
    m = pair[0].model
    if m.native() is None:
        pytest.skip("native kernels unavailable")
    with pytest.raises(IndexError, match="vocabulary"):
        m(torch.tensor([[1, 99999]]), use_cache=False)


def test_native_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_NATIVE", "0")
    monkeypatch.setattr(native, "_libs", {})
    monkeypatch.setattr(native, "_why", {})
    assert native.library() is None
    assert "PLAYGROUND_NATIVE" in native.why_unavailable()


_POOL_STRESS = """
import torch
from playground.model import native
from playground.model.quant import QLinear
lib = native.library()
layer = QLinear.from_float(torch.randn(256, 128, generator=torch.Generator().manual_seed(0)))
x = torch.randn(1, 128, generator=torch.Generator().manual_seed(1))
first = layer(x)
for i in range(300):  # a job posted right after the pool (re)starts must be picked up
    lib.pg_set_threads(1 + i % 3)
    assert torch.equal(layer(x), first), i
print("ok")
"""


def test_native_thread_pool_restarts_under_load():
    import subprocess
    import sys

    if native.library() is None:
        pytest.skip(f"native kernels unavailable: {native.why_unavailable()}")
    proc = subprocess.run([sys.executable, "-c", _POOL_STRESS], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_native_decoding_is_reproducible_across_thread_counts(pair):
    """Replay depends on it: the same seed gives the same tokens, whatever the number of threads
    (each output row and each attention head is computed by one thread, in a fixed order)."""
    fast, _ = pair
    lib = native.library()
    if fast.model.native() is None or lib is None:
        pytest.skip(f"native kernels unavailable: {native.why_unavailable()}")
    fast.tokenizer.eos_ids = []
    prompt = fast.tokenizer.encode("the quick brown fox")
    runs = []
    try:
        for threads in (1, 2, 3, 2):
            lib.pg_set_threads(threads)
            events = generate(fast.model, fast.tokenizer, prompt, SamplingParams(temperature=1.0, seed=7, max_tokens=24))
            runs.append([e.token_id for e in events if isinstance(e, TokenEvent)])
    finally:
        lib.pg_set_threads(max(1, torch.get_num_threads()))
    assert len(runs[0]) == 24 and all(r == runs[0] for r in runs)


_FORK_CHILD = """
import os, torch
from playground.model import native
from playground.model.quant import QLinear
lib = native.library()
lib.pg_set_threads(2)
layer = QLinear.from_float(torch.randn(256, 128, generator=torch.Generator().manual_seed(0)))
x = torch.randn(1, 128, generator=torch.Generator().manual_seed(1))
first = layer(x)
pid = os.fork()
if pid == 0:  # the child has no pool workers: it must still compute, not wait for them forever
    os._exit(0 if torch.equal(layer(x), first) else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork() here")
def test_native_kernels_work_in_a_forked_child():
    import subprocess
    import sys

    if native.library() is None:
        pytest.skip(f"native kernels unavailable: {native.why_unavailable()}")
    proc = subprocess.run([sys.executable, "-c", _FORK_CHILD], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip().splitlines()[-1] == "0", proc.stderr[-2000:]


@pytest.mark.parametrize("qtype", ["Q8_0", "F32", "Q4_1"])
def test_qwen2_fast_path_with_qkv_bias_follows_the_reference(qtype, tmp_path):
    """Qwen2 (q/k/v biases) on the fast path, whatever the file's type (F32 is requantized to
    8-bit groups): prompt and token-by-token decoding against the float32 model of the same file
    (which equals transformers', checked in test_gguf_parity)."""
    hf = tiny_hf_model("qwen2")
    path = write_llama_gguf(hf, tiny_tokenizer(), tmp_path / f"q-{qtype}.gguf", qtype)
    fast, ref = load_model(path, device="cpu", dtype="auto"), load_model(path, device="cpu")
    assert isinstance(fast.model, FastLlama)
    ids = torch.randint(0, hf.config.vocab_size, (1, 24), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        expected = ref.model(ids)
        if qtype == "F32":
            assert (expected - hf(ids).logits).abs().max() < 1e-4
        m = fast.model
        m.setup_cache(32)
        got = torch.cat([m(ids[:, :10], start=0, use_cache=True)] + [m(ids[:, t : t + 1], start=t, use_cache=True) for t in range(10, 24)], 1)
    scale = expected.abs().max().item()
    assert (got - expected).abs().max().item() < 0.03 * scale
    assert (got.argmax(-1) == expected.argmax(-1)).float().mean().item() >= 0.9


@pytest.mark.parametrize("heads,kv", [(6, 2), (4, 4), (8, 2), (10, 2)])  # 3, 1, 4 and 5 heads per KV head
def test_native_attention_head_size_64(heads, kv, tmp_path, monkeypatch):
    """SmolLM2's head size (64, where the attention loops take their vector paths) with several
    grouped-query layouts: the native forward pass equals the PyTorch path and the portable build,
    prompt and decode."""
    hf = tiny_hf_model("llama", hidden_size=64 * heads, num_attention_heads=heads, num_key_value_heads=kv,
                       intermediate_size=128)
    path = write_llama_gguf(hf, tiny_tokenizer(), tmp_path / "g.gguf", "Q8_0")
    ids = torch.randint(0, 320, (1, 40), generator=torch.Generator().manual_seed(9))

    def run(use_native: bool, lib=None):
        if lib is not None:
            monkeypatch.setitem(native._libs, "native", lib)
        m = load_model(path, device="cpu", dtype="auto").model
        m.use_native = use_native
        with torch.no_grad():
            m.setup_cache(48)
            return torch.cat([m(ids[:, :20], start=0, use_cache=True)] + [m(ids[:, t : t + 1], start=t, use_cache=True) for t in range(20, 40)], 1)

    simd = native.library()
    if simd is None:
        pytest.skip(f"native kernels unavailable: {native.why_unavailable()}")
    scalar = native.library("portable")
    got = run(True, simd)
    ref = run(False)
    scale = ref.abs().max().item()
    assert (got - ref).abs().max().item() < 0.03 * scale
    assert (got.argmax(-1) == ref.argmax(-1)).float().mean().item() >= 0.9
    portable = run(True, scalar)
    # float32 in both for the prompt; sums in another order can round a key or value of the
    # bfloat16 cache the other way (2^-8 of it), which the next layers carry: a few 1e-4 at most
    assert (got[:, :20] - portable[:, :20]).abs().max() < 5e-4 * scale
    assert (got - portable).abs().max() < 2e-2 * scale


@pytest.mark.parametrize("variant", ["native", "portable"])
def test_native_prompt_attention_equals_attend(variant):
    """The prefill path's attention step on the native kernels (attention.attend_native) against
    attention.attend in float32 over the same bfloat16 keys and values: grouped queries, a prompt
    after earlier positions, a sliding window, soft-capped scores, head sizes with and without the
    kernels' unrolled loops, q and the cache as strided views."""
    lib = native.library(variant)
    if lib is None:
        pytest.skip(f"{variant} kernels unavailable: {native.why_unavailable(variant)}")
    g = torch.Generator().manual_seed(5)
    for nh, nkv, hs, T, start, window, cap in [(9, 3, 64, 70, 0, None, None), (4, 1, 256, 40, 7, 16, None),
                                               (4, 2, 48, 33, 0, None, 30.0), (2, 2, 128, 5, 60, None, None)]:
        S = start + T
        cache = torch.randn(2, 2, 1, nkv, S + 5, hs, generator=g).bfloat16()  # (k|v, L, B, nkv, max_len, hs)
        k, v = cache[0, 1, :, :, :S], cache[1, 1, :, :, :S]
        q = torch.randn(1, T, nh, hs, generator=g).transpose(1, 2) * 2  # (B, nh, T, hs), not contiguous
        got = attention.attend_native(lib, q, k, v, start, None, window, cap)
        ref, _ = attention.attend(q, k.float(), v.float(), start, None, window, cap)
        ref = ref.transpose(1, 2).reshape(1, T, nh * hs)
        assert (got - ref).abs().max().item() < 1e-5, (nh, nkv, hs, T, start, window, cap)


def test_decode_one_equals_a_one_token_forward(pair):
    """generate()'s shortcut for one token (decode_one) gives the logits the model's own one-token
    pass gives, growing the cache the same way, and refuses what the model refuses."""
    m = pair[0].model
    if m.native() is None:
        assert m.decode_one(1, 0) is None
        return
    ids = _ids(24)[0].tolist()
    with torch.inference_mode():
        m.setup_cache(12)  # small on purpose: both must grow the cache
        m(torch.tensor([ids[:8]]), start=0, use_cache=True)
        want = [m(torch.tensor([[t]]), start=8 + i, use_cache=True)[0, -1] for i, t in enumerate(ids[8:])]
        m.setup_cache(12)
        m(torch.tensor([ids[:8]]), start=0, use_cache=True)
        got = [m.decode_one(t, 8 + i) for i, t in enumerate(ids[8:])]
        assert all(torch.equal(a, b) for a, b in zip(want, got))
        with pytest.raises(IndexError, match="vocabulary"):
            m.decode_one(2**32 + 1, 24)  # would wrap to a valid id as int32
        with pytest.raises(ValueError, match="longer than the context"):
            m.decode_one(1, m.config.max_seq_len)


def test_prompt_attention_runs_natively_only_where_that_is_the_faster(pair, monkeypatch):
    """The prefill path's attention goes to the native kernels on AVX-512 (attend_prompt, faster than
    PyTorch's SDPA) and stays on SDPA on the other variants (AVX2's attend on one thread made a
    512-token prompt 40% slower)."""
    from playground.model import fast

    m = pair[0].model
    if not m.use_native:
        pytest.skip("no native kernels")
    for variant, routed in [("avx2", False), ("neon", False), ("portable", False), ("avx512", True)]:
        lib = type("Kernels", (), {"variant": variant})()
        monkeypatch.setattr(native, "library", lambda *a, lib=lib, **k: lib)
        m._route_attention()
        assert all((layer.attention.kernels is lib) == routed for layer in m.layers), variant
        assert variant in fast.PROMPT_ATTENTION_VARIANTS or not routed
    monkeypatch.undo()
    m._route_attention()  # back to the real library's choice
