"""Where a student is in each lesson, remembered between runs: a small JSON file under
PLAYGROUND_HOME (`lessons/progress.json`), written atomically, read forgivingly (a damaged
file means starting over, never a crash)."""

from __future__ import annotations

import json
import os
from pathlib import Path


class Progress:
    def __init__(self, path: Path):
        self.path = path
        self.data: dict[str, dict] = {}
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(raw, dict):
                self.data = {k: v for k, v in raw.items() if isinstance(v, dict)}
        except (OSError, ValueError):
            pass

    def _entry(self, lesson_id: str) -> dict:
        e = self.data.setdefault(lesson_id, {})
        if not isinstance(e.get("passed"), list):
            e["passed"] = []
        return e

    def position(self, lesson_id: str) -> int:
        """The step to open the lesson at (where the student left it)."""
        v = self.data.get(lesson_id, {}).get("step", 0)
        return v if isinstance(v, int) and v >= 0 else 0

    def passed(self, lesson_id: str) -> set[str]:
        return set(self._entry(lesson_id)["passed"]) if lesson_id in self.data else set()

    def completed(self, lesson_id: str) -> bool:
        return bool(self.data.get(lesson_id, {}).get("completed"))

    def set_position(self, lesson_id: str, step: int) -> None:
        self._entry(lesson_id)["step"] = int(step)
        self.save()

    def mark_passed(self, lesson_id: str, step_id: str) -> None:
        e = self._entry(lesson_id)
        if step_id not in e["passed"]:
            e["passed"].append(step_id)
        self.save()

    def mark_completed(self, lesson_id: str) -> None:
        self._entry(lesson_id)["completed"] = True
        self.save()

    def reset(self, lesson_id: str) -> None:
        self.data.pop(lesson_id, None)
        self.save()

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=1, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # progress is a convenience: a read-only home folder must not stop a lesson
