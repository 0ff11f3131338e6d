"""Load Hugging Face model folders (config.json, *.safetensors, tokenizer.json) and our own checkpoints.

Safetensors headers are checked before the library maps the file: the header length, every
dtype and shape, and that the byte ranges tile the data section exactly. Pickle-based weights
(`pytorch_model.bin`, `.pt`, `.pth`) are refused: unpickling runs code from the file.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from tokenizers import Tokenizer

from ..model.config import ModelConfig
from ..tokenization.tokenizer import TextTokenizer
from .errors import MissingFileError, SafetensorsError, UnsafeFormatError, UnsupportedArchitectureError
from .meta import hf_config, is_weight_file

_ST_DTYPES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
    "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8,
}
MAX_HEADER = 100 * 1024 * 1024

PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"}


def refuse_pickle(path: Path) -> None:
    raise UnsafeFormatError(
        f"{path.name} is a PyTorch pickle file. Loading a pickle can run any code hidden in it, so "
        "Playground never does. Use the model's .safetensors or .gguf version instead."
    )


def check_safetensors(path: Path) -> dict[str, Any]:
    """Validate a safetensors header against the file; return the header."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise SafetensorsError(f"{path.name} is too short to be a safetensors file")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER or n > size - 8:
            raise SafetensorsError(f"{path.name}: the header claims {n} bytes, but the file has only {size}")
        try:
            header = json.loads(fh.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SafetensorsError(f"{path.name}: the header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path.name}: the header is not a JSON object")
    data_size = size - 8 - n
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise SafetensorsError(f"{path.name}: tensor {name!r} has a malformed header entry") from None
        if dtype not in _ST_DTYPES:
            raise SafetensorsError(f"{path.name}: tensor {name!r} has unknown dtype {dtype!r}")
        if not all(isinstance(d, int) and d >= 0 for d in shape) or not (
            isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= data_size
        ):
            raise SafetensorsError(
                f"{path.name}: tensor {name!r} points outside the file (bytes {begin}..{end} of {data_size})"
            )
        expected = int(np.prod(shape, dtype=object)) * _ST_DTYPES[dtype]
        if end - begin != expected:
            raise SafetensorsError(
                f"{path.name}: tensor {name!r} of shape {shape} needs {expected} bytes, the header gives {end - begin}"
            )
        spans.append((begin, end, name))
    spans.sort()
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            raise SafetensorsError(f"{path.name}: tensor {name!r} overlaps another or leaves a gap in the data")
        pos = end
    if pos != data_size:
        raise SafetensorsError(f"{path.name}: the data section has {data_size - pos} bytes no tensor accounts for")
    return header


def read_safetensors(paths: list[Path]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for p in paths:
        check_safetensors(p)
        with safe_open(str(p), framework="pt") as st:
            for k in st.keys():
                out[k] = st.get_tensor(k)
    return out


def _weight_files(folder: Path) -> list[Path]:
    index = folder / "model.safetensors.index.json"
    if index.exists():
        try:
            weight_map = json.loads(index.read_text())["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise SafetensorsError(f"{index.name} is not a valid shard index") from None
        files = []
        for name in dict.fromkeys(weight_map.values()):
            p = (folder / name).resolve()
            if p.parent != folder.resolve():
                raise SafetensorsError(f"{index.name} names a shard outside the folder: {name!r}")
            if not p.exists():
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


def _llama_key(k: str) -> str:
    """A llama-shaped checkpoint's key without its prefix ("layers.0.mlp.up_proj.weight", "lm_head.weight");
    other tensors (a vision tower's) come out under names nothing maps."""
    if k == "language_model.lm_head.weight":
        return "lm_head.weight"
    for prefix in _LM_PREFIXES:
        if k.startswith(prefix):
            return k[len(prefix):]
    return k


def hf_state_dict(raw_sd: dict[str, torch.Tensor], cfg: ModelConfig) -> dict[str, torch.Tensor]:
    """Map Hugging Face parameter names (and GPT-2's transposed Conv1D weights) onto ours. Phi-3's fused
    qkv and gate/up weights are split; Gemma's norms store w for a multiplier of 1 + w, so 1 is added."""
    sd: dict[str, torch.Tensor] = {}
    if cfg.arch == "llama":
        keys = {**_LLAMA_KEYS, **(_SANDWICH_KEYS if cfg.sandwich_norm else {})}
        plus_one = cfg.family in ("gemma2", "gemma3")
        q_rows, kv_rows = cfg.n_heads * cfg.head_dim, cfg.n_kv_heads * cfg.head_dim
        for k, v in raw_sd.items():
            k = _llama_key(k)
            if plus_one and k.endswith("norm.weight"):
                v = v.float() + 1.0
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
                    for name, part in zip(("wq", "wk", "wv"), v.split((q_rows, kv_rows, kv_rows), dim=0)):
                        sd[L + f"attention.{name}.{param}"] = part.contiguous()
                elif mod == "mlp.gate_up_proj":  # Phi-3: gate rows, then up rows
                    gate, up = v.chunk(2, dim=0)
                    sd[L + f"feed_forward.w1.{param}"], sd[L + f"feed_forward.w3.{param}"] = gate.contiguous(), up.contiguous()
                elif mod in keys:
                    sd[L + f"{keys[mod]}.{param}"] = v
        return sd
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
                w = v.t() if param == "weight" else v  # Conv1D stores (in, out)
                for name, part in zip(("wq", "wk", "wv"), w.chunk(3, dim=0)):
                    sd[L + f"attention.{name}.{param}"] = part.contiguous()
            elif mod in ("attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
                dst = {"attn.c_proj": "attention.wo", "mlp.c_fc": "feed_forward.fc", "mlp.c_proj": "feed_forward.proj"}[mod]
                sd[L + f"{dst}.{param}"] = (v.t() if param == "weight" else v).contiguous()
    return sd


def _token_str(v: Any) -> str:
    if isinstance(v, dict):
        return str(v.get("content", ""))
    return str(v) if v is not None else ""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MissingFileError(f"{path.name} could not be read: {e}") from None
    if not isinstance(data, dict):
        raise MissingFileError(f"{path.name} is not a JSON object")
    return data


def hf_tokenizer(folder: Path, raw_config: dict[str, Any]) -> TextTokenizer:
    tj = folder / "tokenizer.json"
    if not tj.exists():
        raise MissingFileError(
            f"{folder.name} has no tokenizer.json. Playground needs the fast-tokenizer file that "
            "Hugging Face repositories ship beside the weights."
        )
    try:
        tok = Tokenizer.from_file(str(tj))
    except Exception as e:  # the tokenizers library raises a bare Exception
        raise MissingFileError(f"tokenizer.json could not be parsed: {e}") from None
    tc = _read_json(folder / "tokenizer_config.json") if (folder / "tokenizer_config.json").exists() else {}
    template = tc.get("chat_template")
    if isinstance(template, list):  # named templates: take the default one
        template = next((t["template"] for t in template if t.get("name") == "default"), None)
    if (folder / "chat_template.jinja").exists():
        template = (folder / "chat_template.jinja").read_text(encoding="utf-8")
    elif (folder / "chat_template.json").exists():
        template = _read_json(folder / "chat_template.json").get("chat_template", template)
    bos, eos = _token_str(tc.get("bos_token")), _token_str(tc.get("eos_token"))
    bos_id = tok.token_to_id(bos) if bos else raw_config.get("bos_token_id")
    eos_ids: list[int] = []
    gc = _read_json(folder / "generation_config.json") if (folder / "generation_config.json").exists() else {}
    for src in (gc.get("eos_token_id"), raw_config.get("eos_token_id"), tok.token_to_id(eos) if eos else None):
        for i in src if isinstance(src, list) else [src]:
            if isinstance(i, int) and i not in eos_ids:
                eos_ids.append(i)
    add_bos = tc.get("add_bos_token")
    if add_bos is None:  # infer from the post-processor
        add_bos = bos_id is not None and tok.encode("a").ids[:1] == [bos_id]
    return TextTokenizer(
        tok, bos_id=bos_id, eos_ids=eos_ids, add_bos=bool(add_bos), chat_template=template,
        bos_token=bos, eos_token=eos,
    )


def load_hf_folder(folder: Path) -> tuple[ModelConfig, dict[str, torch.Tensor], TextTokenizer]:
    cfg_path = folder / "config.json"
    if not cfg_path.exists():
        raise MissingFileError(f"{folder} has no config.json, so it is not a Hugging Face model folder")
    raw = _read_json(cfg_path)
    try:
        cfg = hf_config(raw)
    except KeyError as e:
        raise UnsupportedArchitectureError(f"config.json lacks the field {e.args[0]!r}") from None
    tokenizer = hf_tokenizer(folder, raw)
    raw_sd = read_safetensors(_weight_files(folder))
    sd = raw_sd if "playground" in raw else hf_state_dict(raw_sd, cfg)
    return cfg, sd, tokenizer
