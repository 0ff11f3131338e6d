"""Guided lessons as data (no Qt, no torch): the file format and its checks (model.py), answer
checking (checks.py), remembered progress (progress.py). The window's lesson runner
(ui/lesson_runner.py) performs the steps' actions and supplies the facts."""

from __future__ import annotations

from pathlib import Path

from .checks import FactMissing, Verdict, evaluate, expected, parse_number
from .model import (
    Action,
    Check,
    Lesson,
    LessonError,
    Step,
    Text,
    load_lessons,
    parse_lesson,
    problems,
    read_lesson,
)
from .progress import Progress


def lesson_folders() -> list[Path]:
    """The shipped lessons, then the user's own (which replace a shipped one with the same id)."""
    from ..paths import home, resources_dir

    return [resources_dir() / "lessons", home() / "lessons"]


def progress_file() -> Path:
    from ..paths import home

    return home() / "lesson_progress.json"  # beside, not inside, the folder of lesson files


__all__ = ["Action", "Check", "FactMissing", "Lesson", "LessonError", "Progress", "Step", "Text", "Verdict",
           "evaluate", "expected", "lesson_folders", "load_lessons", "parse_lesson", "parse_number", "problems",
           "progress_file", "read_lesson"]
