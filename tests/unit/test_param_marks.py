"""Where the sampling parameters changed mid-reply, as a reader sees it: one mark per settled
change, at a word boundary, and a start mark when a reply begins under changed parameters."""

from __future__ import annotations

from playground.records import ReplyRecord, TokenRecord
from playground.sampling_params import SamplingParams
from playground.ui.param_marks import param_marks, word_boundary

BASE = SamplingParams(temperature=0.7)


def _reply(pieces, temps, dt=0.05):
    """A record whose token i is text pieces[i], sampled at temperature temps[i], dt s apart."""
    toks = [TokenRecord(index=i, token_id=i, text=t, prob=1.0, raw_prob=1.0, entropy=0.0,
                        params=BASE.replace(temperature=temp), elapsed_s=i * dt)
            for i, (t, temp) in enumerate(zip(pieces, temps))]
    return ReplyRecord(tokens=toks), "".join(pieces)


def test_a_drag_through_many_values_is_one_mark_from_start_to_end():
    pieces = ["The", " cat", " sat", " on", " the", " mat", " and", " slept", " all", " day", " long", "."]
    temps = [0.7, 0.7, 0.8, 0.9, 1.0, 1.1, 1.24, 1.24, 1.24, 1.24, 1.24, 1.24]
    rec, text = _reply(pieces, temps)
    marks = param_marks(rec, text)
    assert len(marks) == 1
    assert marks[0].label == "temperature 0.7 → 1.24" and marks[0].token == 2
    assert marks[0].offset == len("The cat")  # before " sat", between two words


def test_a_mark_inside_a_word_moves_to_its_end():
    rec, text = _reply(["The", " extra", "ordinary", " cat"], [0.7, 0.7, 1.2, 1.2])
    (mark,) = param_marks(rec, text)
    assert text[: mark.offset] == "The extraordinary"
    assert word_boundary("ab cd", 4) == 5 and word_boundary("ab cd", 2) == 2


def test_dragged_back_to_where_it_was_leaves_no_mark():
    rec, text = _reply(["a", " b", " c", " d", " e"], [0.7, 0.9, 1.1, 0.7, 0.7])
    assert param_marks(rec, text) == []


def test_two_changes_far_apart_are_two_marks():
    pieces = [f" w{i}" for i in range(40)]
    temps = [0.7] * 5 + [1.0] * 20 + [0.3] * 15
    rec, text = _reply(pieces, temps, dt=0.5)
    labels = [m.label for m in param_marks(rec, text)]
    assert labels == ["temperature 0.7 → 1", "temperature 1 → 0.3"]


def test_a_reply_that_starts_under_a_change_made_in_the_reply_before_says_so():
    rec, text = _reply(["Hi", " there"], [1.24, 1.24])
    (mark,) = param_marks(rec, text, previous_start=BASE)
    assert mark.offset == 0 and mark.label == "started with temperature 1.24 (the reply before: 0.7)"
    assert param_marks(rec, text, previous_start=BASE.replace(temperature=1.24)) == []
