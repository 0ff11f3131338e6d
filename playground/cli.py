"""Command line: `playground chat`, `playground generate`, `playground models`.

`playground` with no command opens the desktop app when Qt is available, else the terminal chat.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading

from .sampling_params import PRESETS, SamplingParams  # not .sampling: torch would load before the window


def _peak_rss_mb() -> float | None:
    """This process's peak resident memory in MiB (None where the platform cannot say)."""
    try:
        import resource  # Unix only
    except ImportError:
        try:
            import psutil
        except ImportError:
            return None
        info = psutil.Process().memory_info()
        return getattr(info, "peak_wset", info.rss) / 2**20  # Windows keeps the peak; elsewhere the current size
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", "-m", help="a .gguf file or a model folder (default: SmolLM2-135M-Instruct)")
    p.add_argument("--device", default="auto", help="auto (a CUDA or Apple GPU when there is one, else the CPU), cpu, cuda or mps")
    p.add_argument("--dtype", default="auto", choices=["auto", "exact", "float32", "bfloat16", "float16"],
                   help="auto: the fast path on a CPU where it applies, float models quantized at load to 8-bit "
                        "blocks (default); exact: the weights as stored; float32: the reference model")


def _add_sampling_args(p: argparse.ArgumentParser) -> None:
    d = SamplingParams()
    g = p.add_argument_group("sampling")
    g.add_argument("--preset", choices=sorted(PRESETS), help="start from a named preset")
    g.add_argument("--temperature", "-t", type=float, help=f"0 = greedy (default {d.temperature})")
    g.add_argument("--top-k", type=int, help=f"0 = off (default {d.top_k})")
    g.add_argument("--top-p", type=float, help=f"1 = off (default {d.top_p})")
    g.add_argument("--min-p", type=float, help=f"0 = off (default {d.min_p})")
    g.add_argument("--typical-p", type=float, help=f"1 = off (default {d.typical_p})")
    g.add_argument("--repeat-penalty", type=float, help=f"1 = off (default {d.repeat_penalty})")
    g.add_argument("--presence-penalty", type=float)
    g.add_argument("--frequency-penalty", type=float)
    g.add_argument("--seed", type=int, help="fix the random seed for reproducible output")
    g.add_argument("--max-tokens", "-n", type=int, help=f"most tokens to generate (default {d.max_tokens})")
    g.add_argument("--stop", action="append", default=None, help="stop when this text appears (repeatable)")
    p.add_argument("--stats", action="store_true", help="print one JSON line of timings at the end")


def sampling_from_args(a: argparse.Namespace) -> SamplingParams:
    base = PRESETS[a.preset] if a.preset else SamplingParams()
    changes = {}
    for name in ("temperature", "top_k", "top_p", "min_p", "typical_p", "repeat_penalty", "presence_penalty",
                 "frequency_penalty", "seed", "max_tokens"):
        v = getattr(a, name)
        if v is not None:
            changes[name] = v
    if a.stop:
        changes["stop"] = tuple(s.encode().decode("unicode_escape") for s in a.stop)
    return base.replace(**changes)


def _load(a: argparse.Namespace):
    from .loading import ModelLoadError, load_model
    from .loading.discovery import default_model

    path = a.model or default_model()
    if path is None:
        sys.exit(
            "No model found. Install the default one with:  playground models fetch smollm2\n"
            "or pass a .gguf file or a model folder with --model."
        )
    print(f"Loading {path} …", file=sys.stderr, flush=True)
    try:
        lm = load_model(path, device=a.device, dtype=a.dtype)
    except (ModelLoadError, OSError, ValueError) as e:
        sys.exit(f"error: {e}")
    print(f"Loaded in {lm.load_s:.2f} s: weights {lm.weights} · {lm.weights_bytes / 2**20:.0f} MB",
          file=sys.stderr, flush=True)
    return lm


def _stream(lm, prompt_ids, params, stats: bool, out=sys.stdout):
    from .engine.generate import Finished, generate

    stop = threading.Event()
    fin = None
    it = generate(lm.model, lm.tokenizer, prompt_ids, params, stop)
    try:
        for ev in it:
            if isinstance(ev, Finished):
                fin = ev
                out.write(ev.tail)
            else:
                out.write(ev.text)
            out.flush()
    except KeyboardInterrupt:
        stop.set()
        for ev in it:  # let the generator finish cleanly
            if isinstance(ev, Finished):
                fin = ev
        out.write("\n[stopped]")
    out.write("\n")
    if stats and fin is not None:
        from .model.native import in_use

        peak = _peak_rss_mb()
        print(json.dumps({
            "load_s": round(lm.load_s, 3), "prompt_tokens": fin.prompt_tokens,
            "prefill_tok_s": round(fin.prefill_tok_s, 1), "ttft_ms": round(fin.ttft_s * 1000, 1),
            "generated_tokens": fin.generated_tokens, "decode_tok_s": round(fin.decode_tok_s, 1),
            "peak_rss_mb": None if peak is None else round(peak, 1), "finish_reason": fin.reason, "seed": fin.seed,
            "kernels": in_use(lm.model),
        }), file=sys.stderr if out is sys.stdout and not stats else sys.stdout, flush=True)
    return fin


