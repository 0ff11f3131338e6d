"""Chat templates render like Hugging Face's, inside a sandbox with a deadline."""

from __future__ import annotations

import json

import pytest

from playground.tokenization.chat_template import ChatTemplate, ChatTemplateError

MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


def test_semantics_users_templates_expect():
    src = (
        "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}[U]{% elif m.role == 'system' %}[S]"
        "{% endif %}{{ m['content'] | trim }}{% if not loop.last %}|{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}[A]{% endif %}{{ eos_token }}"
    )
    out = ChatTemplate(src).render(MSGS, add_generation_prompt=True, bos_token="<s>", eos_token="</s>")
    assert out == "<s>[S]Be brief.|[U]Hi[A]</s>"
    assert ChatTemplate(src).render(MSGS, add_generation_prompt=False, bos_token="", eos_token="") == "[S]Be brief.|[U]Hi"


def test_trim_blocks_and_loopcontrols():
    src = "{% for m in messages %}\n{% if m.role == 'system' %}{% continue %}{% endif %}\n{{ m.content }}\n{% endfor %}"
    assert ChatTemplate(src).render(MSGS) == "Hi\n"


def test_tojson_keeps_unicode_and_indent():
    out = ChatTemplate("{{ messages[0] | tojson(indent=2) }}").render([{"role": "user", "content": "café"}])
    assert json.loads(out) == {"role": "user", "content": "café"}
    assert "café" in out and "\n  " in out


def test_strftime_now_and_raise_exception():
    assert ChatTemplate("{{ strftime_now('%Y') }}").render(MSGS).isdigit()
    with pytest.raises(ChatTemplateError, match="roles must alternate"):
        ChatTemplate("{{ raise_exception('roles must alternate') }}").render(MSGS)


@pytest.mark.parametrize(
    "src",
    [
        "{{ cycler.__init__.__globals__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ messages.append({'role': 'user', 'content': 'x'}) }}",
        "{{ joiner.__init__.__globals__.os }}",
    ],
)
def test_sandbox_escapes_are_refused(src):
    with pytest.raises(ChatTemplateError, match="unsafe"):
        ChatTemplate(src).render(MSGS)


@pytest.mark.parametrize("src", ["{{ self._TemplateReference__context }}", "{{ messages.__dict__ }}", "{{ messages[0]._x }}"])
def test_private_attributes_render_as_nothing(src):
    # jinja's sandbox turns these into Undefined: nothing of the internals leaks
    assert ChatTemplate(src).render(MSGS) == ""


@pytest.mark.parametrize(
    "src,match",
    [
        ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "stopped"),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recursed"),
        ("{{ 'x' * 10000000000 }}", "unsafe"),
        ("{{ 10 ** 100000 }}", "unsafe"),
    ],
)
def test_runaway_templates_are_stopped(src, match):
    with pytest.raises(ChatTemplateError, match=match):
        ChatTemplate(src, deadline_s=0.5).render(MSGS)


def test_syntax_error_is_reported():
    with pytest.raises(ChatTemplateError, match="does not compile"):
        ChatTemplate("{% for m in messages %}")


def test_malformed_messages():
    with pytest.raises(ChatTemplateError, match="role"):
        ChatTemplate("{{ messages }}").render([{"content": "no role"}])
