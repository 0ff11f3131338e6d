"""Replaying a reply on a loaded model, synchronously: same model, prompt, seed and parameter
timeline → the same tokens. (The session does the same through its backend, so the window's
replay runs on the worker's thread; this is the direct form for scripts and tests.)

A reply's record holds its seed and, per token, its id and the sampling parameters in force. On
the same device generation is deterministic, so a replay reproduces the reply token for token;
the result says where it does not, or why it cannot run.
"""

from __future__ import annotations

import threading

from ..records import ReplyRecord
from ..sampling_params import LiveParams
from ..session.backend import GenerationRequest
from ..session.replay import ReplayResult, compare, refusal
from .file_hash import file_sha256
from .local_backend import run_request

__all__ = ["ReplayResult", "file_sha256", "replay"]


def replay(lm, messages: list[dict], record: ReplyRecord, model_sha256: str | None = None) -> ReplayResult:
    why = refusal(record, model_sha256)
    if why:
        return ReplayResult(False, reason=why)

    class Collect:
        tokens: list[int] = []
        error = ""

        def started(self, prompt_tokens, dropped):
            pass

        def token(self, ev):
            self.tokens.append(ev.token_id)

        def finished(self, fin):
            pass

        def failed(self, message):
            self.error = message

    sink = Collect()
    sink.tokens = []
    request = GenerationRequest(messages, tuple(record.prefix_ids), record.replay_timeline())
    run_request(lm, request, LiveParams(), threading.Event(), sink)
    if sink.error:
        return ReplayResult(False, reason=sink.error)
    return compare(record, sink.tokens)
