"""A reply shown token by token (the chat's Tokens button): each token tinted by its surprisal
and every boundary visible, with the marks of where the sampling parameters changed kept.

Only surprising tokens get a strong tint, so a run of expected tokens would read as plain text
("The sky" with no sign that it is two tokens). Tokens therefore alternate between two shades of
their colour (white and light grey when expected); the surprisal tint stays readable on both.
The ⚙ marks that the plain view shows where the parameters changed go before the first token
sampled under the new ones. The token open in the Token tab is marked (bold, blue, lined above
and below: Qt's rich text has no borders on inline text), so the reply says which one the
inspector is showing."""

from __future__ import annotations

import html
import math

ODD_SHADE = 0.88  # every other token's background is its colour times this: the boundaries show
CURRENT_STYLE = "font-weight:bold; color:#0d47a1; text-decoration:underline overline;"  # the inspected token


def surprisal_rgb(p: float) -> tuple[int, int, int]:
    """A token's colour by its surprisal −log p (the per-token cross-entropy): white when
    expected, deep red when surprising (8 nats and more)."""
    s = min(-math.log(max(p, 1e-12)), 8.0) / 8.0
    g = int(255 - 180 * s)
    return 255, g, g


def token_background(p: float, index: int) -> str:
    """The background of token `index`: its surprisal colour, a shade darker on odd tokens."""
    rgb = surprisal_rgb(p)
    if index % 2:
        rgb = tuple(int(c * ODD_SHADE) for c in rgb)
    return "rgb({},{},{})".format(*rgb)


def mark_span(label: str) -> str:
    """The small yellow label that says what changed ("⚙ temperature 0.7 → 1.5")."""
    label = html.escape(label)
    return f'<span style="background:#ffd54f; color:black;" title="{label}">&nbsp;⚙ {label}&nbsp;</span>'


def token_html(tokens, marks=(), current: int | None = None) -> str:
    """The tokens as links (tok:i) on their backgrounds, each mark before its first token; token
    `current` (the one the Token tab shows) marked."""
    before: dict[int, list[str]] = {}
    for m in marks:
        before.setdefault(m.token, []).append(m.label)
    parts = []
    for i, rec in enumerate(tokens):
        parts += [mark_span(label) for label in before.get(i, [])]
        shown = html.escape(rec.text).replace("\n", "↵<br>") or "∅"
        style = CURRENT_STYLE if i == current else "text-decoration:none; color:black;"
        parts.append(f'<a href="tok:{i}" style="{style} background:{token_background(rec.raw_prob, i)}">{shown}</a>')
    return "".join(parts)
