"""Lessons as data: the shipped files parse and come in English and Chinese; bad files get a
message naming the file and the field; answers are checked against facts; progress persists."""

from __future__ import annotations

import json

import pytest

from playground.lessons import (
    FactMissing,
    LessonError,
    Progress,
    evaluate,
    lesson_folders,
    load_lessons,
    parse_lesson,
    parse_number,
    read_lesson,
)

SHIPPED_IDS = ["tokens", "attention", "layers", "loss", "sampling", "tutorial-model", "pipeline"]


def _texts(lesson):
    yield lesson.title
    yield lesson.summary
    for s in lesson.steps:
        yield s.text
        if s.check:
            yield s.check.question
            yield from s.check.options
            if s.check.hint:
                yield s.check.hint
            if s.check.explain:
                yield s.check.explain


def test_the_seven_shipped_lessons_parse_in_order_with_both_languages():
    lessons, problems = load_lessons(lesson_folders()[:1])
    assert problems == []
    assert [x.id for x in lessons] == SHIPPED_IDS
    for lesson in lessons:
        for t in _texts(lesson):
            assert set(t) == {"en", "zh"}, (lesson.id, t)
            assert t["en"].strip() and t["zh"].strip(), (lesson.id, t)
            assert any("\u4e00" <= ch <= "\u9fff" for ch in t["zh"]) or t["zh"] == t["en"], (lesson.id, t["zh"])


def test_chinese_lessons_use_the_tutorials_terms():
    lessons, _ = load_lessons(lesson_folders()[:1])
    zh = " ".join(t["zh"] for lesson in lessons for t in _texts(lesson))
    for term in ("自注意力", "预训练", "微调", "推理", "交叉熵", "困惑度"):
        assert term in zh, term


def _minimal(**over):
    d = {"format": 1, "id": "x", "title": "T", "steps": [
        {"id": "a", "text": "A", "check": {"type": "number", "answer": 3, "question": "How many?"}}]}
    d.update(over)
    return d


@pytest.mark.parametrize("bad, where", [
    ({"format": 2}, "format"),
    ({"id": ""}, "id"),
    ({"steps": []}, "steps"),
    ({"title": {"zh": "只有中文"}}, "title"),
    ({"steps": [{"id": "a", "text": "A"}, {"id": "a", "text": "B"}]}, "repeated"),
    ({"steps": [{"id": "a", "text": "A", "check": {"type": "guess", "question": "?"}}]}, "steps[0].check.type"),
    ({"steps": [{"id": "a", "text": "A", "check": {"type": "choice", "question": "?", "options": ["x", "y"],
                                                     "answer": 5}}]}, "steps[0].check.answer"),
    ({"steps": [{"id": "a", "text": "A", "check": {"type": "task", "question": "?"}}]}, "steps[0].check.fact"),
    ({"steps": [{"id": "a", "text": "A", "do": [{"what": 1}]}]}, "steps[0].do[0]"),
])
def test_a_bad_lesson_is_refused_with_the_field_named(bad, where):
    with pytest.raises(LessonError) as e:
        parse_lesson(_minimal(**bad), "bad.json")
    assert "bad.json" in str(e.value) and where in str(e.value)


def test_a_teachers_folder_adds_and_replaces_lessons_and_reports_broken_files(tmp_path):
    shipped, mine = tmp_path / "shipped", tmp_path / "mine"
    shipped.mkdir()
    mine.mkdir()
    (shipped / "a.json").write_text(json.dumps(_minimal(id="a", order=1, title="shipped")))
    (shipped / "b.json").write_text(json.dumps(_minimal(id="b", order=2)))
    (mine / "a.json").write_text(json.dumps(_minimal(id="a", order=1, title="the teacher's")))
    (mine / "c.json").write_text(json.dumps(_minimal(id="c", order=0)))
    (mine / "broken.json").write_text("{ not json")
    lessons, problems = load_lessons([shipped, mine])
    assert [x.id for x in lessons] == ["c", "a", "b"]
    assert lessons[1].title.get_text() == "the teacher's"
    assert len(problems) == 1 and "broken.json" in problems[0] and "line 1" in problems[0]


def test_a_huge_file_is_not_read(tmp_path):
    p = tmp_path / "big.json"
    p.write_text(" " * (2 << 20))
    with pytest.raises(LessonError, match="at most"):
        read_lesson(p)


def test_answers_are_checked_against_facts():
    lesson = parse_lesson({"format": 1, "id": "x", "title": "T", "steps": [
        {"id": "n", "text": "t", "check": {"type": "number", "fact": "loss", "tolerance": 0.01, "question": "?"}},
        {"id": "c", "text": "t", "check": {"type": "choice", "options": ["a", "b"], "fact": "which", "question": "?"}},
        {"id": "t", "text": "t", "check": {"type": "text", "answer": ["Paris", "paris, france"], "question": "?"}},
        {"id": "k", "text": "t", "check": {"type": "task", "fact": "done", "question": "do it"}},
        {"id": "m", "text": "t", "check": {"type": "task", "fact": "runs", "minimum": 2, "question": "do it"}},
    ]})
    facts = {"loss": 3.14159, "which": 1, "done": False, "runs": 1}

    def fact(name):
        if name not in facts:
            raise FactMissing(name)
        return facts[name]

    n, c, t, k, m = (s.check for s in lesson.steps)
    assert evaluate(n, "3.14", fact).ok and evaluate(n, "3,15", fact).ok and not evaluate(n, "3.2", fact).ok
    assert not evaluate(n, "pi", fact).ok
    assert evaluate(c, 1, fact).ok and not evaluate(c, 0, fact).ok and not evaluate(c, True, fact).ok
    assert evaluate(t, "  PARIS ", fact).ok and evaluate(t, "Paris,  France", fact).ok and not evaluate(t, "Rome", fact).ok
    assert not evaluate(k, None, fact).ok
    facts["done"] = True
    assert evaluate(k, None, fact).ok
    assert not evaluate(m, None, fact).ok
    facts["runs"] = 2
    assert evaluate(m, None, fact).ok
    del facts["loss"]
    v = evaluate(n, "3.14", fact)
    assert not v.ok and v.missing


def test_parse_number_reads_what_students_type():
    assert parse_number(" 2,5 ") == 2.5 and parse_number("1e-3") == 0.001 and parse_number("42%") == 42
    assert parse_number("inf") is None and parse_number("") is None and parse_number(None) is None


def test_progress_is_remembered_and_a_damaged_file_starts_over(tmp_path):
    path = tmp_path / "p.json"
    p = Progress(path)
    p.set_position("tokens", 3)
    p.mark_passed("tokens", "count")
    p.mark_completed("loss")
    again = Progress(path)
    assert again.position("tokens") == 3 and again.passed("tokens") == {"count"}
    assert again.completed("loss") and not again.completed("tokens")
    again.reset("tokens")
    assert Progress(path).position("tokens") == 0
    path.write_text("{broken")
    assert Progress(path).position("tokens") == 0