def cmd_generate(a: argparse.Namespace) -> int:
    params = sampling_from_args(a)
    prompt = a.prompt if a.prompt is not None else sys.stdin.read()
    lm = _load(a)
    if a.raw:
        ids = lm.tokenizer.encode(prompt)
    else:
        msgs = ([{"role": "system", "content": a.system}] if a.system else []) + [{"role": "user", "content": prompt}]
        ids = lm.tokenizer.encode_chat(msgs)
    try:
        _stream(lm, ids, params, a.stats)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def cmd_chat(a: argparse.Namespace) -> int:
    """The terminal chat: a ChatSession over the local engine, driven synchronously (the same
    session the window drives). Ctrl+C stops a reply; the conversation is not saved."""
    from .engine.local_backend import LocalBackend
    from .session import ChatSession

    params = sampling_from_args(a)
    lm = _load(a)
    backend = LocalBackend(lm)
    backend.live.set(params)
    session = ChatSession(backend)
    session.conv.system_prompt = a.system or ""
    out = sys.stdout
    shown = [0]  # how much of the reply is printed

    def on_token(reply, tok) -> None:
        out.write(reply.text[shown[0]:])
        shown[0] = len(reply.text)
        out.flush()

    def on_finished(reply) -> None:
        rec = reply.record
        out.write(reply.text[shown[0]:] + ("\n[stopped]" if rec.finish == "cancelled" else "") + "\n")
        out.flush()
        if a.stats and rec.finish != "error":
            print(json.dumps({
                "load_s": round(lm.load_s, 3), "prompt_tokens": rec.prompt_tokens,
                "prefill_tok_s": round(rec.prompt_tokens / rec.prefill_s if rec.prefill_s else 0.0, 1),
                "ttft_ms": round(rec.ttft_s * 1000, 1), "generated_tokens": rec.generated_tokens,
                "decode_tok_s": round(rec.decode_tok_s, 1), "peak_rss_mb": round(_peak_rss_mb(), 1),
                "finish_reason": rec.finish, "seed": rec.seed,
            }), flush=True)

    session.token_applied.connect(on_token)
    session.reply_started.connect(lambda reply: shown.__setitem__(0, 0))
    session.reply_finished.connect(on_finished)
    session.notice.connect(lambda text: print(f"[{text}]" if "left out" in text else f"error: {text}", file=sys.stderr))
    print(f"Chatting with {lm.name}. Type /exit to quit, /reset to start over, /system TEXT to set the system prompt.",
          file=sys.stderr)
    while True:
        try:
            line = input("> ")
        except (EOFError, KeyboardInterrupt):
            print(file=sys.stderr)
            return 0
        if not line.strip():
            continue
        if line.strip() in ("/exit", "/quit"):
            return 0
        if line.strip() == "/reset":
            session.new_conversation()
            continue
        if line.startswith("/system "):
            session.set_system_prompt(line[len("/system "):])
            continue
        session.send(line)


def cmd_models(a: argparse.Namespace) -> int:
    from .loading.discovery import discover

    if a.action == "fetch":
        from .loading.fetch import FetchError, fetch

        def bar(done: int, total: int) -> None:
            if total:
                frac = done / total
                sys.stderr.write(f"\r[{'#' * int(frac * 40):<40}] {done / 2**20:6.1f}/{total / 2**20:.1f} MB")
            else:
                sys.stderr.write(f"\r{done / 2**20:6.1f} MB")
            sys.stderr.flush()

        try:
            path = fetch(a.name or "smollm2", progress=bar)
        except FetchError as e:
            sys.stderr.write("\n")
            sys.exit(f"error: {e}")
        sys.stderr.write("\n")
        print(f"installed {path}")
        return 0
    models = discover()
    if not models:
        print("No models found. Install the default one with:  playground models fetch smollm2")
        return 0
    for m in models:
        info = m.describe()
        params = f"{info['params'] / 1e6:.0f}M params" if "params" in info else info.get("error", "")
        print(f"{m.source:12} {info.get('quantization', '?'):8} {info['size_mb']:9.1f} MB  {params:14} {info['name']}\n"
              f"{'':12} {m.path}")
    return 0


def _train_args(p: argparse.ArgumentParser, steps: int, lr: float) -> None:
    p.add_argument("--out", help="checkpoint folder (default: in your models folder)")
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--accum", type=int, default=1, help="gradient accumulation: micro-batches per step")
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--ckpt-every", type=int, default=250)
    p.add_argument("--seed", type=int, default=1337)


