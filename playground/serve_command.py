"""`playground serve`: the OpenAI-compatible server without the window. Wires a loaded model to
the server on a plain asyncio loop: the engine runs on a thread of its own (`ThreadBackend`) and
hands its events to the loop, where each request's chat session lives.

Safe by default: it listens on 127.0.0.1, and refuses — before loading anything — to listen on
an address other computers can reach without an API key.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys


def add_parser(sub) -> None:
    s = sub.add_parser("serve", help="serve the model over an OpenAI-compatible HTTP API (/v1/chat/completions)")
    s.add_argument("--model", "-m", help="a .gguf file or a model folder (default: SmolLM2-135M-Instruct)")
    s.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    s.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only; any other needs --api-key)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    s.add_argument("--api-key", default=os.environ.get("PLAYGROUND_API_KEY"),
                   help="clients must send 'Authorization: Bearer KEY' (default: $PLAYGROUND_API_KEY)")
    s.add_argument("--queue", type=int, default=16,
                   help="most requests running or waiting at once; more get 429 (default 16)")
    s.add_argument("--allow-host", action="append", default=[],
                   help="a Host name clients may use besides this machine's loopback names (repeatable)")
    s.add_argument("--allow-origin", action="append", default=[],
                   help="a web origin allowed to call the server from a browser, e.g. http://localhost:3000")
    s.set_defaults(func=cmd_serve)


def cmd_serve(a: argparse.Namespace) -> int:
    from .server import BindRefused, check_bind

    try:
        check_bind(a.host, a.api_key)
    except BindRefused as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.queue < 1:
        print("error: --queue must be at least 1", file=sys.stderr)
        return 2
    from .cli import _load

    lm = _load(a)
    try:
        asyncio.run(_serve(lm, a))
    except KeyboardInterrupt:
        pass
    return 0


async def _serve(lm, a: argparse.Namespace) -> None:
    from .engine.thread_backend import ThreadBackend
    from .server import ApiServer, ModelService

    loop = asyncio.get_running_loop()
    backend = ThreadBackend(lm, deliver=lambda fn, *args: _deliver(loop, fn, *args))
    server = ApiServer(ModelService(backend, max_queue=a.queue), a.host, a.port, a.api_key, a.allow_host,
                       a.allow_origin)
    try:
        try:
            await server.start()
        except OSError as e:
            print(f"error: cannot listen on {a.host}:{a.port}: {e.strerror or e}", file=sys.stderr)
            return
        print(f"Serving {backend.model.name} at {server.url} (Ctrl+C stops)", file=sys.stderr, flush=True)
        print(f"  curl {server.url}/chat/completions -H 'Content-Type: application/json' "
              f"-d '{{\"model\": \"{backend.model.name}\", \"messages\": [{{\"role\": \"user\", \"content\": \"Hi\"}}]}}'",
              file=sys.stderr, flush=True)
        await server.wait()
    finally:
        await server.stop()
        backend.close()


def _deliver(loop: asyncio.AbstractEventLoop, fn, *args) -> None:
    """Hand an engine event to the loop's thread (dropped once the loop has closed: nobody waits)."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:
        pass
