"""Each shipped lesson, end to end, on the bundled teaching model: every step's check fails after a
wrong action (a wrong answer, or not doing the task, or doing another thing) and passes after the
expected one, done through the real widgets; where a check's answer comes from the live app, the
test works it out independently (from the screen or the model files) and compares."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QToolBar
from tokenizers import Tokenizer

from playground.app import build_window
from playground.engine.training_worker import TrainingEngine
from playground.engine.worker import Engine
from playground.lessons import Progress, lesson_folders, load_lessons
from playground.paths import resources_dir

pytestmark = pytest.mark.slow
TEACHING = resources_dir() / "checkpoints" / "shakespeare-qa"
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def win(qtbot, tmp_path):
    engine, studio = Engine(), TrainingEngine()
    w = build_window(engine, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), studio_engine=studio)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    yield w
    if w.studio is not None:
        w.studio.close()
    if w.compare_window is not None:
        w.compare_window.close()
    engine.shutdown()
    studio.shutdown()


@pytest.fixture
def small_corpus(tmp_path):
    text = (resources_dir() / "corpus" / "shakespeare.txt").read_text(encoding="utf-8")[:150_000]
    p = tmp_path / "small.txt"
    p.write_text(text, encoding="utf-8")
    return str(p)


def _teaching_tokenizer() -> Tokenizer:
    return Tokenizer.from_file(str(TEACHING / "tokenizer.json"))


class Walk:
    """Drives the Lessons dock like a student: opens a lesson, answers, does tasks, goes on."""

    def __init__(self, win, qtbot, lesson_id: str):
        self.win, self.qtbot = win, qtbot
        tb = win.findChild(QToolBar, "mainToolbar")
        qtbot.mouseClick(tb.widgetForAction(win.lessons_ctl.action), LEFT)  # the toolbar's Lessons entry
        self.panel = win.lessons_ctl.panel
        self.runner = self.panel.runner
        self.lesson = next(x for x in self.panel.lessons if x.id == lesson_id)
        with qtbot.waitSignal(self.runner.stepReady, timeout=60000):
            self.panel.chooser.setCurrentIndex(self.panel.chooser.findData(lesson_id))
            self.panel.chooser.activated.emit(self.panel.chooser.currentIndex())

    @property
    def step(self):
        return self.runner.step

    def answer(self, value) -> bool:
        """Give an answer through the panel's widgets and press Check; True if it was right."""
        kind = self.step.check.type
        if kind == "choice":
            button = self.panel.options.button(int(value))
            self.qtbot.waitUntil(lambda: button.isVisible() and button.width() > 20)  # laid out
            self.qtbot.mouseClick(button, LEFT, pos=QPoint(8, button.height() // 2))  # on its circle
            assert button.isChecked()
        elif kind in ("number", "text"):
            self.panel.answer.clear()
            self.qtbot.keyClicks(self.panel.answer, str(value))
        with self.qtbot.waitSignal(self.runner.checked, timeout=5000) as b:
            self.qtbot.mouseClick(self.panel.check_button, LEFT)
        assert self.panel.feedback.text().startswith("✓" if b.args[0] else "✗")
        return b.args[0]

    def question(self, verify=None) -> None:
        """A question: a wrong answer fails, the expected one passes (checked independently first)."""
        check = self.step.check
        expected = self.runner.expected()
        if verify is not None:
            verify(expected)
        if check.type == "choice":
            wrong = (int(expected) + 1) % len(check.options)
        elif check.type == "number":
            wrong = float(expected) + max(1.0, 10 * check.tolerance, 0.2 * abs(float(expected)))
        else:
            wrong = "not the answer"
        assert not self.answer(wrong), (self.step.id, wrong, expected)
        assert not self.panel.next_button.isEnabled()
        shown = f"{expected:.4f}" if isinstance(expected, float) else expected
        assert self.answer(shown), (self.step.id, shown)

    def task(self, wrong, right) -> None:
        """A task: after the wrong action the check fails; after the expected one it passes."""
        wrong()
        assert not self.answer(None), self.step.id
        right()
        assert self.answer(None), self.step.id

    def next(self, timeout: int = 120000) -> None:
        assert self.panel.next_button.isEnabled(), self.step.id
        last = self.runner.index + 1 == len(self.lesson.steps)
        if last:
            self.qtbot.mouseClick(self.panel.next_button, LEFT)
            assert Progress(self.runner.progress.path).completed(self.lesson.id)
            assert "✓" in self.panel.chooser.itemText(self.panel.chooser.findData(self.lesson.id))
            return
        with self.qtbot.waitSignal(self.runner.stepReady, timeout=timeout):
            self.qtbot.mouseClick(self.panel.next_button, LEFT)
        assert self.runner.step.highlight == "" or self.runner.highlighter.target is not None, self.step.id

    def at(self, step_id: str) -> None:
        assert self.step.id == step_id, (self.step.id, step_id)


def _send(win, qtbot) -> None:
    with qtbot.waitSignal(win.replyFinished, timeout=60000):
        qtbot.mouseClick(win.send_button, LEFT)


def _nothing() -> None:
    pass


# ---------------------------------------------------------------------------------------------- lesson 1
def test_lesson_1_text_becomes_tokens(win, qtbot):
    w = Walk(win, qtbot, "tokens")
    tok = _teaching_tokenizer()
    w.at("count")
    assert w.runner.highlighter.target is win.input
    w.question(lambda e: pytest.approx(e) == len(tok.encode("To be, or not to be: that is the question.").ids))
    w.next()
    w.at("own-sentence")
    win.input.clear()
    qtbot.keyClicks(win.input, "My smartphone rings at midnight")
    own = tok.encode("My smartphone rings at midnight").ids
    w.question(lambda e: e == len(own))
    w.next()
    w.at("ids")
    w.question(lambda e: e == own[0])
    w.next()
    w.at("template")
    prompt = win.inside.prompt.toPlainText()
    shown_total = int(prompt.split()[0])  # the Prompt view says how many tokens the model will read
    w.question(lambda e: e == shown_total - len(own))
    w.next()
    w.at("special")
    w.task(_nothing, lambda: _send(win, qtbot))
    w.next()
    w.at("which-special")
    assert "<|endoftext|>" in win.inside.prompt.toPlainText()
    w.question()
    w.next()


# ---------------------------------------------------------------------------------------------- lesson 2
def _click_token(win, qtbot, index: int) -> None:
    reply = win.lessons_ctl.runner.facts.latest_reply()
    widget = win.chat.widgets[reply.id]
    if not widget.tokens.isChecked():
        qtbot.mouseClick(widget.tokens, LEFT)
    widget.body.linkActivated.emit(f"tok:{index}")  # a click on the token's link in the reply


def test_lesson_2_self_attention(win, qtbot):
    w = Walk(win, qtbot, "attention")
    w.at("ask")
    w.task(_nothing, lambda: _send(win, qtbot))
    w.next()
    w.at("row")
    view = win.inside.attention

    def compute_only():  # a wrong action: the heatmap again, but no token's row
        if view.map is None:
            with qtbot.waitSignal(win.attentionShown, timeout=30000):
                qtbot.mouseClick(view.compute, LEFT)

    def attend():
        _click_token(win, qtbot, 1)
        with qtbot.waitSignal(view.rowShown, timeout=30000):
            qtbot.mouseClick(win.inside.token.attend_button, LEFT)
    w.task(compute_only, attend)
    w.next()
    w.at("query")
    facts = w.runner.facts
    reply = facts.latest_reply()
    prompt = win.model.tokenizer.encode_chat(win.conv.messages_for_model(upto=reply), add_generation_prompt=True)
    row = len(prompt) - 1
    assert facts.attention_row == row and view.layer.value() == 0 and view.head.value() == 0

    def top_key(e):
        weights = view.map.weights[0, 0, row, : row + 1].astype(np.float64)
        assert e == int(np.argmax(weights))
        table = w.panel.panel_widgets["attention_math"].table
        shown = [float(table.item(r, 3).text()) for r in range(table.rowCount())]
        assert int(np.argmax(shown)) == e and abs(sum(shown) - 1) < 0.01  # the panel shows the same row
    w.question(top_key)
    w.next()
    w.at("softmax")
    w.question()
    w.next()
    w.at("heads")
    cfg = json.loads((TEACHING / "config.json").read_text())["playground"]
    w.question(lambda e: e == cfg["n_layers"] * cfg["n_heads"])
    w.next()


# ---------------------------------------------------------------------------------------------- lesson 3
def test_lesson_3_layer_by_layer(win, qtbot):
    w = Walk(win, qtbot, "layers")
    w.at("send")
    w.task(_nothing, lambda: _send(win, qtbot))
    w.next()
    w.at("lens")
    table = win.inside.lens.table

    def agreeing(e):
        tops = [table.item(r, 0).text().rsplit("  ", 1)[0] for r in range(table.rowCount())]
        assert table.rowCount() == 1 + win.model.n_layers  # the embedding, then every layer
        assert e == sum(t == tops[-1] for t in tops)
    w.question(agreeing)
    w.next()
    w.at("last-row")
    w.question()
    w.next()
    w.at("another-token")

    def same_token():  # the lens again at the lesson's own token: not another one
        _click_token(win, qtbot, 0)
        with qtbot.waitSignal(win.lensShown, timeout=30000):
            qtbot.mouseClick(win.inside.token.lens_button, LEFT)

    def other_token():  # another token of the reply (it is sampled: it may be only a few tokens long)
        facts = win.lessons_ctl.runner.facts
        for _ in range(5):  # a reply that ended at once has no other token: a student regenerates it
            if len(facts.latest_reply().record.tokens) > 1:
                break
            with qtbot.waitSignal(win.replyFinished, timeout=60000):
                qtbot.mouseClick(win.chat.widgets[facts.latest_reply().id].action, LEFT)  # Regenerate
        n = len(facts.latest_reply().record.tokens)
        assert n > 1, "five replies in a row were one token long"
        _click_token(win, qtbot, min(2, n - 1))
        with qtbot.waitSignal(win.lensShown, timeout=30000):
            qtbot.mouseClick(win.inside.token.lens_button, LEFT)
    w.task(same_token, other_token)
    w.next()


# ---------------------------------------------------------------------------------------------- lesson 4
def test_lesson_4_cross_entropy_and_perplexity(win, qtbot):
    from playground.training.run import score_sentence

    sentence = "To be, or not to be: that is the question."
    studio_numbers = score_sentence(str(TEACHING), sentence)  # the studio's own loss, in this process
    w = Walk(win, qtbot, "loss")
    w.at("surprisal")
    table = w.panel.panel_widgets["score_table"].table

    def worst(e):
        shown = [float(table.item(r, 3).text()) for r in range(table.rowCount())]
        assert table.rowCount() == studio_numbers["tokens"]
        assert e == int(np.argmax(shown)) + 1
    w.question(worst)
    w.next()
    w.at("mean")
    assert "loss L" not in w.panel.panel_widgets["score_table"].sums.text()  # not given away before it is worked out
    w.question(lambda e: abs(e - studio_numbers["loss"]) < 1e-3)
    assert "loss L" in w.panel.panel_widgets["score_table"].sums.text()
    w.next()
    w.at("perplexity")
    w.question(lambda e: abs(e - math.exp(studio_numbers["loss"])) < 1e-2 * e)
    w.next()
    w.at("studio")
    studio = win.studio
    assert studio is not None and studio.isVisible() and studio.score_text.text() == sentence

    def score(text):
        studio.score_text.setText(text)
        with qtbot.waitSignal(studio.sentenceScored, timeout=60000):
            qtbot.mouseClick(studio.scorer.button, LEFT)
    w.task(lambda: score("To be, or not to be."), lambda: score(sentence))
    assert "perplexity" in studio.scorer.result.text()
    w.next()
    w.at("uniform")
    cfg = json.loads((TEACHING / "config.json").read_text())["playground"]
    w.question(lambda e: e == cfg["vocab_size"])
    w.next()


# ---------------------------------------------------------------------------------------------- lesson 5
def test_lesson_5_sampling_side_by_side(win, qtbot):
    w = Walk(win, qtbot, "sampling")
    w.at("run")
    cw = win.compare_window
    assert cw is not None and cw.isVisible() and len(cw.editors) == 3
    assert [(e.params().temperature, e.params().top_k) for e in cw.editors] == [(0.0, 1), (0.7, 40), (1.5, 0)]

    def run():
        with qtbot.waitSignal(cw.comparisonFinished, timeout=60000):
            qtbot.mouseClick(cw.run_button, LEFT)
    w.task(_nothing, run)
    w.next()
    w.at("where")
    comp = cw.comparison

    def parted(e):
        streams = [s.token_ids for s in comp.sides]
        first = next(i for i in range(min(map(len, streams))) if len({s[i] for s in streams}) > 1)
        assert e == first
        assert f"token {first}" in cw.divergence_label.text()
    w.question(parted)
    w.next()
    w.at("table")
    a = comp.at_divergence()[0]
    assert [p for _, p in a.top_final if p > 0] == [1.0]  # side A could only take one token there
    w.question()
    w.next(timeout=60000)
    w.at("funnel")
    table = win.inside.token.table

    def removed(e):
        fates = [table.item(r, 3).text() for r in range(table.rowCount())]
        assert e == sum(f.startswith("removed by") for f in fates)
    w.question(removed)
    w.next()


# ---------------------------------------------------------------------------------------------- lesson 6
def test_lesson_6_the_tutorials_model(win, qtbot, small_corpus):
    w = Walk(win, qtbot, "tutorial-model")
    w.runner.studio_overrides = {"steps": 40, "corpus": [small_corpus], "width": 32, "context": 16, "batch": 8}
    w.at("as-written")  # the overrides apply from the next setup: set the form again, as the step does
    studio = win.studio
    studio.apply_setup({"arch": "tutorial-encoder", "causal": False, "positions": False, "tokenizer": "char",
                        "layers": 2, "heads": 4, **w.runner.studio_overrides})
    assert studio.arch_name() == "tutorial-encoder" and studio.causal.isVisible()
    assert not studio.causal.isChecked() and not studio.positions.isChecked()

    def train():
        with qtbot.waitSignal(studio.runRecorded, timeout=300000):
            qtbot.mouseClick(studio.start, LEFT)

    def tick(box, on):
        if box.isChecked() != on:
            qtbot.mouseClick(box, LEFT)
        assert box.isChecked() == on
    w.task(_nothing, train)
    assert not studio.chat.isEnabled() and not studio.finetune.isEnabled()  # the lesson's model stays in the studio
    w.next()
    w.at("why")
    w.question()
    w.next()
    w.at("mask")
    w.task(train, lambda: (tick(studio.causal, True), train()))  # again without the mask, then with it
    w.next()
    w.at("mask-result")
    runs = w.runner.facts.runs

    def lower(e):
        plain = [r for r in runs if not r["causal"] and not r["positions"]][-1]
        masked = [r for r in runs if r["causal"] and not r["positions"]][-1]
        assert e == (0 if masked["val_loss"] < plain["val_loss"] else 1)
    w.question(lower)
    w.next()
    w.at("positions")
    w.task(_nothing, lambda: (tick(studio.positions, True), train()))
    w.next()
    w.at("cheat")
    w.task(_nothing, lambda: (tick(studio.causal, False), train()))
    w.next()
    w.at("compare")
    table = w.panel.panel_widgets["tutorial_runs"].table
    assert table.rowCount() == len([r for r in runs if r["arch"] == "tutorial-encoder"]) == 5

    def best(e):
        order = [(False, False), (True, False), (True, True), (False, True)]
        last = {(r["causal"], r["positions"]): r["val_loss"] for r in runs}
        assert e == int(np.argmin([last[k] for k in order]))
    w.question(best)
    w.next()


# ---------------------------------------------------------------------------------------------- lesson 7
def test_lesson_7_pretrain_finetune_evaluate(win, qtbot, small_corpus):
    w = Walk(win, qtbot, "pipeline")
    w.runner.studio_overrides = {"steps": 20, "corpus": [small_corpus], "width": 32, "context": 32, "vocab": 300,
                                 "batch": 8, "eval_questions": 10}
    studio = win.studio
    studio.apply_setup({"arch": "llama", "tokenizer": "bpe", "layers": 2, "heads": 4, **w.runner.studio_overrides})

    def click_and_wait(button, signal, timeout=300000):
        def go():
            with qtbot.waitSignal(signal, timeout=timeout):
                qtbot.mouseClick(button, LEFT)
        return go
    w.at("pretrain")
    w.task(_nothing, click_and_wait(studio.start, studio.runRecorded))
    w.next()
    w.at("evaluate-base")
    w.task(_nothing, click_and_wait(studio.evaluate, studio.evaluationShown))
    w.next()
    w.at("finetune")
    w.task(_nothing, click_and_wait(studio.finetune, studio.runRecorded))
    w.next()
    w.at("evaluate-tuned")
    w.task(_nothing, click_and_wait(studio.evaluate, studio.evaluationShown))
    w.next()
    w.at("perplexity")
    base, tuned = studio.results[-2], studio.results[-1]
    assert tuned["checkpoint"].endswith("-qa")
    w.question(lambda e: e == (0 if tuned["perplexity"] > base["perplexity"] else 1))
    w.next(timeout=300000)
    w.at("shipped")
    shipped = studio.results[-1]
    assert shipped["checkpoint"] == str(TEACHING)
    w.question(lambda e: e == pytest.approx(float(studio.table.item(studio.table.rowCount() - 1, 6).text())))
    w.next()


# ---------------------------------------------------------------------------------------------- all of them
def test_every_lesson_names_only_what_the_app_has(win, qtbot):
    """Actions, facts and panels exist; every highlighted widget is found in the app by its objectName."""
    from playground.lessons import problems
    from playground.ui.highlight import find_widget

    panel = win.lessons_ctl.open()
    runner = panel.runner
    lessons, broken = load_lessons(lesson_folders())
    assert broken == [] and len(lessons) == 7
    assert [p for x in lessons for p in problems(x, runner.actions(), runner.facts.names(), runner.panels())] == []
    win.open_studio()
    win.open_compare()
    for name in ("attention", "lens", "token", "prompt", "architecture"):
        win.inside.view(name)
    missing = sorted({s.highlight for x in lessons for s in x.steps if s.highlight and find_widget(s.highlight) is None})
    assert missing == []


def test_progress_is_remembered_when_the_lessons_open_again(win, qtbot, tmp_path):
    w = Walk(win, qtbot, "tokens")
    w.question()
    w.next()
    assert w.runner.index == 1
    runner = w.runner
    again = Progress(runner.progress.path)
    assert again.position("tokens") == 1 and again.passed("tokens") == {"count"}
    with qtbot.waitSignal(runner.stepReady, timeout=30000):
        w.panel.open_lesson("tokens")  # reopened: where the student left it
    assert runner.index == 1
    with qtbot.waitSignal(runner.stepReady, timeout=30000):
        qtbot.mouseClick(w.panel.back_button, LEFT)
    assert runner.index == 0 and w.panel.next_button.isEnabled()  # a passed step stays passed


def test_a_lessons_model_is_for_the_lesson_only(win, qtbot):
    """The user's model stays their model: a lesson's teaching model is not remembered for the next
    start, and closing the lessons loads the user's model back."""
    from playground.loading.discovery import default_model

    mine = str(default_model())
    with qtbot.waitSignal(win.modelReady, timeout=60000):
        win.load_model(mine)
    assert win.settings.value("model/last") == mine
    with qtbot.waitSignal(win.modelReady, timeout=60000):
        w = Walk(win, qtbot, "tokens")  # lesson 1 runs on the teaching model
    assert Path(win.model.path).resolve() == TEACHING.resolve()
    assert win.settings.value("model/last") == mine
    assert Path(mine).name in win.statusBar().currentMessage()  # says whose model comes back
    tb = win.findChild(QToolBar, "mainToolbar")
    with qtbot.waitSignal(win.modelReady, timeout=60000):
        qtbot.mouseClick(tb.widgetForAction(win.lessons_ctl.action), LEFT)  # closes the lessons
    assert not w.panel.isVisible()
    assert win.model.path == mine and win.settings.value("model/last") == mine


def test_lesson_1s_token_table_fits_its_columns_to_their_content(qtbot):
    """The numbers (# and id) as wide as they are, the token column the rest: no token cut, no
    id column half the table wide."""
    from playground.ui.lesson_panels import TokenTable

    labels = {5: "·extraordinarily", 406: "To", 2047: "·question", 13: ","}

    class Facts:
        def draft_ids(self):
            return [406, 5, 13, 2047] * 4

        def _tokenizer(self):
            return type("T", (), {"label": staticmethod(labels.get)})()

    panel = TokenTable(Facts())
    qtbot.addWidget(panel)
    panel.resize(320, 400)  # the Lessons dock's width
    panel.show()
    qtbot.waitExposed(panel)
    panel.refresh()
    t, head = panel.table, panel.table.horizontalHeader()
    qtbot.waitUntil(lambda: head.sectionSize(1) > 0)
    assert head.sectionSize(1) >= t.sizeHintForColumn(1)  # "·extraordinarily" whole
    for c in (0, 2):  # the numbers' columns: their content (or header) and no more
        assert head.sectionSize(c) <= max(t.sizeHintForColumn(c), head.sectionSizeHint(c)) + 2, c
    assert head.sectionSize(1) > head.sectionSize(2)
