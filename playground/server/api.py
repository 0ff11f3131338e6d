"""The HTTP routes (Starlette): `GET /v1/models`, `POST /v1/chat/completions`,
`POST /v1/completions`, streaming by server-sent events or not.

Each request is read and checked (`schema`), admitted to the model's queue (`service`), and its
reply's tokens are turned into OpenAI's JSON (`openai_format`) as they come. Every failure the
client caused is a 4xx JSON error that says what was wrong; the server goes on serving.
A client that disconnects — while waiting its turn, while its stream runs, or before a
non-streamed answer is ready — stops its reply before the next token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..conversation import Message
from ..records import TokenRecord
from .openai_format import FINISH, ChatShapes, TextShapes, token_logprobs
from .schema import ApiError, ParsedRequest, parse_chat, parse_completion
from .security import BodyTooLarge
from .service import ModelService


def error_response(e: ApiError) -> JSONResponse:
    return JSONResponse(e.body(), status_code=e.status, headers=e.headers)


async def _body(request: Request):
    try:
        raw = await request.body()
    except BodyTooLarge as e:
        raise ApiError(413, f"the request body is larger than this server accepts ({e.args[0]} bytes)", None,
                       "body_too_large") from None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(400, f"the request body is not valid JSON: {e}", None, "invalid_json") from None


def _failure(rec) -> ApiError:
    """A reply that failed before its first token: the client's fault (its prompt) or ours."""
    msg = rec.error or "the reply failed"
    if "context" in msg or "prompt" in msg:
        return ApiError(400, msg, "messages", "context_length_exceeded")
    return ApiError(500, msg, None, "generation_failed", "server_error")


async def _watch_disconnect(request: Request) -> None:
    """Return when the client has gone (the body is read, so the next message is the disconnect)."""
    while True:
        msg = await request.receive()
        if msg["type"] == "http.disconnect":
            return


