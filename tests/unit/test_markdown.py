"""Chat Markdown: CommonMark with tables, links, quotes, nesting and highlighted code, raw HTML
shown as text; a streaming reply renders incrementally and ends exactly as a whole render."""

from __future__ import annotations

import pytest

from playground.ui import markdown
from playground.ui.markdown import MarkdownStream, to_html

REPLY = """# A heading

Some *emphasis*, **bold**, `code` and a [link](https://example.com).

> a quote
> with two lines

1. first
   - nested **item**
   - another
2. second

```python
def add(a, b):

    return a + b
```

| name | value |
|------|-------|
| x    | 1     |
| y    | 2     |

<script>alert(1)</script> the end.
"""


def test_the_blocks_a_reply_uses_are_rendered():
    h = to_html(REPLY)
    assert "<h1>A heading</h1>" in h and "<em>emphasis</em>" in h and "<strong>bold</strong>" in h
    assert '<a href="https://example.com">link</a>' in h
    assert "<blockquote>" in h and "with two lines" in h
    assert h.index("<ol>") < h.index("<ul>") < h.index("<strong>item</strong>") < h.index("</ol>")  # nesting
    assert "<table" in h and "<th>value</th>" in h and "<td>2</td>" in h
    assert "<pre" in h and "font-weight: bold\">def</span>" in h  # pygments highlighted the keyword
    assert "<script>" not in h and "&lt;script&gt;" in h


def test_a_fence_without_a_language_is_shown_as_plain_code():
    h = to_html("```\nx = <b>1</b>\n```")
    # the code style (monospace on a shaded block), no highlighting, the markup shown as text
    assert h.startswith('<pre style="background:#f4f4f4;') and "font-family:monospace" in h
    assert "x = &lt;b&gt;1&lt;/b&gt;" in h and "<span" not in h
    assert 'background:#272822' in to_html("```\nx\n```", dark=True)


def test_an_unclosed_fence_renders_as_code_so_far():
    h = to_html("Look:\n\n```python\nx = 1\n")
    assert "<pre" in h and "x" in h


def test_streaming_renders_only_the_tail_and_ends_like_a_whole_render(monkeypatch):
    rendered = []
    real = markdown._render
    monkeypatch.setattr(markdown, "_render", lambda text, dark: rendered.append(text) or real(text, dark))
    stream = MarkdownStream()
    cuts = []
    for i in range(1, len(REPLY) + 1):  # a reply arriving a character at a time
        settled, tail, changed = stream.update(REPLY[:i])
        if changed:
            cuts.append(stream.settled)
    settled, tail, _ = stream.update(REPLY, final=True)
    assert settled == markdown._render(REPLY, False) and tail == ""
    # each block settled once, where the next one began (a list item might continue a loose list: no cut there)
    assert cuts == [REPLY.index(s) for s in ("Some", "> a quote", "```python", "| name", "<script>")]
    longest_tail = max(len(t) for t in rendered[:-1])
    assert longest_tail < len(REPLY) / 2  # no frame re-rendered the whole reply
    code = REPLY.index("```python")
    assert not any(t.startswith("def add") for t in rendered)  # never cut inside the fence (its blank line)
    assert stream.settled == len(REPLY) and code < len(REPLY)


@pytest.mark.parametrize("text", ["- a\n\n- b\n\nc\n", "para\n\n    indented code\n\nnext\n", "x\n\n1. a\n\n2. b\n"])
def test_cuts_never_change_the_result(text):
    stream = MarkdownStream()
    for i in range(1, len(text) + 1):
        stream.update(text[:i])
    assert stream.update(text, final=True)[0] == markdown._render(text, False)


def test_a_rewritten_text_starts_over():
    stream = MarkdownStream()
    stream.update("first block\n\nsecond\n\nthird")
    settled, tail, _ = stream.update("something else entirely", final=True)
    assert settled == markdown._render("something else entirely", False)
