"""Start and stop `python -m llama_cpp.server` on 127.0.0.1 (tests and the load benchmark)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    def __init__(self, proc: subprocess.Popen, url: str, model: str, log: Path):
        self.proc, self.url, self.model, self.log = proc, url, model, log

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def start_llama_server(gguf: Path, threads: int = 2, n_ctx: int = 2048, timeout: float = 60.0,
                       log: Path | None = None, extra: tuple[str, ...] = ()) -> LlamaServer:
    """The server on a free loopback port, once it answers GET /v1/models (or an error with its log).
    `extra`: more command-line options for llama_cpp.server."""
    port = free_port()
    log = log or Path(f"/tmp/llama_server_{port}.log")
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
           "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--n_threads_batch", str(threads),
           "--model_alias", "smollm2", *extra]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return LlamaServer(proc, url, "smollm2", log)
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"llama_cpp.server did not answer in {timeout} s: {log.read_text()[-2000:]}")
        time.sleep(0.1)