async def _first_or_gone(events: AsyncIterator, request: Request):
    """The first event, or None if the client went away first (then the reply is stopped)."""
    first = asyncio.ensure_future(events.__anext__())
    gone = asyncio.ensure_future(_watch_disconnect(request))
    try:
        await asyncio.wait({first, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if first.done():
        return first.result()
    await _cancel(first)
    await events.aclose()  # stops the reply
    return None


async def _cancel(task: asyncio.Future) -> None:
    """Cancel a task and wait until it has unwound (a generator it drove is then closed)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
        await task


class Api:
    def __init__(self, service: ModelService):
        self.service = service

    def routes(self) -> list[Route]:
        return [Route("/v1/models", self.models, methods=["GET"]),
                Route("/v1/models/{model:path}", self.model, methods=["GET"]),
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/completions", self.completions, methods=["POST"]),
                Route("/health", self.health, methods=["GET"])]

    async def health(self, request: Request) -> Response:
        s = self.service
        return JSONResponse({"status": "ok" if s.models() else "no model", "active": s.active, "queue": s.max_queue})

    async def models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [self._model_obj(m) for m in self.service.models()]})

    async def model(self, request: Request) -> Response:
        name = request.path_params["model"]
        if name not in self.service.accepted_names():
            return error_response(ApiError(404, f"the model '{name}' is not served here", "model", "model_not_found"))
        return JSONResponse(self._model_obj(name))

    @staticmethod
    def _model_obj(name: str) -> dict:
        return {"id": name, "object": "model", "created": 0, "owned_by": "playground"}

    async def chat(self, request: Request) -> Response:
        return await self._serve(request, parse_chat, chat=True)

    async def completions(self, request: Request) -> Response:
        return await self._serve(request, parse_completion, chat=False)

    async def _serve(self, request: Request, parse, chat: bool) -> Response:
        s = self.service
        try:
            req = parse(await _body(request), s.accepted_names(), s.context())
            s.admit()
        except ApiError as e:
            return error_response(e)
        rid = s.new_id("chatcmpl" if chat else "cmpl")
        events = s.run(req, rid)
        first = await _first_or_gone(events, request)
        if first is None:
            return Response(status_code=499)  # nobody is listening
        if isinstance(first, Message) and first.record.finish == "error":
            await events.aclose()
            return error_response(_failure(first.record))
        shapes = (ChatShapes if chat else TextShapes)(rid, req.model, s.fingerprint())
        if req.stream:
            body = self._chat_stream(req, shapes, first, events) if chat else self._text_stream(req, shapes, first, events)
            return StreamingResponse(_sse(body, events), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        gone = asyncio.ensure_future(_watch_disconnect(request))
        collect = asyncio.ensure_future(_collect(first, events))
        await asyncio.wait({gone, collect}, return_when=asyncio.FIRST_COMPLETED)
        gone.cancel()
        if not collect.done():  # the client left before the answer was ready
            await _cancel(collect)
            await events.aclose()
            return Response(status_code=499)
        tokens, reply = collect.result()
        lps = [token_logprobs(t, req.top_logprobs, s.text_of) for t in tokens] if req.logprobs else None
        if chat:
            return JSONResponse(shapes.completion(reply.text, reply.record, lps))
        text = (req.prompt if req.echo else "") + reply.text
        lp = TextShapes.legacy_logprobs(lps) if lps is not None else None
        out = shapes.text_choice(text, FINISH.get(reply.record.finish, "stop"), lp)
        out["usage"] = _usage(reply)
        return JSONResponse(out)

    # -- streams -----------------------------------------------------------------------------------
    async def _chat_stream(self, req: ParsedRequest, shapes: ChatShapes, first, events):
        s = self.service
        yield shapes.chunk({"role": "assistant", "content": ""}, logprobs=[] if req.logprobs else None)
        async for ev in _chain(first, events):
            if isinstance(ev, TokenRecord):
                if ev.text or req.logprobs:
                    lps = [token_logprobs(ev, req.top_logprobs, s.text_of)] if req.logprobs else None
                    yield shapes.chunk({"content": ev.text}, logprobs=lps)
            else:
                rec = ev.record
                if rec.finish == "error":  # failed mid-reply: say so in the stream
                    yield {"error": {"message": rec.error, "type": "server_error", "code": "generation_failed"}}
                    return
                tail = ev.text[len("".join(t.text for t in rec.tokens)):]
                yield shapes.chunk({"content": tail} if tail else {}, FINISH.get(rec.finish, "stop"))
                if req.include_usage:
                    yield shapes.usage_chunk(rec)

    async def _text_stream(self, req: ParsedRequest, shapes: TextShapes, first, events):
        s = self.service
        if req.echo:
            yield shapes.text_choice(req.prompt or "", None, None)
        async for ev in _chain(first, events):
            if isinstance(ev, TokenRecord):
                if ev.text or req.logprobs:
                    lp = TextShapes.legacy_logprobs([token_logprobs(ev, req.top_logprobs, s.text_of)]) \
                        if req.logprobs else None
                    yield shapes.text_choice(ev.text, None, lp)
            else:
                rec = ev.record
                if rec.finish == "error":
                    yield {"error": {"message": rec.error, "type": "server_error", "code": "generation_failed"}}
                    return
                tail = ev.text[len("".join(t.text for t in rec.tokens)):]
                out = shapes.text_choice(tail, FINISH.get(rec.finish, "stop"), None)
                if req.include_usage:
                    out["usage"] = _usage(ev)
                yield out


def _usage(reply: Message) -> dict:
    from .openai_format import usage

    return usage(reply.record)


async def _chain(first, events: AsyncIterator):
    yield first
    async for ev in events:
        yield ev


async def _collect(first, events: AsyncIterator) -> tuple[list[TokenRecord], Message]:
    tokens: list[TokenRecord] = []
    async for ev in _chain(first, events):
        if isinstance(ev, TokenRecord):
            tokens.append(ev)
        else:
            return tokens, ev
    raise RuntimeError("the reply ended without its record")


async def _sse(body, events: AsyncIterator):
    """Server-sent events: one `data:` line per JSON object, then `data: [DONE]`. However the
    stream ends (finished, or the client gone and this generator closed), the reply is closed too:
    a reply still running stops before its next token."""
    try:
        async for obj in body:
            yield f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"
    finally:
        await body.aclose()
        await events.aclose()


def build_app(service: ModelService) -> Starlette:
    """The Starlette app (routes only; `server.make_asgi` wraps it in the security guard)."""

    async def not_found(request: Request, exc) -> Response:
        return JSONResponse({"error": {"message": f"no route {request.method} {request.url.path}; this server has "
                                                  f"GET /v1/models, POST /v1/chat/completions, POST /v1/completions",
                                       "type": "invalid_request_error", "param": None, "code": "not_found"}},
                            status_code=getattr(exc, "status_code", 404))

    return Starlette(routes=Api(service).routes(), exception_handlers={404: not_found, 405: not_found})
