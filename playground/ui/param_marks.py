"""Where a reply's sampling parameters changed, as a reader should see it (no Qt).

- One mark per settled change: a slider dragged through ten values while the model writes is one
  change, from where it started to where it stopped (changes closer than SETTLE_TOKENS tokens or
  SETTLE_SECONDS apart are one); dragged back to where it was, it is none.
- At a word boundary: a mark goes after the word it fell in, not inside it.
- At a reply's start, the parameters it began with when they differ from those the previous
  reply began with: a live change made mid-reply stays in force for the next reply, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..sampling_params import SamplingParams

SETTLE_TOKENS = 8
SETTLE_SECONDS = 1.5
HIDDEN = ("order", "logit_bias")  # not settable in the panel; they do not change mid-reply


@dataclass
class Mark:
    offset: int  # in the reply's text
    label: str  # what changed, e.g. "temperature 0.7 → 1.24"
    token: int  # the first token sampled under it


def describe(old: SamplingParams, new: SamplingParams) -> str:
    """The parameters that differ, as 'name old → new'; '' when none does."""
    a, b = old.to_dict(), new.to_dict()
    return ", ".join(f"{k} {_v(a[k])} → {_v(b[k])}" for k in b if k not in HIDDEN and a[k] != b[k])


def _v(x) -> str:
    if x is None:
        return "random"
    if isinstance(x, float):
        return f"{x:g}"
    if isinstance(x, tuple):
        return "|".join(map(str, x)) or "none"
    return str(x)


def word_boundary(text: str, offset: int) -> int:
    """The offset moved forward to the end of the word it falls inside (unchanged between words)."""
    if offset <= 0 or offset >= len(text) or text[offset - 1].isspace() or text[offset].isspace():
        return min(max(offset, 0), len(text))
    i = offset
    while i < len(text) and not text[i].isspace():
        i += 1
    return i


def param_marks(record, text: str, previous_start: SamplingParams | None = None) -> list[Mark]:
    """The marks of a reply's text. `previous_start`: what the previous reply began with."""
    marks: list[Mark] = []
    tokens = record.tokens if record is not None else []
    first = next((t.params for t in tokens if t.params is not None), None)
    if previous_start is not None and first is not None:
        a, b = previous_start.to_dict(), first.to_dict()
        changed = [k for k in b if k not in HIDDEN and a[k] != b[k]]
        if changed:
            label = ", ".join(f"{k} {_v(b[k])}" for k in changed)
            was = ", ".join(_v(a[k]) for k in changed)
            marks.append(Mark(0, f"started with {label} (the reply before: {was})", 0))
    groups: list[list] = []  # [first token, offset, params before, params after, last token, last time]
    last, offset = None, 0
    for t in tokens:
        # one snapshot object while nothing changes: `is not` spares each frame comparing every field
        if t.params is not None and last is not None and t.params is not last and t.params != last:
            g = groups[-1] if groups else None
            if g is not None and (t.index - g[4] <= SETTLE_TOKENS or t.elapsed_s - g[5] <= SETTLE_SECONDS):
                g[3], g[4], g[5] = t.params, t.index, t.elapsed_s  # the same drag, still moving
            else:
                groups.append([t.index, offset, last, t.params, t.index, t.elapsed_s])
        if t.params is not None:
            last = t.params
        offset += len(t.text)
    for index, off, before, after, _, _ in groups:
        label = describe(before, after)
        if label:
            marks.append(Mark(word_boundary(text, off), label, index))
    return marks
