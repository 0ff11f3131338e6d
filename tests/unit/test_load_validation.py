"""The whole model is validated before anything is built: the five failure classes the fuzz found
(issue #17) are typed errors naming what is wrong, with no traceback, in bounded time and memory;
the tensor spec matches what transformers and llama.cpp's layout produce for every family; bad
configuration values, vocabularies and memory needs are refused up front."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fuzz.seeds import Seed, Shape, write_folder, write_gguf
from playground.loading import ModelLoadError, load_model, memory, validate
from playground.loading import errors as E
from tests.helpers import save_hf, tiny_hf_model, tiny_tokenizer, write_llama_gguf
from tests.hostile_files import ISSUE_17_CLASSES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def issue_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("issue17")
    return {name: make(d) for name, (make, _, _) in ISSUE_17_CLASSES.items()}


@pytest.mark.parametrize("name", list(ISSUE_17_CLASSES))
def test_issue_17_classes_are_typed_errors_naming_the_problem(issue_files, name):
    _, error, match = ISSUE_17_CLASSES[name]
    t = time.perf_counter()
    with pytest.raises(ModelLoadError, match=match) as e:
        load_model(issue_files[name], device="cpu", dtype="auto")
    assert type(e.value).__name__ == error
    assert time.perf_counter() - t < 5


@pytest.mark.slow
def test_issue_17_classes_in_a_memory_limited_child_stay_bounded(issue_files):
    """Each in its own forked child, its address space capped: refused, fast, small."""
    from fuzz import driver

    cases = [(p, Seed(n, p, "llama", "Q8_0")) for n, p in issue_files.items()]
    rep = driver.run(0, workers=1, cases=cases)
    assert rep.n == 5 and rep.counts["refused"] == 5, rep.counts
    assert rep.failures == 0 and rep.max_wall_s < 5
    assert rep.max_rss_growth < driver.BOUND_FIXED


def test_issue_17_classes_print_one_line_and_no_traceback(issue_files):
    """What the command line prints for each: `error: <message>`, exit status 1, no traceback."""
    script = (
        "import sys, json\nfrom playground.cli import main\nout = []\n"
        "for p in json.loads(sys.argv[1]):\n"
        "    try:\n        main(['generate', '--model', p, '-p', 'hi'])\n"
        "    except SystemExit as e:\n        out.append(str(e.code))\n"
        "print(json.dumps(out))\n"
    )
    paths = [str(issue_files[n]) for n in ISSUE_17_CLASSES]
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(paths)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    messages = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(messages) == 5
    for msg, (_, _, match) in zip(messages, ISSUE_17_CLASSES.values()):
        assert msg.startswith("error: ") and "\n" not in msg
        assert __import__("re").search(match, msg)


# ---------------------------------------------------------------------------- the tensor spec
@pytest.mark.parametrize("kind", ["llama", "qwen2", "gpt2", "mistral", "qwen3", "gemma2", "gemma3", "phi3", "smollm3"])
@pytest.mark.parametrize("tied", [True, False])
def test_spec_names_exactly_the_tensors_a_converted_gguf_holds(kind, tied, tmp_path):
    from playground.loading.gguf_file import GGUFFile
    from playground.loading.meta import gguf_config

    ref = tiny_hf_model(kind, tie_word_embeddings=tied)
    f = GGUFFile(write_llama_gguf(ref, tiny_tokenizer(), tmp_path / "m.gguf"))
    try:
        expected = validate.expected_tensors(f.get("general.architecture"), gguf_config(f), "gguf")
        assert expected == {n: t.shape for n, t in f.tensors.items()}
    finally:
        f.close()


@pytest.mark.parametrize("kind", ["llama", "qwen2", "gpt2", "mistral", "qwen3", "gemma2", "gemma3", "phi3", "smollm3"])
def test_spec_names_exactly_the_tensors_transformers_saves(kind, tmp_path):
    from safetensors import safe_open

    from playground.loading.meta import hf_config

    folder = save_hf(tiny_hf_model(kind, tie_word_embeddings=False), tmp_path / "m")
    raw = json.loads((folder / "config.json").read_text())
    arch, prefix = validate.HF_ARCHS[raw["architectures"][0]]
    with safe_open(str(folder / "model.safetensors"), "pt") as st:
        saved = {k: tuple(st.get_slice(k).get_shape()) for k in st.keys()}
    expected = validate.expected_tensors(arch, hf_config(raw), "hf")
    assert {(k if k == "lm_head.weight" else prefix + k): s for k, s in expected.items()} == saved


def test_a_missing_layer_tensor_is_named(tmp_path):
    p = write_gguf(tmp_path / "m.gguf", "qwen2", "Q8_0")
    p.write_bytes(p.read_bytes().replace(b"blk.1.attn_v.bias", b"blk.1.attn_v.bia_"))
    with pytest.raises(E.TensorError, match="lacks the tensor 'blk.1.attn_v.bias'"):
        load_model(p, device="cpu", dtype="auto")


def test_an_unusable_tensor_type_is_named(tmp_path):
    """A norm stored quantized: refused before anything is read, naming the tensor and the types we read."""
    import gguf

    p = write_gguf(tmp_path / "m.gguf", "llama", "F32")
    f = gguf.GGUFReader(str(p))
    t = next(t for t in f.tensors if t.name == "output_norm.weight")
    raw = bytearray(p.read_bytes())
    # the tensor info's type field sits right after its dims; rewrite F32 (0) as I32 (26)
    at = raw.find(b"output_norm.weight") + len(b"output_norm.weight") + 4 + 8 * len(t.shape)
    assert int.from_bytes(raw[at:at + 4], "little") == 0
    raw[at:at + 4] = (26).to_bytes(4, "little")
    p.write_bytes(bytes(raw))
    with pytest.raises(E.TensorError, match="'output_norm.weight' is stored as I32"):
        load_model(p, device="cpu", dtype="auto")


# ---------------------------------------------------------------------------- configuration
@pytest.mark.parametrize("key,value,error,match", [
    ("llama.block_count", 0, E.ConfigError, "n_layers must be positive, got 0"),
    ("llama.block_count", 1 << 40, E.ConfigError, "n_layers is 1099511627776"),
    ("llama.context_length", 1 << 40, E.ConfigError, "max_seq_len is"),
    ("llama.embedding_length", "wide", E.ConfigError, "'llama.embedding_length' is 'wide', not a whole number"),
    ("llama.attention.head_count", 3, E.ConfigError, "dim 64 is not divisible by n_heads 3"),
    ("llama.attention.layer_norm_rms_epsilon", -1.0, E.ConfigError, "the norm epsilon is -1.0"),
    ("llama.rope.freq_base", 0.0, E.ConfigError, "the RoPE base is 0.0"),
    ("tokenizer.ggml.eos_token_id", 100000, E.TokenizerError, "eos_token_id is 100000; expected a token id"),
    ("tokenizer.ggml.add_bos_token", 7, E.TokenizerError, "add_bos_token is 7"),
])
def test_bad_metadata_values_are_named(tmp_path, key, value, error, match):
    p = write_gguf(tmp_path / "m.gguf", "llama", "Q8_0", meta_override={key: value})
    with pytest.raises(error, match=match):
        load_model(p, device="cpu", dtype="auto")


@pytest.mark.parametrize("field,value,match", [
    ("vocab_size", "many", "'vocab_size' is 'many', not a whole number"),
    ("num_hidden_layers", -2, "n_layers must be positive, got -2"),
    ("num_key_value_heads", 3, "n_heads 4 is not a multiple of n_kv_heads 3"),
    ("rms_norm_eps", {"a": 1}, "'rms_norm_eps' is {'a': 1}, not a number"),
    ("max_position_embeddings", 1e30, "'max_position_embeddings' is 1e\\+30, not a whole number"),
    ("architectures", [{"x": 1}], "the architecture {'x': 1} is not a name"),
])
def test_bad_config_json_values_are_named(tmp_path, field, value, match):
    folder = write_folder(tmp_path / "m", "llama", "BF16")
    cfg = json.loads((folder / "config.json").read_text())
    cfg[field] = value
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(E.ConfigError, match=match):
        load_model(folder, device="cpu", dtype="auto")


def test_a_tokenizer_larger_than_the_embedding_is_refused(tmp_path):
    folder = write_folder(tmp_path / "m", "llama", "BF16", Shape(vocab=200))  # the tokenizer has 300 tokens
    with pytest.raises(E.TokenizerError, match="tokenizer.json has token ids up to 299 but the model's embedding only 200 rows"):
        load_model(folder, device="cpu", dtype="auto")


def test_a_token_id_past_the_embedding_is_refused(tmp_path):
    """One vocabulary entry renumbered past the embedding (found by the fuzz: the first forward failed)."""
    folder = write_folder(tmp_path / "m", "llama", "BF16")
    tj = json.loads((folder / "tokenizer.json").read_text())
    tj["model"]["vocab"]["Ġtiny"] = 65535
    (folder / "tokenizer.json").write_text(json.dumps(tj))
    with pytest.raises(E.TokenizerError, match="token ids up to 65,535 but the model's embedding only 320 rows"):
        load_model(folder, device="cpu", dtype="auto")


def test_tokenizer_library_errors_keep_their_message(tmp_path):
    folder = write_folder(tmp_path / "m", "llama", "BF16")
    tj = json.loads((folder / "tokenizer.json").read_text())
    tj["model"]["merges"][0] = ["Ġ", "zzq"]
    (folder / "tokenizer.json").write_text(json.dumps(tj))
    with pytest.raises(E.TokenizerError, match="tokenizer.json could not be parsed: .*zzq.* out of vocabulary") as e:
        load_model(folder, device="cpu", dtype="auto")
    assert e.value.__cause__ is not None  # the library's exception, kept


def test_a_template_that_does_not_compile_is_a_typed_error(tmp_path):
    p = write_gguf(tmp_path / "m.gguf", "llama", "Q8_0", meta_override={"tokenizer.chat_template": "{% for x in %}"})
    with pytest.raises(E.TokenizerError, match="the chat template does not compile"):
        load_model(p, device="cpu", dtype="auto")


# ---------------------------------------------------------------------------- memory
def test_memory_need_is_checked_before_anything_is_allocated(tmp_path, monkeypatch):
    p = write_gguf(tmp_path / "m.gguf", "llama", "Q8_0")
    monkeypatch.setattr(memory, "available_bytes", lambda: 50 << 20)
    with pytest.raises(E.NotEnoughMemoryError, match=r"needs about .*KV cache .* for 256 tokens.*50 MB available"):
        load_model(p, device="cpu", dtype="auto")
    monkeypatch.setattr(memory, "available_bytes", lambda: 8 << 30)
    load_model(p, device="cpu", dtype="auto")


def test_the_kv_cache_for_the_requested_context_counts(tmp_path, monkeypatch):
    p = write_gguf(tmp_path / "m.gguf", "llama", "Q8_0", meta_override={"llama.context_length": 1 << 24})
    monkeypatch.setattr(memory, "available_bytes", lambda: 1 << 30)
    load_model(p, device="cpu", dtype="auto")  # the default plan: 8,192 tokens of cache
    with pytest.raises(E.NotEnoughMemoryError, match="16,777,216 tokens"):
        load_model(p, device="cpu", dtype="auto", context=1 << 24)  # 2 layers × 2 × 2 × 16 × 2 B × 16.7 M = 4.3 GB


def test_plan_adds_up():
    cfg = validate.ModelConfig(vocab_size=1000, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, hidden_dim=128,
                               max_seq_len=4096)
    p = memory.plan(cfg, weights=10 << 20, transient=1 << 20, context=1000)
    assert p.kv_cache == 2 * 2 * 2 * 16 * 1000 * 2 and p.context == 1000
    assert p.total == p.weights + p.transient + p.kv_cache + p.activations + memory.SLACK
