"""Generation: a Python generator that prefills the prompt, then decodes one token at a time,
yielding a `TokenEvent` per token and a `Finished` at the end.

It knows nothing about Qt; the command line, the GUI worker and the server all consume it. It
knows no concrete model either: only the `CausalLM` interface (model/interface.py).
Before every token it reads the sampling parameters afresh (from a `LiveParams` when given
one) and checks the stop flag, so a slider moved or Stop pressed mid-reply acts on the very
next token.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from ..model.interface import CausalLM
from ..records import Finished
from ..records import TokenRecord as TokenEvent  # one generated token: the record every layer reads
from ..sampling import LiveParams, SamplingParams, sample
from ..tokenization.tokenizer import IncrementalDecoder, TextTokenizer

PREFILL_CHUNK = 512


class _StopStrings:
    """Holds back text that might be the start of a stop string; cuts at the first full match."""

    def __init__(self, stops: tuple[str, ...]):
        self.stops = stops
        self.pending = ""

    def feed(self, piece: str) -> tuple[str, bool]:
        if not self.stops:
            return piece, False
        buf = self.pending + piece
        hits = [i for i in (buf.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.pending = ""
            return buf[: min(hits)], True
        hold = 0
        for s in self.stops:
            for n in range(min(len(s) - 1, len(buf)), 0, -1):
                if buf.endswith(s[:n]):
                    hold = max(hold, n)
                    break
        self.pending = buf[len(buf) - hold :] if hold else ""
        return buf[: len(buf) - hold], False


@torch.inference_mode()
def generate(
    model: CausalLM,
    tokenizer: TextTokenizer,
    prompt_ids: list[int],
    params: SamplingParams | LiveParams | None = None,
    stop_event: threading.Event | None = None,
    top_n: int = 10,
) -> Iterator[TokenEvent | Finished]:
    """Yield a TokenEvent for each generated token, then one Finished."""
    live = params if isinstance(params, LiveParams) else LiveParams(params or SamplingParams())
    params_at = live.at if hasattr(live, "at") else (lambda _n: live.get())  # a replay's timeline, or live
    t_start = time.perf_counter()
    p = live.get()
    ctx = model.config.max_seq_len
    if not prompt_ids:
        raise ValueError("the prompt is empty")
    if len(prompt_ids) >= ctx:
        raise ValueError(f"the prompt has {len(prompt_ids)} tokens; the model's context holds {ctx}")
    seed = p.seed if p.seed is not None else random.randrange(2**31)
    device = model.device
    gen = torch.Generator(device="cpu").manual_seed(seed)
    # a cache for the prompt and the reply as planned; if the reply runs longer (max_tokens raised
    # while it writes), the model grows it
    cache_len = min(ctx, len(prompt_ids) + p.max_tokens)
    model.setup_cache(cache_len)

    # prefill
    logits = None
    for s in range(0, len(prompt_ids), PREFILL_CHUNK):
        chunk = torch.tensor([prompt_ids[s : s + PREFILL_CHUNK]], device=device)
        logits = model(chunk, start=s, use_cache=True, last_only=True)[0, -1]
    prefill_s = time.perf_counter() - t_start

    history = list(prompt_ids)
    decoder = IncrementalDecoder(tokenizer)
    stops = _StopStrings(p.stop)
    eos = set(tokenizer.eos_ids)
    reply: list[str] = []
    pos = len(prompt_ids)
    n = 0
    ttft = 0.0
    t_decode = time.perf_counter()
    reason = "length"
    # With the native kernels, a token's forward pass runs on their own threads; PyTorch's (which
    # spin for a while after each parallel op) would then compete with them for the cores, so the
    # small per-token ops (sampling, events) run on one thread. Measured: 69 → 96 tok/s on 2 cores.
    one_thread = model.runs_own_threads()
    # the fast model's one-token step skips model()'s generic path (~0.15 ms a token, cold caches)
    decode_one = getattr(model, "decode_one", None)
    while True:
        if stop_event is not None and stop_event.is_set():
            reason = "cancelled"
            break
        p = params_at(n)  # the parameters in force for this token
        if n >= p.max_tokens:
            reason = "length"
            break
        with _threads(1 if one_thread else None):
            res = sample(logits.float().cpu(), history, p, gen, track=True, top_n=top_n)
        tok = res.token
        if tok in eos:
            reason = "eos"
            break
        piece = decoder.push(tok)
        text, hit = stops.feed(piece)
        reply.append(text)
        history.append(tok)
        ev = TokenEvent(
            index=n, token_id=tok, text=text, prob=res.prob, raw_prob=res.raw_prob,
            entropy=res.entropy if math.isfinite(res.entropy) else 0.0, params=p,
            top=res.top_raw, top_final=res.top_final, removed_by=res.removed_by, survivors=res.survivors,
            elapsed_s=time.perf_counter() - t_start,
        )
        if n == 0:
            ttft = time.perf_counter() - t_start
            t_decode = time.perf_counter()
        n += 1
        yield ev
        if hit:
            reason = "stop"
            break
        if pos + 1 >= ctx:
            reason = "context"
            break
        if n >= params_at(n).max_tokens:
            reason = "length"
            break
        logits = decode_one(tok, pos) if decode_one is not None else None
        if logits is None:
            logits = model(torch.tensor([[tok]], device=device), start=pos, use_cache=True)[0, -1]
        pos += 1
    tail = ""
    if reason != "stop":
        tail, hit = stops.feed(decoder.flush())
        if not hit:
            tail += stops.pending
        reply.append(tail)
    decode_s = time.perf_counter() - t_decode if n > 1 else 0.0
    yield Finished(reason, len(prompt_ids), n, prefill_s, decode_s, ttft, seed, "".join(reply), tail)


@contextmanager
def _threads(n: int | None):
    """PyTorch's intra-op threads set to n for a block (None: unchanged); never left changed across
    a yield, so a generator suspended mid-reply holds no setting."""
    old = torch.get_num_threads()
    if n is None or n == old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)