def _tcfg(a: argparse.Namespace):
    from .training.trainer import TrainConfig

    return TrainConfig(steps=a.steps, batch_size=a.batch, grad_accum=a.accum, lr=a.lr, min_lr=a.lr / 10,
                       warmup=min(a.warmup, max(1, a.steps // 10)), eval_every=a.eval_every,
                       sample_every=getattr(a, "sample_every", 0), ckpt_every=a.ckpt_every, seed=a.seed)


def cmd_train(a: argparse.Namespace) -> int:
    import os

    from .paths import models_dir
    from .training.run import pretrain, print_progress

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # started by torchrun: one process of several
        import torch.distributed as dist

        dist.init_process_group("nccl" if os.environ.get("PLAYGROUND_DDP_BACKEND") == "nccl" else "gloo")
    out = a.out or str(models_dir() / f"studio-{a.arch}-{a.preset}")
    trainer = pretrain(a.corpus, out, _tcfg(a), a.arch, a.preset, a.vocab, a.tokenizer, a.resume,
                       n_layers=a.layers, n_heads=a.heads, dim=a.dim, max_seq_len=a.context)
    try:
        for ev in trainer.run():
            print_progress(ev, trainer.cfg.steps)
    except KeyboardInterrupt:
        print(f"stopped; checkpoint → {trainer.save()}")
    return 0


def cmd_finetune(a: argparse.Namespace) -> int:
    from .training.run import finetune, print_progress

    out = a.out or str(a.base).rstrip("/") + "-qa"
    trainer = finetune(a.base, out, _tcfg(a), a.qa)
    for ev in trainer.run():
        print_progress(ev, trainer.cfg.steps)
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    from .training.run import evaluate

    print(json.dumps(evaluate(a.checkpoint, a.corpus, a.qa, a.max_qa), indent=1, ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="playground", description="Chat with a local language model and see inside it.")
    p.add_argument("--self-test", action="store_true",
                   help="check this install without opening a window (Qt, kernels, database, models) and exit")
    p.add_argument("--qt-only", action="store_true", help="with --self-test: only whether Qt can open a window")
    p.add_argument("--qt-probe", action="store_true", help=argparse.SUPPRESS)  # the child process of the Qt check
    sub = p.add_subparsers(dest="command")
    c = sub.add_parser("chat", help="chat in the terminal (multi-turn, streaming)")
    _add_model_args(c)
    _add_sampling_args(c)
    c.add_argument("--system", help="system prompt")
    c.set_defaults(func=cmd_chat)
    g = sub.add_parser("generate", help="answer one prompt and exit")
    _add_model_args(g)
    _add_sampling_args(g)
    g.add_argument("--prompt", "-p", help="the prompt (default: read standard input)")
    g.add_argument("--system", help="system prompt")
    g.add_argument("--raw", action="store_true", help="continue the text as is, without the chat template")
    g.set_defaults(func=cmd_generate)
    m = sub.add_parser("models", help="list models found on this computer, or fetch the default one")
    m.add_argument("action", nargs="?", choices=["list", "fetch"], default="list")
    m.add_argument("name", nargs="?", help="with fetch: which model (smollm2)")
    m.set_defaults(func=cmd_models)
    t = sub.add_parser("train", help="pretrain a small model on a corpus (default: Shakespeare's plays)")
    t.add_argument("--corpus", nargs="*", help=".txt/.md/.jsonl files or folders")
    t.add_argument("--arch", choices=["llama", "gpt2"], default="llama")
    t.add_argument("--preset", choices=["tiny", "small"], default="tiny")
    t.add_argument("--layers", type=int)
    t.add_argument("--heads", type=int)
    t.add_argument("--dim", type=int)
    t.add_argument("--context", type=int)
    t.add_argument("--vocab", type=int, default=2048, help="BPE vocabulary size")
    t.add_argument("--tokenizer", choices=["bpe", "char"], default="bpe")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    t.add_argument("--sample-every", type=int, default=250)
    _train_args(t, 2000, 3e-3)
    t.set_defaults(func=cmd_train)
    f = sub.add_parser("finetune", help="fine-tune a checkpoint to answer questions (loss on the answers only)")
    f.add_argument("base", help="a checkpoint folder made by playground train")
    f.add_argument("--qa", help="a JSONL file of {question, answer, split} (default: the bundled set)")
    _train_args(f, 600, 1e-3)
    f.set_defaults(func=cmd_finetune)
    e = sub.add_parser("eval", help="perplexity on held-out text; exact match, BLEU and ROUGE on held-out QA")
    e.add_argument("checkpoint")
    e.add_argument("--corpus", nargs="*")
    e.add_argument("--qa")
    e.add_argument("--max-qa", type=int, default=200)
    e.set_defaults(func=cmd_eval)
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    a = p.parse_args(argv)
    if a.qt_probe:
        from .qt_check import probe

        return probe()
    if a.self_test:
        from .selftest import run

        return run(qt_only=a.qt_only)
    if a.command is None:
        return run_default()
    try:
        return a.func(a)
    except ValueError as e:  # bad sampling values and the like
        print(f"error: {e}", file=sys.stderr)
        return 2


def run_default() -> int:
    """The desktop app; the terminal chat where there is no Qt or no screen to show it on."""
    import os

    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"))
    if headless:
        print("No screen found (DISPLAY is not set): starting the terminal chat. "
              "Use xvfb-run for the window.", file=sys.stderr)
        return main(["chat"])
    try:
        from .app import main as app_main
    except ImportError as e:
        print(f"The desktop app is unavailable ({e}); starting the terminal chat.", file=sys.stderr)
        return main(["chat"])
    return app_main()


if __name__ == "__main__":
    sys.exit(main())
