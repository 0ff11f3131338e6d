"""Chat templates: the model's own Jinja template, rendered in a sandbox with a time budget.

Templates come inside model files, so they are untrusted code. They render in jinja2's
`ImmutableSandboxedEnvironment` (no attribute tricks such as `cycler.__init__.__globals__`,
no mutation of the messages), under a wall-clock deadline that is checked on every line the
compiled template runs, with a cap on the size of what they produce. The globals and filters
are the ones Hugging Face templates expect: `messages`, `add_generation_prompt`, `bos_token`,
`eos_token`, `raise_exception`, `strftime_now`, `tojson`.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import Any

from jinja2 import TemplateError, nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_OUTPUT_CHARS = 4_000_000
DEFAULT_DEADLINE_S = 1.0

# The fallback when a model ships no template: ChatML, which most small chat models use.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class ChatTemplateError(ValueError):
    """The chat template is invalid, unsafe, too slow, or raised an error itself."""


class _Deadline(Exception):
    pass


class _Env(ImmutableSandboxedEnvironment):
    """The sandbox, with `*` and `**` guarded so `'x' * 10**12` cannot exhaust memory."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise SecurityError("exponent too large in chat template")
        if operator == "*":
            for a, b in ((left, right), (right, left)):
                if isinstance(a, (str, list, tuple)) and isinstance(b, int) and len(a) * b > MAX_OUTPUT_CHARS:
                    raise SecurityError("chat template tried to build a huge string")
        return super().call_binop(context, operator, left, right)


class _Generation(Extension):
    """`{% generation %}…{% endgeneration %}`: marks the assistant's own text for training tools
    (Hugging Face's AssistantTracker); rendering just outputs what it encloses (SmolLM3 uses it)."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.Scope(body).set_lineno(lineno)


def _raise_exception(message: str):
    raise ChatTemplateError(f"the chat template refused the conversation: {message}")


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None, separators=None, sort_keys: bool = False):
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


def _make_env() -> _Env:
    env = _Env(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols, _Generation])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


_ENV = _make_env()


class ChatTemplate:
    """A compiled chat template. `render(messages, ...)` returns the prompt text."""

    def __init__(self, source: str, deadline_s: float = DEFAULT_DEADLINE_S):
        self.source = source
        self.deadline_s = deadline_s
        try:
            self._template = _ENV.from_string(source)
        except TemplateError as e:
            raise ChatTemplateError(f"the chat template does not compile: {e}") from e
        ast = _ENV.parse(source)
        self.uses_system = any(
            isinstance(n, nodes.Const) and n.value == "system" for n in ast.find_all(nodes.Const)
        )

    def render(self, messages: list[dict[str, Any]], add_generation_prompt: bool = True, **extra: Any) -> str:
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or "role" not in m or "content" not in m:
                raise ChatTemplateError(f"message {i} needs a 'role' and a 'content'")
        context = dict(extra, messages=messages, add_generation_prompt=add_generation_prompt)
        deadline = time.monotonic() + self.deadline_s

        def tracer(frame, event, arg):
            if time.monotonic() > deadline:
                raise _Deadline
            return tracer

        previous = sys.gettrace()
        parts: list[str] = []
        size = 0
        sys.settrace(tracer)
        try:
            for chunk in self._template.generate(**context):
                parts.append(chunk)
                size += len(chunk)
                if size > MAX_OUTPUT_CHARS:
                    raise ChatTemplateError("the chat template produced an absurdly long prompt")
        except _Deadline:
            raise ChatTemplateError(
                f"the chat template ran for more than {self.deadline_s:g} s and was stopped (does it loop for ever?)"
            ) from None
        except SecurityError as e:
            raise ChatTemplateError(f"the chat template tried something unsafe and was stopped: {e}") from None
        except ChatTemplateError:
            raise
        except RecursionError:
            raise ChatTemplateError("the chat template recursed too deeply") from None
        except Exception as e:  # a template is user code; its errors become one typed error
            raise ChatTemplateError(f"the chat template failed: {type(e).__name__}: {e}") from None
        finally:
            sys.settrace(previous)
        return "".join(parts)
