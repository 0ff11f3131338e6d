"""`playground --self-test`: does this install work? No window; a short report; exit 0 or 1.

Checked: Qt's platform plugin (qt_check), the native kernels (which variant, and that it equals
the portable one on a small product), the history database (create, write, read back), and the
models: the teaching checkpoint that ships with Playground and the default SmolLM2 if it is
installed, each loaded, its chat template rendered and a few tokens generated. Used after an
install (the wheel test, the desktop bundle) and by users reporting a problem.
"""

from __future__ import annotations

import ctypes
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Result:
    name: str
    ok: bool
    detail: str


def check_qt() -> Result:
    from .qt_check import check_qt as qt

    r = qt()
    return Result("qt", r.ok, r.detail)


def check_kernels() -> Result:
    """The variant in use equals the portable one on a small product (several tokens: float32 in
    both; one token: within int8 rounding)."""
    import torch

    from .model import native
    from .model.quant import QLinear

    lib = native.library()
    if lib is None:
        if native.setting() == "off":
            return Result("kernels", True, "turned off by PLAYGROUND_NATIVE: PyTorch's kernels")
        return Result("kernels", False, f"native kernels unavailable: {native.why_unavailable()}")
    portable = native.library("portable")
    g = torch.Generator().manual_seed(0)
    layer = QLinear.from_float(torch.randn(96, 160, generator=g))
    worst = {}
    for tokens, tol in ((3, 1e-4), (1, 2e-2)):
        x = torch.randn(tokens, 160, generator=g)
        ys = []
        for k in (lib, portable):
            y = torch.empty(tokens, 96)
            if k.pg_gemm(ctypes.byref(layer.mat()), x.data_ptr(), tokens, y.data_ptr()):
                return Result("kernels", False, f"{k.variant}: the product refused its arguments")
            ys.append(y)
        err = ((ys[0] - ys[1]).abs().max() / ys[1].abs().max()).item()
        worst[tokens] = err
        if not err <= tol:
            return Result("kernels", False, f"{lib.describe()} differs from portable by {err:.2g} ({tokens} tokens)")
    return Result("kernels", True, f"{lib.describe()} (runs here: {', '.join(native.runnable())}); equals portable "
                                   f"to {worst[3]:.1g} (3 tokens), {worst[1]:.1g} (1 token, int8)")


def check_database() -> Result:
    from .conversation import Conversation
    from .storage import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "history.sqlite3")
        try:
            conv = Conversation()
            cid = store.create_conversation(conv)
            for role, text in (("user", "Who wrote Hamlet?"), ("assistant", "Shakespeare.")):
                store.add_message(conv, conv.add(role, text))
            back = store.load(cid)
            texts = [m["content"] for m in back.messages_for_model()]
        finally:
            store.close()
    ok = texts == ["Who wrote Hamlet?", "Shakespeare."]
    return Result("database", ok, "created, written and read back" if ok else f"read back {texts!r}")


def check_model(label: str, path: Path | None, required: bool) -> Result:
    if path is None:
        return Result(label, not required, "not installed (skipped)" if not required else "missing")
    from .engine.generate import Finished, TokenEvent, generate
    from .loading import load_model
    from .model.native import in_use
    from .sampling import SamplingParams

    t0 = time.perf_counter()
    try:
        lm = load_model(path, device="cpu", dtype="auto")
    except Exception as e:  # noqa: BLE001 - the report names any failure
        return Result(label, False, f"{path}: {type(e).__name__}: {e}")
    load_s = time.perf_counter() - t0
    question = "Who is Hamlet?"
    messages = [{"role": "user", "content": question}]
    rendered = lm.tokenizer.render_chat(messages)
    if question not in rendered:
        return Result(label, False, f"the chat template lost the message: {rendered[:200]!r}")
    ids = lm.tokenizer.encode_chat(messages)
    events = list(generate(lm.model, lm.tokenizer, ids, SamplingParams(temperature=0, max_tokens=4),
                           threading.Event()))
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    fin = next((e for e in events if isinstance(e, Finished)), None)
    if not tokens or fin is None:
        return Result(label, False, "generated nothing")
    text = "".join(e.text for e in tokens) + fin.tail
    return Result(label, True, f"{lm.name}: loaded in {load_s:.2f} s, {in_use(lm.model)}; chat template ok; "
                               f"{len(tokens)} tokens: {text.strip()[:40]!r}")


def run(qt_only: bool = False, out=None) -> int:
    """Run the checks and print the report; 0 when all pass."""
    out = out or sys.stdout
    results = [check_qt()]
    if not qt_only:
        from .loading.discovery import bundled_default, teaching_checkpoint
        from .paths import DEFAULT_MODEL_FILE, models_dir

        user = models_dir() / DEFAULT_MODEL_FILE
        results += [check_kernels(), check_database(),
                    check_model("teaching model", teaching_checkpoint(), required=True),
                    check_model("default model", user if user.is_file() else bundled_default(), required=False)]
    for r in results:
        print(f"{'ok  ' if r.ok else 'FAIL'} {r.name}: {r.detail}", file=out)
    failed = [r.name for r in results if not r.ok]
    print(f"self-test {'failed: ' + ', '.join(failed) if failed else 'passed'}", file=out)
    return 1 if failed else 0
