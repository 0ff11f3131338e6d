"""Run load + a few tokens on one model file per forked child, with a memory limit and a timeout.

A *zygote* process imports torch and Playground once, warms every code path up on the seed
files, then serves requests from its parent (one JSON line each on stdin, one JSON line back on
stdout). For each request it forks a child, which:
- lowers its address-space limit (RLIMIT_AS) to what it has mapped now plus a fixed allowance,
  so an allocation beyond the bound fails at once instead of taking the machine down;
- runs `load_model(path, dtype="auto")`, encodes a chat with the model's template and generates
  three tokens (greedy, then sampled), and reports what happened: the outcome, the error's type,
  message and where it was raised, the wall time, and how much its resident memory grew;
- exits without running any cleanup it inherited.
A child runs a batch of files one after another (forking once per file costs more than most
loads), resetting the peak-RSS counter before each, so each file's memory growth is its own. The
zygote kills a child that spends longer than the timeout on one file and reports that file as a
timeout (a child that dies reports its file as a crash); a new child takes the rest of the batch.

Outcomes: "ok" (loaded and generated), "refused" (a ModelLoadError raised by validation),
"refused-wrapped" (a ModelLoadError wrapping a library exception: typed, but validation could
have caught it sooner), "untyped" (any other exception: a bug), "timeout", "crash".

Unix only (fork, resource); the fuzzer is a development tool, not part of the app.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
import traceback

CHAT = [{"role": "user", "content": "hi there"}]
NEW_TOKENS = 3
OUTCOMES = ("ok", "refused", "refused-wrapped", "untyped", "timeout", "crash")


def _status(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes (0 where unavailable)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _where(tb) -> str:
    """file:line:function of the innermost frame in Playground's code (else the innermost of all)."""
    frames = traceback.extract_tb(tb)
    ours = [f for f in frames if "/playground/" in f.filename.replace("\\", "/")]
    f = (ours or frames or [None])[-1]
    if f is None:
        return "?"
    return f"{os.path.basename(f.filename)}:{f.lineno}:{f.name}"


def run_case(path: str) -> dict:
    """Load the model at path and generate a few tokens; what happened, as a dict (in this process)."""
    import torch

    from playground.engine.generate import TokenEvent, generate
    from playground.loading import ModelLoadError, load_model
    from playground.sampling_params import SamplingParams
    from playground.tokenization.chat_template import ChatTemplateError

    out: dict = {"outcome": "ok"}
    t0, c0 = time.perf_counter(), time.process_time()
    stage = "load"
    try:
        lm = load_model(path, device="cpu", dtype="auto")
        out["load_s"] = time.perf_counter() - t0
        stage = "generate"
        tok = lm.tokenizer
        try:
            ids = tok.encode_chat(CHAT)
        except ChatTemplateError as e:  # a template may refuse a conversation: typed, the chat says so
            out["template"] = str(e)[:200]
            ids = tok.encode(CHAT[0]["content"])
        ctx = lm.config.max_seq_len
        if not ids or ctx <= NEW_TOKENS + 1:
            out["note"] = "no room to generate"
        else:
            ids = ids[-(ctx - NEW_TOKENS - 1):]
            got = []
            for params in (SamplingParams(temperature=0, max_tokens=NEW_TOKENS),
                           SamplingParams(temperature=0.8, seed=1, max_tokens=NEW_TOKENS)):
                got += [e.token_id for e in generate(lm.model, tok, ids, params) if isinstance(e, TokenEvent)]
            out["tokens"] = got
            with torch.inference_mode():  # the teaching views' path too: attention maps and hidden states
                lm.model(torch.tensor([ids[:8]]), use_cache=False, need_weights=True, return_hidden=True)
    except ModelLoadError as e:
        out.update(outcome="refused-wrapped" if e.__cause__ is not None else "refused", error=type(e).__name__,
                   message=str(e)[:300], where=_where(e.__traceback__))
        if e.__cause__ is not None:
            out["cause"] = f"{type(e.__cause__).__name__}@{_where(e.__cause__.__traceback__)}"
    except BaseException as e:  # noqa: BLE001 - anything else is what the fuzzer is looking for
        out.update(outcome="untyped", error=type(e).__name__, message=str(e)[:300], where=_where(e.__traceback__),
                   stage=stage, traceback="".join(traceback.format_exception(e))[-3000:])
    out["wall_s"] = time.perf_counter() - t0
    out["cpu_s"] = time.process_time() - c0  # on a busy machine wall time overstates a run; CPU time does not
    return out


