"""One display name per model: the file's own name when a person can read it, else the file name."""

from __future__ import annotations

from pathlib import Path

import pytest

from playground.loading.names import display_name, file_display_name, is_human_readable

SMOLLM2 = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.mark.parametrize("name", ["SmolLM2 135M Instruct", "Qwen2.5 0.5B Instruct", "Llama 3.2 1B Instruct",
                                  "Mistral 7B Instruct v0.2", "Phi3 Mini 4k Instruct", "studio-llama-tiny"])
def test_names_people_write_are_kept(name):
    assert is_human_readable(name)
    assert display_name(name, "/m/x.gguf") == name


@pytest.mark.parametrize("name", ["Smollm2 135M 8k Lc100K Mix1 Ep2", "", "   ", "a\x00b", "x" * 60, None])
def test_converter_run_tags_paths_and_empties_fall_back_to_the_file_name(name):
    assert not is_human_readable(name)
    assert display_name(name, f"/m/{SMOLLM2}") == "SmolLM2-135M-Instruct"


@pytest.mark.parametrize("path, expected", [
    (f"/m/{SMOLLM2}", "SmolLM2-135M-Instruct"),
    ("/m/qwen2.5-0.5b-instruct-q4_k_m.gguf", "qwen2.5-0.5b-instruct"),
    ("/m/model-IQ3_XS.gguf", "model"),
    ("/m/tinyllama.F16.gguf", "tinyllama"),
    ("/m/plain.gguf", "plain"),
    ("/home/u/.cache/huggingface/hub/models--HuggingFaceTB--SmolLM2-135M/snapshots/abc", "SmolLM2-135M"),
    ("/home/u/playground/models/my-run", "my-run"),
])
def test_file_names(path, expected):
    assert file_display_name(Path(path)) == expected


def test_a_repository_path_gives_its_last_part():
    assert display_name("HuggingFaceTB/SmolLM2-135M-Instruct", "/x/snapshots/abc") == "SmolLM2-135M-Instruct"


def test_an_ollama_blob_keeps_its_manifest_name():
    assert display_name(None, "/o/blobs/sha256-0123", fallback="tiny:latest") == "tiny:latest"


def test_smollm2_gets_one_name_from_loading_and_from_discovery(smollm2_path):
    from playground.loading.discovery import FoundModel
    from playground.loading.gguf_file import GGUFFile

    f = GGUFFile(smollm2_path)
    raw = f.get("general.name")
    f.close()
    assert raw == "Smollm2 135M 8k Lc100K Mix1 Ep2"  # what the file says; not what we show
    found = FoundModel(smollm2_path, "default", "gguf", 0, file_display_name(smollm2_path))
    assert found.name == found.describe()["name"] == "SmolLM2-135M-Instruct"
