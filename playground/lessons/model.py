"""Lessons as data: one JSON file per lesson, read and checked here (no Qt, no torch).

A lesson is a short sequence of steps. Each step has a text in every language it ships (English
at least), may name a widget to highlight (by its Qt objectName), a list of actions the app runs
when the step opens (fill the prompt, run the model, open a view, train in the studio…), a panel
to show beside the text, and a check: a question with a checked answer, or a task the student
does in the app. Facts computed from the live app (the number of tokens, the loss, where two
decodings part) make the expected answers, so a lesson checks what the student really sees.

A teacher adds a lesson by dropping a file in `<PLAYGROUND_HOME>/lessons/`; the format is in
docs/lessons.md. Which actions, facts and panels exist is the app's vocabulary
(ui/lesson_runner.py); `problems()` reports a file that names anything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 1
CHECK_TYPES = ("choice", "number", "text", "task")
MAX_FILE_BYTES = 1 << 20  # a lesson is text: a megabyte is plenty, and a bigger file is a mistake


class LessonError(ValueError):
    """A lesson file that cannot be used: the message names the file and the field."""


class Text(dict):
    """A text in several languages: {"en": …, "zh_CN": …}. `get_text(lang)` falls back to the
    language without its region, then to English."""

    def get_text(self, lang: str = "en") -> str:
        for key in (lang, lang.split("_")[0], "en"):
            if key in self:
                return self[key]
        return next(iter(self.values()), "")


@dataclass
class Action:
    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Check:
    type: str  # "choice" | "number" | "text" | "task"
    question: Text
    options: list[Text] = field(default_factory=list)  # choice: what the student picks from
    answer: Any = None  # the expected answer, when it is fixed
    fact: str = ""  # or the fact whose value is the expected answer (task: the fact that must hold)
    tolerance: float = 0.0  # number: absolute tolerance
    relative: float = 0.0  # number: relative tolerance
    equals: Any = None  # task: the fact must equal this (None: must be true)
    minimum: float | None = None  # task: the fact must be at least this
    hint: Text = field(default_factory=Text)  # shown after a wrong answer
    explain: Text = field(default_factory=Text)  # shown after a right one


@dataclass
class Step:
    id: str
    text: Text
    highlight: str = ""  # objectName of the widget to look at
    actions: list[Action] = field(default_factory=list)
    panel: str = ""  # a lesson panel shown beside the text ("score_table", "attention_math"…)
    check: Check | None = None


@dataclass
class Lesson:
    id: str
    order: int
    title: Text
    summary: Text
    steps: list[Step]
    chapter: Text = field(default_factory=Text)  # where the tutorial covers it
    path: Path | None = None

    def step_index(self, step_id: str) -> int:
        return next(i for i, s in enumerate(self.steps) if s.id == step_id)


# -- reading ------------------------------------------------------------------------------------------
def _text(v: Any, where: str) -> Text:
    if isinstance(v, str):
        return Text(en=v)
    if not isinstance(v, dict) or not v or not all(isinstance(k, str) and isinstance(t, str) for k, t in v.items()):
        raise LessonError(f"{where}: a text is a string or an object of language → string")
    if "en" not in v:
        raise LessonError(f"{where}: every text needs an English version (\"en\")")
    return Text(v)


def _check(d: Any, where: str) -> Check:
    if not isinstance(d, dict):
        raise LessonError(f"{where}: a check is an object")
    kind = d.get("type")
    if kind not in CHECK_TYPES:
        raise LessonError(f"{where}.type: one of {', '.join(CHECK_TYPES)}, got {kind!r}")
    c = Check(kind, _text(d.get("question", ""), f"{where}.question") if d.get("question") else Text(en=""),
              hint=_text(d["hint"], f"{where}.hint") if "hint" in d else Text(),
              explain=_text(d["explain"], f"{where}.explain") if "explain" in d else Text())
    c.answer = d.get("answer")
    c.fact = d.get("fact", "")
    if not isinstance(c.fact, str):
        raise LessonError(f"{where}.fact: a fact's name")
    if kind == "choice":
        opts = d.get("options")
        if not isinstance(opts, list) or len(opts) < 2:
            raise LessonError(f"{where}.options: a choice needs two options or more")
        c.options = [_text(o, f"{where}.options[{i}]") for i, o in enumerate(opts)]
        if not c.fact and not (isinstance(c.answer, int) and not isinstance(c.answer, bool)
                               and 0 <= c.answer < len(c.options)):
            raise LessonError(f"{where}.answer: the index of the right option (0-based), or a fact")
    elif kind == "number":
        if not c.fact and not isinstance(c.answer, (int, float)):
            raise LessonError(f"{where}: a number check needs \"answer\" (a number) or \"fact\"")
        for k in ("tolerance", "relative"):
            v = d.get(k, 0.0)
            if not isinstance(v, (int, float)) or v < 0:
                raise LessonError(f"{where}.{k}: a number ≥ 0")
            setattr(c, k, float(v))
    elif kind == "text":
        if not c.fact and not isinstance(c.answer, (str, list)):
            raise LessonError(f"{where}: a text check needs \"answer\" (a string or a list of accepted ones) or \"fact\"")
    elif kind == "task":
        if not c.fact:
            raise LessonError(f"{where}.fact: a task names the fact that shows it is done")
        c.equals = d.get("equals")
        m = d.get("minimum")
        if m is not None and not isinstance(m, (int, float)):
            raise LessonError(f"{where}.minimum: a number")
        c.minimum = m
    if not c.question.get_text():
        raise LessonError(f"{where}.question: what the student is asked (or told to do)")
    return c


def _step(d: Any, where: str) -> Step:
    if not isinstance(d, dict):
        raise LessonError(f"{where}: a step is an object")
    sid = d.get("id")
    if not isinstance(sid, str) or not sid:
        raise LessonError(f"{where}.id: a step needs an id (a short name)")
    actions = []
    for i, a in enumerate(d.get("do", [])):
        if isinstance(a, str):
            a = {"action": a}
        if not isinstance(a, dict) or not isinstance(a.get("action"), str):
            raise LessonError(f"{where}.do[{i}]: an action is a name or {{\"action\": name, …arguments}}")
        actions.append(Action(a["action"], {k: v for k, v in a.items() if k != "action"}))
    for k in ("highlight", "panel"):
        if not isinstance(d.get(k, ""), str):
            raise LessonError(f"{where}.{k}: a name")
    return Step(sid, _text(d.get("text"), f"{where}.text"), d.get("highlight", ""), actions, d.get("panel", ""),
                _check(d["check"], f"{where}.check") if "check" in d else None)


def parse_lesson(data: Any, name: str = "lesson") -> Lesson:
    if not isinstance(data, dict):
        raise LessonError(f"{name}: a lesson file holds one JSON object")
    if data.get("format") != FORMAT:
        raise LessonError(f"{name}.format: this Playground reads lesson format {FORMAT}, got {data.get('format')!r}")
    lid = data.get("id")
    if not isinstance(lid, str) or not lid:
        raise LessonError(f"{name}.id: a lesson needs an id")
    order = data.get("order", 100)
    if not isinstance(order, int):
        raise LessonError(f"{name}.order: a whole number (lessons are listed by it)")
    steps_data = data.get("steps")
    if not isinstance(steps_data, list) or not steps_data:
        raise LessonError(f"{name}.steps: a lesson needs at least one step")
    steps = [_step(s, f"{name}.steps[{i}]") for i, s in enumerate(steps_data)]
    ids = [s.id for s in steps]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise LessonError(f"{name}.steps: step ids must differ ({', '.join(sorted(dup))} repeated)")
    return Lesson(lid, order, _text(data.get("title"), f"{name}.title"),
                  _text(data.get("summary", data.get("title")), f"{name}.summary"), steps,
                  _text(data["chapter"], f"{name}.chapter") if "chapter" in data else Text())


def read_lesson(path: Path) -> Lesson:
    """One lesson file; LessonError (naming the file and the field) when it cannot be used."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LessonError(f"{path.name}: {size:,} bytes; a lesson file holds at most {MAX_FILE_BYTES:,}")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise LessonError(f"{path.name}: cannot be read ({e})") from e
    except json.JSONDecodeError as e:
        raise LessonError(f"{path.name}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from e
    lesson = parse_lesson(data, path.name)
    lesson.path = path
    return lesson


def load_lessons(folders: list[Path]) -> tuple[list[Lesson], list[str]]:
    """Every lesson in the folders, by `order`; a later folder's lesson replaces an earlier one with
    the same id (a teacher's copy over the shipped one). Returns (lessons, problems): a file that
    cannot be used is left out and said why, never fatal."""
    found: dict[str, Lesson] = {}
    problems: list[str] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            try:
                lesson = read_lesson(path)
            except LessonError as e:
                problems.append(str(e))
                continue
            found[lesson.id] = lesson
    return sorted(found.values(), key=lambda x: (x.order, x.id)), problems


def problems(lesson: Lesson, actions: set[str], facts: set[str], panels: set[str]) -> list[str]:
    """Names in a lesson that the app does not know (an action, a fact, a panel)."""
    out = []
    for s in lesson.steps:
        where = f"{lesson.id}/{s.id}"
        out += [f"{where}: unknown action {a.name!r}" for a in s.actions if a.name not in actions]
        if s.panel and s.panel not in panels:
            out.append(f"{where}: unknown panel {s.panel!r}")
        if s.check is not None and s.check.fact and s.check.fact not in facts:
            out.append(f"{where}: unknown fact {s.check.fact!r}")
    return out
