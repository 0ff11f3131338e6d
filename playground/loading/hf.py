"""Load Hugging Face model folders (config.json, *.safetensors, tokenizer.json) and our own checkpoints.

Safetensors headers are checked before the library maps the file: the header length, every
dtype and shape, and that the byte ranges tile the data section exactly. Pickle-based weights
(`pytorch_model.bin`, `.pt`, `.pth`) are refused: unpickling runs code from the file.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer

from ..model.config import ModelConfig
from ..tokenization.tokenizer import TextTokenizer
from . import validate
from .errors import (
    ConfigError,
    MissingFileError,
    SafetensorsError,
    TokenizerError,
    UnsafeFormatError,
    is_library_error,
)
from .meta import hf_config, is_weight_file
from .safetensors_file import LazyTensor, MappedSafetensors, STensor, read_header_table

PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"}


def refuse_pickle(path: Path) -> None:
    raise UnsafeFormatError(
        f"{path.name} is a PyTorch pickle file. Loading a pickle can run any code hidden in it, so "
        "Playground never does. Use the model's .safetensors or .gguf version instead."
    )


def _weight_files(folder: Path) -> list[Path]:
    index = folder / "model.safetensors.index.json"
    if index.exists():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
            raise SafetensorsError(f"{index.name} is not a valid shard index") from None
        if not isinstance(weight_map, dict) or not all(isinstance(v, str) and v for v in weight_map.values()):
            raise SafetensorsError(f"{index.name}: its weight_map is not a table of file names")
        files = []
        for name in dict.fromkeys(weight_map.values()):
            try:
                p = (folder / name).resolve()
                inside, there = p.parent == folder.resolve(), p.is_file()
            except (OSError, ValueError):
                raise SafetensorsError(f"{index.name} names a shard that is not a file name: {name[:80]!r}") from None
            if not inside:
                raise SafetensorsError(f"{index.name} names a shard outside the folder: {name!r}")
            if not there:
                raise MissingFileError(f"the shard {name} listed in {index.name} is missing")
            files.append(p)
        return files
    files = sorted(f for f in folder.glob("*.safetensors") if is_weight_file(f.name))
    if files:
        return files
    pickles = [p for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES]
    if pickles:
        refuse_pickle(pickles[0])
    raise MissingFileError(f"{folder} has no .safetensors weights")


_LLAMA_KEYS = {
    "self_attn.q_proj": "attention.wq", "self_attn.k_proj": "attention.wk", "self_attn.v_proj": "attention.wv",
    "self_attn.o_proj": "attention.wo", "self_attn.q_norm": "attention.q_norm", "self_attn.k_norm": "attention.k_norm",
    "mlp.gate_proj": "feed_forward.w1", "mlp.up_proj": "feed_forward.w3", "mlp.down_proj": "feed_forward.w2",
    "input_layernorm": "attention_norm", "post_attention_layernorm": "ffn_norm",
}
# Gemma 2/3 name their four norms differently: post_attention_layernorm follows the attention there
_SANDWICH_KEYS = {
    "input_layernorm": "attention_norm", "post_attention_layernorm": "post_attention_norm",
    "pre_feedforward_layernorm": "ffn_norm", "post_feedforward_layernorm": "post_ffn_norm",
}
# where the language model's weights sit in multimodal checkpoints (Gemma 3 4B and up); their
# vision tower is not loaded
_LM_PREFIXES = ("model.language_model.", "language_model.model.", "model.")


def _rows(v: LazyTensor, a: int, b: int) -> LazyTensor:
    """Rows a..b of a lazy tensor (a part of a fused weight)."""
    return LazyTensor((b - a, *v.shape[1:]), lambda: v()[a:b].contiguous(), v.names)


def _llama_key(k: str) -> str:
    """A llama-shaped checkpoint's key without its prefix ("layers.0.mlp.up_proj.weight", "lm_head.weight");
    other tensors (a vision tower's) come out under names nothing maps."""
    if k == "language_model.lm_head.weight":
        return "lm_head.weight"
    for prefix in _LM_PREFIXES:
        if k.startswith(prefix):
            return k[len(prefix):]
    return k


def hf_state_dict(raw_sd: dict[str, LazyTensor], cfg: ModelConfig) -> dict[str, LazyTensor]:
    """Map Hugging Face parameter names (and GPT-2's transposed Conv1D weights) onto ours; the
    values stay lazy (read, transposed and split only when the model copies them in). Phi-3's fused
    qkv and gate/up weights are split; Gemma's norms store w for a multiplier of 1 + w, so 1 is added."""
    sd: dict[str, LazyTensor] = {}
    if cfg.arch == "llama":
        keys = {**_LLAMA_KEYS, **(_SANDWICH_KEYS if cfg.sandwich_norm else {})}
        plus_one = cfg.family in ("gemma2", "gemma3")
        q_rows, kv_rows = cfg.n_heads * cfg.head_dim, cfg.n_kv_heads * cfg.head_dim
        for k, v in raw_sd.items():
            k = _llama_key(k)
            if plus_one and k.endswith("norm.weight"):
                v = LazyTensor(v.shape, lambda v=v: v().float() + 1.0, v.names)
            if k == "embed_tokens.weight":
                sd["tok_embeddings.weight"] = v
            elif k == "norm.weight":
                sd["norm.weight"] = v
            elif k == "lm_head.weight":
                sd["output.weight"] = v
            elif k.startswith("layers."):
                _, i, rest = k.split(".", 2)
                mod, _, param = rest.rpartition(".")
                L = f"layers.{i}."
                if mod == "self_attn.qkv_proj":  # Phi-3: q, k and v rows in one matrix
                    for name, a, b in (("wq", 0, q_rows), ("wk", q_rows, q_rows + kv_rows),
                                       ("wv", q_rows + kv_rows, q_rows + 2 * kv_rows)):
                        sd[L + f"attention.{name}.{param}"] = _rows(v, a, b)
                elif mod == "mlp.gate_up_proj":  # Phi-3: gate rows, then up rows
                    half = v.shape[0] // 2
                    sd[L + f"feed_forward.w1.{param}"], sd[L + f"feed_forward.w3.{param}"] = (
                        _rows(v, 0, half), _rows(v, half, 2 * half))
                elif mod in keys:
                    sd[L + f"{keys[mod]}.{param}"] = v
        return sd

    def transposed(v: LazyTensor) -> LazyTensor:
        return LazyTensor(v.shape[::-1], lambda: v().t().contiguous(), v.names)

    def third(v: LazyTensor, j: int, param: str) -> LazyTensor:  # Conv1D c_attn holds q, k, v side by side
        if param == "weight":
            return LazyTensor((v.shape[1] // 3, v.shape[0]), lambda: v().t().chunk(3, dim=0)[j].contiguous(), v.names)
        return LazyTensor((v.shape[0] // 3,), lambda: v().chunk(3, dim=0)[j].contiguous(), v.names)

    for k, v in raw_sd.items():
        k = k.removeprefix("transformer.")
        if k.startswith("wte."):
            sd["tok_embeddings.weight"] = v
        elif k.startswith("wpe."):
            sd["pos_embeddings.weight"] = v
        elif k.startswith("ln_f."):
            sd["norm." + k.split(".")[-1]] = v
        elif k == "lm_head.weight":
            sd["output.weight"] = v
        elif k.startswith("h."):
            _, i, rest = k.split(".", 2)
            L = f"layers.{i}."
            mod, _, param = rest.rpartition(".")
            if mod == "ln_1":
                sd[L + "attention_norm." + param] = v
            elif mod == "ln_2":
                sd[L + "ffn_norm." + param] = v
            elif mod == "attn.c_attn":
                for j, name in enumerate(("wq", "wk", "wv")):
                    sd[L + f"attention.{name}.{param}"] = third(v, j, param)
            elif mod in ("attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
                dst = {"attn.c_proj": "attention.wo", "mlp.c_fc": "feed_forward.fc", "mlp.c_proj": "feed_forward.proj"}[mod]
                sd[L + f"{dst}.{param}"] = transposed(v) if param == "weight" else v
    return sd


def _token_str(v: Any, key: str) -> str:
    if isinstance(v, dict):
        v = v.get("content", "")
    if v is None:
        return ""
    if not isinstance(v, str):
        raise TokenizerError(f"tokenizer_config.json: {key} is {v!r}, not a token")
    return v


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ConfigError(f"{path.name} could not be read: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name} is not a JSON object")
    return data


def _chat_template(folder: Path, tc: dict[str, Any]) -> str | None:
    """The chat template: chat_template.jinja, else chat_template.json, else tokenizer_config.json's."""
    if (folder / "chat_template.jinja").exists():
        try:
            return (folder / "chat_template.jinja").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise TokenizerError(f"chat_template.jinja could not be read: {e}") from None
    template = tc.get("chat_template")
    if (folder / "chat_template.json").exists():
        template = _read_json(folder / "chat_template.json").get("chat_template", template)
    if isinstance(template, list):  # named templates: take the default one
        named = [t for t in template if isinstance(t, dict) and t.get("name") == "default"]
        template = named[0].get("template") if named else None
    if template is not None and not isinstance(template, str):
        raise TokenizerError(f"the chat template is {type(template).__name__}, not text")
    return template


def hf_tokenizer(folder: Path, raw_config: dict[str, Any], n_model: int) -> TextTokenizer:
    """tokenizer.json plus the special tokens and chat template of tokenizer_config.json,
    generation_config.json and config.json. Whatever the tokenizers library or the template
    compiler raises becomes a TokenizerError with its message."""
    tj = folder / "tokenizer.json"
    if not tj.exists():
        raise MissingFileError(
            f"{folder.name} has no tokenizer.json. Playground needs the fast-tokenizer file that "
            "Hugging Face repositories ship beside the weights."
        )
    try:
        text = tj.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise TokenizerError(f"tokenizer.json is not UTF-8 text: {e}") from None
    check_subword_prefix(text)
    try:
        tok = Tokenizer.from_str(text)
    except BaseException as e:  # the tokenizers library raises a bare Exception, or panics
        if not is_library_error(e):
            raise
        raise TokenizerError(f"tokenizer.json could not be parsed: {e}") from e
    tc = _read_json(folder / "tokenizer_config.json") if (folder / "tokenizer_config.json").exists() else {}
    template = _chat_template(folder, tc)
    bos, eos = _token_str(tc.get("bos_token"), "bos_token"), _token_str(tc.get("eos_token"), "eos_token")
    gc = _read_json(folder / "generation_config.json") if (folder / "generation_config.json").exists() else {}
    add_bos = tc.get("add_bos_token")
    if add_bos is not None and not isinstance(add_bos, bool):
        raise TokenizerError(f"tokenizer_config.json: add_bos_token is {add_bos!r}, not true or false")
    return wrap_tokenizer(
        folder.name or str(folder),
        lambda: _special_tokens(tok, raw_config, gc, bos, eos, add_bos, template, n_model),
    )


_PREFIX_SET = re.compile(r'"continuing_subword_prefix"\s*:\s*"(?!")')  # a non-empty string


def check_subword_prefix(text: str) -> None:
    """Refuse what makes the tokenizers library panic while it builds a BPE model (a Rust panic
    prints its own message and backtrace on stderr before we can type it, and one kind aborts the
    process): it forms each merge's token as a + b with the first len(continuing_subword_prefix)
    bytes of b cut off, blindly, so b shorter than the prefix panics, and a cut inside one of b's
    characters makes invalid UTF-8 that brings the whole process down. Only a file that sets a
    prefix is parsed here (most leave it null or empty; a 2 MB tokenizer.json parses in ~30 ms)."""
    if not _PREFIX_SET.search(text):
        return
    try:
        model = json.loads(text).get("model")
    except (json.JSONDecodeError, RecursionError, AttributeError):
        return  # the library refuses it with its own message
    if not isinstance(model, dict) or model.get("type", "BPE") != "BPE":
        return
    prefix, merges = model.get("continuing_subword_prefix"), model.get("merges")
    if not isinstance(prefix, str) or not prefix or not isinstance(merges, list):
        return
    cut = len(prefix.encode("utf-8"))
    for i, m in enumerate(merges):
        parts = m.split(" ") if isinstance(m, str) else m
        if not (isinstance(parts, list) and len(parts) == 2 and isinstance(parts[1], str)):
            continue  # the library refuses a malformed merge itself
        b = parts[1].encode("utf-8", "surrogatepass")
        try:
            ok = len(b) >= cut and b[cut:].decode("utf-8") is not None
        except UnicodeDecodeError:
            ok = False
        if not ok:
            raise TokenizerError(
                f"tokenizer.json: merge {i} ({parts[0][:20]!r} {parts[1][:20]!r}) does not continue with the "
                f"model's continuing_subword_prefix ({len(prefix)} characters), so it cannot be built")


def _special_tokens(tok, raw_config, gc, bos, eos, add_bos, template, n_model: int) -> TextTokenizer:
    """bos must be a token the model has (it is fed to it); an end-of-sequence id the model can
    never produce is harmless and dropped, but one that is not a whole number is an error."""
    bos_id = tok.token_to_id(bos) if bos else raw_config.get("bos_token_id")
    if bos_id is not None:
        validate.check_token_id(bos_id, n_model, "bos_token_id")
    eos_ids: list[int] = []
    for src, key in ((gc.get("eos_token_id"), "generation_config.json eos_token_id"),
                     (raw_config.get("eos_token_id"), "config.json eos_token_id"),
                     (tok.token_to_id(eos) if eos else None, "eos_token")):
        for i in src if isinstance(src, list) else [src]:
            if i is None:
                continue
            if isinstance(i, bool) or not isinstance(i, int):
                raise TokenizerError(f"{key} is {i!r}, not a token id")
            if 0 <= i < n_model and i not in eos_ids:
                eos_ids.append(i)
    if add_bos is None:  # infer from the post-processor
        add_bos = bos_id is not None and tok.encode("a").ids[:1] == [bos_id]
    return TextTokenizer(
        tok, bos_id=bos_id, eos_ids=eos_ids, add_bos=bool(add_bos), chat_template=template,
        bos_token=bos, eos_token=eos,
    )


def wrap_tokenizer(where: str, build):
    """Run build(); what the tokenizers library or the chat template compiler raise there becomes
    a TokenizerError that keeps the original message."""
    from ..tokenization.chat_template import ChatTemplateError

    try:
        return build()
    except TokenizerError:
        raise
    except ChatTemplateError as e:
        raise TokenizerError(f"{where}: {e}") from e
    except BaseException as e:  # tokenizers raises bare Exceptions, or panics
        if not is_library_error(e):
            raise
        raise TokenizerError(f"{where}: the tokenizer could not be built: {type(e).__name__}: {e}") from e


@dataclass
class HFFolder:
    """A model folder whose config, tensor table and tokenizer have been read and validated;
    no weight has been read yet."""

    folder: Path
    cfg: ModelConfig
    format: str  # "hf" | "playground"
    arch: str  # its validate.SPECS entry ("" for a Playground checkpoint)
    table: dict[str, STensor]  # the tensors the model needs, named as in the files
    prefix: str  # the prefix its names carry ("model.", "transformer.", or "")
    tokenizer: TextTokenizer
    file_bytes: int

    def stored_type(self) -> str:
        """What most matrices are stored as (F32, F16, BF16)."""
        counts = Counter(t.dtype for t in self.table.values() if len(t.shape) == 2)
        return counts.most_common(1)[0][0] if counts else "?"

    def lazy_state(self, reader: MappedSafetensors) -> dict[str, LazyTensor]:
        """Every tensor under our parameter names, read on demand."""
        raw = {k: reader.lazy(k) for k in self.table}
        return raw if self.format == "playground" else hf_state_dict(raw, self.cfg)


def open_hf_folder(folder: Path) -> HFFolder:
    """Read and check config.json, every safetensors header and the tokenizer files."""
    cfg_path = folder / "config.json"
    if not cfg_path.exists():
        raise MissingFileError(f"{folder} has no config.json, so it is not a Hugging Face model folder")
    raw = _read_json(cfg_path)
    cfg = hf_config(raw)
    validate.check_config(cfg, "config.json")
    fmt = "playground" if "playground" in raw else "hf"
    files = _weight_files(folder)
    table = read_header_table(files)
    where = folder.name or str(folder)
    if fmt == "playground":
        arch, prefix = "", ""
        expected = _own_expected(cfg)
    else:
        archs = raw.get("architectures") or []
        arch, prefix = validate.HF_ARCHS.get(archs[0] if archs else "", ("gpt2" if cfg.arch == "gpt2" else "llama", ""))
        if prefix and not any(k.startswith(prefix) for k in table):
            prefix = next((p for p in validate.HF_PREFIX_ALTERNATIVES if any(k.startswith(p) for k in table)), "")
        expected = {prefix + n if n != "lm_head.weight" else n: s
                    for n, s in validate.expected_tensors(arch, cfg, "hf").items()}
    found = {n: (t.shape, t.dtype) for n, t in table.items()}
    validate.check_tensors(found, expected, where, validate.HF_FLOAT_TYPES, validate.HF_FLOAT_TYPES)
    tokenizer = hf_tokenizer(folder, raw, cfg.vocab_size)
    # the largest id the tokenizer can produce, not its count (a vocabulary's ids may have gaps)
    ids = tokenizer.tok.get_vocab(with_added_tokens=True).values()
    validate.check_token_ids(cfg.vocab_size, max(ids, default=-1) + 1, "tokenizer.json")
    size = sum(p.stat().st_size for p in files)
    return HFFolder(folder, cfg, fmt, arch, {n: table[n] for n in expected}, prefix, tokenizer, size)


def _own_expected(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """A Playground checkpoint holds our Transformer's parameters under their own names."""
    from ..model.transformer import Transformer

    with torch.device("meta"):
        model = Transformer(cfg)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if cfg.tie_embeddings:
        expected.pop("output.weight", None)
    return expected