# -------------------------------------------------------------------------------- the zygote
def _limit_address_space(allowance: int) -> None:
    import resource

    soft = _status("VmSize") + allowance
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _child(items: list[dict], allowance: int, wfd: int) -> None:
    """Run the items one after another, one result line each; the peak-RSS counter is reset before
    each (Linux's clear_refs), so every item's memory growth is its own."""
    import gc

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        _limit_address_space(allowance)
        for item in items:
            try:
                with open("/proc/self/clear_refs", "w") as f:
                    f.write("5")
            except OSError:
                pass
            rss0 = _status("VmRSS")
            res = run_case(item["path"])
            res["rss_growth"] = max(0, _status("VmHWM") - rss0)
            res["id"] = item["id"]
            os.write(wfd, (json.dumps(res) + "\n").encode())
            gc.collect()
    finally:
        os._exit(0)


def _run_batch(items: list[dict], timeout_s: float, allowance: int, emit) -> None:
    """Fork a child for the batch; if it hangs past timeout_s on an item, or dies, that item is
    reported as a timeout or crash and a new child takes the rest."""
    pending = list(items)
    while pending:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            _child(pending, allowance, w)
        os.close(w)
        buf, last, timed_out, reported_cpu = b"", time.perf_counter(), False, 0.0
        while True:
            left = timeout_s - (time.perf_counter() - last)
            if left <= 0:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                break
            ready, _, _ = select.select([r], [], [], left)
            if not ready:
                continue
            b = os.read(r, 1 << 20)
            if not b:
                break
            buf += b
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                res = json.loads(line)
                reported_cpu += res.get("cpu_s", 0.0)
                emit(res)
                pending.pop(0)
                last = time.perf_counter()
        os.close(r)
        _, status, usage = os.wait4(pid, 0)
        if not pending:
            break
        culprit = pending.pop(0)
        # the CPU the child spent on the culprit: its total less what its finished items reported
        cpu = max(0.0, usage.ru_utime + usage.ru_stime - reported_cpu)
        if timed_out:
            emit({"id": culprit["id"], "outcome": "timeout", "wall_s": time.perf_counter() - last, "cpu_s": cpu})
        else:
            sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
            emit({"id": culprit["id"], "outcome": "crash", "wall_s": time.perf_counter() - last, "cpu_s": cpu,
                  "error": signal.Signals(sig).name if sig else f"exit {os.WEXITSTATUS(status)}"})


def serve(warm: list[str], timeout_s: float, allowance: int) -> None:
    """The zygote's loop: warm up on `warm`, then for each request line (a batch of items) fork,
    and write one result line per item."""
    import gc

    import torch

    torch.set_num_threads(1)
    for p in warm:
        run_case(p)
    gc.collect()
    gc.freeze()  # forked children then do not copy the heap just to walk it
    proto = sys.stdout
    sys.stdout = sys.stderr

    def emit(res: dict) -> None:
        print(json.dumps(res), file=proto, flush=True)

    emit({"ready": True, "pid": os.getpid()})
    for line in sys.stdin:
        _run_batch(json.loads(line)["batch"], timeout_s, allowance, emit)


if __name__ == "__main__":
    a = json.loads(sys.argv[1])
    serve(a["warm"], a["timeout_s"], a["allowance"])
