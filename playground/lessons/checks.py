"""Checking a step: the student's answer (or the app's state, for a task) against what is expected.

The expected answer is fixed in the lesson file or read from a fact of the live app (`facts` is a
callable: name → value, raising `FactMissing` when the app has nothing to say yet, e.g. before
the attention has been computed). Numbers compare with a tolerance; texts without case or
surrounding spaces.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .model import Check


class FactMissing(LookupError):
    """The app cannot tell this yet (the step's action has not run, or its result has not come)."""


@dataclass
class Verdict:
    ok: bool
    expected: Any = None  # what was expected (shown after a right answer, used by tests)
    missing: bool = False  # the fact is not there yet: do the step first


def expected(check: Check, facts: Callable[[str], Any]) -> Any:
    """The right answer now (raises FactMissing while the app cannot tell)."""
    if check.type == "task":
        return check.equals if check.equals is not None else (check.minimum if check.minimum is not None else True)
    return facts(check.fact) if check.fact else check.answer


def parse_number(text: Any) -> float | None:
    """A number a student typed: '3', '3.5', '3,5', ' 1e-3 ', '42%' → float; None if it is not one."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    if not isinstance(text, str):
        return None
    s = text.strip().replace("，", ".").replace(",", ".").rstrip("%").strip()
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _norm(s: Any) -> str:
    return " ".join(str(s).split()).casefold()


def evaluate(check: Check, answer: Any, facts: Callable[[str], Any]) -> Verdict:
    """Is `answer` right? For a choice, answer is the option's index; for a number or a text, what
    the student typed; for a task, ignored (the app's state is checked)."""
    try:
        want = expected(check, facts)
        if check.type == "task":
            have = facts(check.fact)
            if check.minimum is not None:
                ok = parse_number(have) is not None and parse_number(have) >= check.minimum
            elif check.equals is not None:
                ok = have == check.equals
            else:
                ok = bool(have)
            return Verdict(ok, want)
    except FactMissing:
        return Verdict(False, None, missing=True)
    if check.type == "choice":
        return Verdict(isinstance(answer, int) and not isinstance(answer, bool) and answer == int(want), want)
    if check.type == "number":
        got, target = parse_number(answer), parse_number(want)
        if got is None or target is None:
            return Verdict(False, want)
        tol = max(check.tolerance, check.relative * abs(target), 1e-9)
        return Verdict(abs(got - target) <= tol, want)
    accepted = want if isinstance(want, list) else [want]
    return Verdict(_norm(answer) in {_norm(a) for a in accepted}, want)
