"""An OpenAI-compatible HTTP server for the model Playground has loaded (Starlette on uvicorn),
on whatever asyncio loop is running: the app's (qasync, on Qt's loop) or the `playground serve`
command's. It drives chat sessions exactly as the window does (`service.ModelService`), over any
session `Backend`; it imports no ui/, no Qt and no torch.

    server = ApiServer(ModelService(backend), host="127.0.0.1", port=8000, api_key=None)
    await server.start()      # raises BindRefused (exposed without a key) or OSError (port taken)
    ...
    await server.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterable

from .api import build_app
from .schema import ApiError
from .security import BindRefused, Guard, check_bind, is_loopback
from .service import API_TITLE, ModelService

__all__ = ["API_TITLE", "ApiError", "ApiServer", "BindRefused", "ModelService", "check_bind", "is_loopback",
           "make_asgi"]


def make_asgi(service: ModelService, host: str = "127.0.0.1", api_key: str | None = None,
              allowed_hosts: Iterable[str] = (), allowed_origins: Iterable[str] = (), max_body: int = 2 * 2**20):
    """The whole ASGI app: the security guard around the routes."""
    return Guard(build_app(service), host, api_key, allowed_hosts, allowed_origins, max_body)


class ApiServer:
    """uvicorn serving `make_asgi(...)` on the running loop; start and stop at will (the app's toggle)."""

    def __init__(self, service: ModelService, host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None,
                 allowed_hosts: Iterable[str] = (), allowed_origins: Iterable[str] = (), max_body: int = 2 * 2**20):
        check_bind(host, api_key)
        self.service = service
        self.host, self.port, self.api_key = host, port, api_key or None
        self.app = make_asgi(service, host, api_key, allowed_hosts, allowed_origins, max_body)
        self._server = None
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    async def start(self) -> None:
        """Listen (port 0: any free port, then `port` says which), serve in a task on this loop."""
        import uvicorn

        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, lifespan="off", log_level="warning", access_log=False, http="h11",
                                ws="none", timeout_graceful_shutdown=2)
        self._server = _QuietServer(config)
        self._task = asyncio.ensure_future(self._server.serve(sockets=[sock]))
        while not self._server.started:  # bound already; wait until it accepts
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise OSError("the server stopped as it started")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Stop accepting, end open streams (their replies stop), wait until it is down."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._server = self._task = None

    async def wait(self) -> None:
        """Until the server stops (after `start`)."""
        if self._task is not None:
            await asyncio.shield(self._task)


class _QuietServer:
    """uvicorn's Server without its signal handlers: in the app, Ctrl+C and the window's own quit
    stay the app's (uvicorn would take SIGINT over on the main thread)."""

    def __new__(cls, config):
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self):
                yield

        return Server(config)
