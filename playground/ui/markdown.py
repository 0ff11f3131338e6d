"""Markdown → HTML for chat messages: paragraphs, headings, lists, emphasis, inline code, and
fenced code blocks highlighted with pygments. Small on purpose: it must be fast enough to run
on every repaint of a streaming reply, and safe (all text is escaped first)."""

from __future__ import annotations

import html
import re

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name, guess_lexer
from pygments.util import ClassNotFound

_FENCE = re.compile(r"^```([\w+#.-]*)[ \t]*\n(.*?)(?:^```[ \t]*$|\Z)", re.S | re.M)


def _code_html(code: str, lang: str, dark: bool) -> str:
    try:
        lexer = get_lexer_by_name(lang) if lang else guess_lexer(code)
    except ClassNotFound:
        lexer = TextLexer()
    if not lang and getattr(lexer, "name", "") in ("Text only", "Text"):
        lexer = TextLexer()
    fmt = HtmlFormatter(noclasses=True, nowrap=True, style="monokai" if dark else "default")
    body = highlight(code.rstrip("\n"), lexer, fmt)
    bg = "#272822" if dark else "#f4f4f4"
    return f'<pre style="background:{bg}; padding:6px; font-family:monospace;">{body}</pre>'


def _inline(text: str) -> str:
    t = html.escape(text)
    t = re.sub(r"`([^`]+)`", r'<code style="font-family:monospace;">\1</code>', t)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    t = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?!\w)", r"<i>\1</i>", t)
    return t


def _prose(text: str) -> str:
    out: list[str] = []
    list_tag = None
    for line in text.split("\n"):
        m_ul = re.match(r"^\s*[-*+]\s+(.*)", line)
        m_ol = re.match(r"^\s*\d+[.)]\s+(.*)", line)
        m_h = re.match(r"^(#{1,6})\s+(.*)", line)
        tag = "ul" if m_ul else "ol" if m_ol else None
        if list_tag and tag != list_tag:
            out.append(f"</{list_tag}>")
            list_tag = None
        if tag:
            if not list_tag:
                out.append(f"<{tag}>")
                list_tag = tag
            out.append(f"<li>{_inline((m_ul or m_ol).group(1))}</li>")
        elif m_h:
            level = min(len(m_h.group(1)) + 2, 6)
            out.append(f"<h{level}>{_inline(m_h.group(2))}</h{level}>")
        else:
            out.append(_inline(line) + "<br>")
    if list_tag:
        out.append(f"</{list_tag}>")
    html_text = "".join(out)
    return html_text[:-4] if html_text.endswith("<br>") else html_text


def to_html(text: str, dark: bool = False) -> str:
    """HTML for a message; an unclosed code fence (mid-stream) renders as code so far."""
    parts: list[str] = []
    pos = 0
    for m in _FENCE.finditer(text):
        if m.start() > pos:
            parts.append(_prose(text[pos : m.start()].strip("\n")))
        parts.append(_code_html(m.group(2), m.group(1), dark))
        pos = m.end()
    if pos < len(text):
        parts.append(_prose(text[pos:].strip("\n")))
    return "".join(parts)
