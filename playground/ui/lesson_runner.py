"""Running a lesson on the live app: each step's actions, then its check.

The lesson files (resources/lessons/, lessons/model.py) name actions, facts and panels; this is
the app's vocabulary for them. An action drives the real window the way a student would (fills
the message box, sends, opens a view, sets up the studio) and, when it starts something that
takes time (a reply, a training run), the next action waits for the signal that says it ended.
Facts (lesson_facts.py) read what the app shows now; a check compares the student's answer with
them. Nothing here runs the model: every computation goes to a worker as the window's own buttons
send it.

Signals: stepReady(index) once a step's actions are done; checked(bool) after each check;
actionFailed(message) when an action cannot run (no model, a failed training run).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from ..lessons import Lesson, Progress, Verdict, evaluate, progress_file
from ..paths import resources_dir, same_path
from ..sampling_params import SamplingParams
from .highlight import Highlighter
from .lesson_facts import LessonFacts

if TYPE_CHECKING:
    from .main_window import MainWindow

TEACHING_MODEL = "checkpoints/shakespeare-qa"
# widgets inside the workspace's views, which exist once the view is built: objectName → view
INSIDE_VIEWS = {"promptView": "prompt", "attentionView": "attention", "computeAttention": "attention",
                "lensView": "lens", "tokenInspector": "token", "architectureView": "architecture"}
PANELS = {"token_table", "attention_math", "score_table", "tutorial_runs"}
STUDIO_FIELDS = {"layers": "layers", "heads": "heads", "width": "dim", "context": "context", "steps": "steps",
                 "batch": "batch", "vocab": "vocab"}


class _Waiter(QObject):
    """Waits once for a signal (optionally one whose arguments pass a test), then calls back.
    A failure signal, if given, ends the wait with its message."""

    def __init__(self, parent, signal, done: Callable[[], None], fail: Callable[[str], None],
                 accept: Callable[..., bool] | None = None, failure=None):
        super().__init__(parent)
        self.signal, self.failure = signal, failure
        self.done, self.fail, self.accept = done, fail, accept
        signal.connect(self._on_signal)
        if failure is not None:
            failure.connect(self._on_failure)

    def _finish(self) -> None:
        self.signal.disconnect(self._on_signal)
        if self.failure is not None:
            self.failure.disconnect(self._on_failure)
        self.deleteLater()

    def _on_signal(self, *args) -> None:
        if self.accept is not None and not self.accept(*args):
            return
        self._finish()
        self.done()

    def _on_failure(self, *args) -> None:
        self._finish()
        self.fail(str(args[-1]) if args else "failed")


class LessonRunner(QObject):
    stepReady = Signal(int)  # the step whose actions have all run
    checked = Signal(bool)  # the verdict of the last check
    actionFailed = Signal(str)  # an action could not run (the lesson stays on its step)
    lessonChanged = Signal(object)  # the Lesson now open

    def __init__(self, win: MainWindow, language: Callable[[], str] | None = None, progress: Progress | None = None):
        super().__init__(win)
        self.win = win
        self.language = language or (lambda: "en")
        self.progress = progress or Progress(progress_file())
        self.highlighter = Highlighter(self)
        self.facts = LessonFacts(self)
        self.lesson: Lesson | None = None
        self.index = 0
        self.busy = False
        self.verdict: Verdict | None = None
        self._queue: list = []
        self._waiter: _Waiter | None = None
        self.studio_overrides: dict[str, Any] = {}  # tests shrink the studio's runs here (e.g. steps)

    # -- the vocabulary the lesson files may use -------------------------------------------------------
    @classmethod
    def actions(cls) -> set[str]:
        return {n[4:] for n in dir(cls) if n.startswith("act_")}

    @staticmethod
    def panels() -> set[str]:
        return set(PANELS)

    # -- moving through a lesson ------------------------------------------------------------------------
    @property
    def step(self):
        return self.lesson.steps[self.index] if self.lesson is not None else None

    def start(self, lesson: Lesson, index: int | None = None) -> None:
        """Open a lesson where the student left it (or at `index`)."""
        self.lesson = lesson
        self.facts.reset_lesson()
        self.facts.watch_attention(self.win.inside.attention)
        self.lessonChanged.emit(lesson)
        start = self.progress.position(lesson.id) if index is None else index
        self.go(min(max(start, 0), len(lesson.steps) - 1))

    def go(self, index: int) -> None:
        """Open step `index`: remember it, point at its widget, run its actions."""
        if self.lesson is None:
            return
        self._abandon()
        self.index = index
        self.verdict = None
        self.progress.set_position(self.lesson.id, index)
        self.facts.reset_step()
        self._queue = list(self.step.actions)
        self.busy = True
        self._run_next()

    def next(self) -> bool:
        if self.lesson is None or self.busy:
            return False
        if self.index + 1 < len(self.lesson.steps):
            self.go(self.index + 1)
            return True
        self.progress.mark_completed(self.lesson.id)
        return False

    def back(self) -> None:
        if self.lesson is not None and self.index > 0:
            self.go(self.index - 1)

    def restart(self) -> None:
        if self.lesson is not None:
            self.progress.reset(self.lesson.id)
            self.start(self.lesson, 0)

    def stop(self) -> None:
        """Leave the lesson (the app stays as it is)."""
        self._abandon()
        self.highlighter.clear()
        self.lesson = None

    def can_advance(self) -> bool:
        step = self.step
        return step is not None and not self.busy and (step.check is None or bool(self.verdict and self.verdict.ok)
                                                       or step.id in self.progress.passed(self.lesson.id))

    # -- checking ------------------------------------------------------------------------------------------
    def check(self, answer: Any = None) -> Verdict:
        """The student's answer to this step's check (a task's answer is the app's state)."""
        step = self.step
        if step is None or step.check is None:
            return Verdict(True)
        v = evaluate(step.check, answer, self.facts.get)
        self.verdict = v
        if v.ok:
            self.progress.mark_passed(self.lesson.id, step.id)
            self.facts.passed(step)
        self.checked.emit(v.ok)
        return v

    def expected(self) -> Any:
        """The right answer now (what the lesson will accept): for teachers' previews and tests."""
        from ..lessons import expected

        return expected(self.step.check, self.facts.get)

    # -- running actions -----------------------------------------------------------------------------------
    def _abandon(self) -> None:
        self._queue = []
        if self._waiter is not None:
            try:
                self._waiter._finish()
            except RuntimeError:
                pass
            self._waiter = None

    def _run_next(self) -> None:
        while self._queue:
            action = self._queue.pop(0)
            fn = getattr(self, f"act_{action.name}", None)
            if fn is None:
                self._failed(f"unknown action {action.name!r}")
                return
            try:
                wait = fn(**action.args)
            except Exception as e:  # a lesson file's bad argument must not take the app down
                self._failed(f"{action.name}: {type(e).__name__}: {e}")
                return
            if wait is not None:
                signal, accept, failure = (wait + (None, None))[:3]
                self._waiter = _Waiter(self, signal, self._resume, self._failed, accept, failure)
                return
        self.busy = False
        self._point()
        self.stepReady.emit(self.index)

    def _resume(self) -> None:
        self._waiter = None
        self._run_next()

    def _failed(self, message: str) -> None:
        self._waiter = None
        self._queue = []
        self.busy = False
        self._point()
        self.actionFailed.emit(message)
        self.stepReady.emit(self.index)

    def _point(self) -> None:
        step = self.step
        if step is None or not step.highlight:
            self.highlighter.clear()
            return
        view = INSIDE_VIEWS.get(step.highlight)
        if view is not None:  # a view of the Inside-the-model workspace: built on first use, shown
            self.win.show_inside(True)
            if self.win.inside.current() != view:
                self.win.inside.show_view(view)
        self.highlighter.show(step.highlight)

    # -- the actions (each returns None, or (signal, accept?, failure?) to wait for) ------------------------------
    def act_use_teaching_model(self):
        """Chat with the bundled teaching checkpoint, its float weights exactly as stored (loading it
        unless it is the model now, held so): the lessons compare the chat's numbers with the
        studio's, which are computed in float; the fast path's Q8_0 copy differs by a few 1e-3 nats."""
        path = resources_dir() / TEACHING_MODEL
        m = self.win.model
        if m is not None and same_path(m.path, path) and "quantized at load" not in (m.weights or ""):
            return None
        self.win.model_ctl.load_for_lesson(str(path), dtype="exact")  # the user's own model comes back after
        return (self.win.modelReady, None, self.win.loadFailed)

    def act_new_chat(self):
        if self.win.session.generating:
            self.win.session.stop()
        self.win.new_chat()

    def act_fill_prompt(self, text: str | dict = ""):
        self.win.input.setPlainText(_localized(text, self.language()))

    def act_send(self):
        if self.win.model is None:
            raise RuntimeError("no model is loaded")
        if not self.win.input.toPlainText().strip():
            raise RuntimeError("the message box is empty")
        self.win.send()
        return (self.win.replyFinished,)

    def act_show_inside(self, view: str = "token"):
        self.win.show_inside(True)
        self.win.inside.show_view(view)

    def act_show_prompt(self):
        """The Prompt view shows what the model would read if the draft were sent now."""
        m = self.win.model
        if m is None or m.tokenizer is None:
            raise RuntimeError("no model is loaded")
        ids = self.facts.draft_prompt_ids()
        self.win.show_inside(True)
        view = self.win.inside.show_view("prompt")
        view.show_prompt(ids, m.tokenizer.label, m.tokenizer.is_special)

    def act_show_tokens(self):
        reply = self.facts.latest_reply()
        w = self.win.chat.widgets.get(reply.id) if reply is not None else None
        if w is not None:
            w.tokens.setChecked(True)
            w.refresh()

    def act_inspect_token(self, index: int = 0):
        reply = self.facts.latest_reply()
        if reply is None:
            raise RuntimeError("there is no reply to inspect")
        self.win.inspect_ctl.inspect_token(reply, min(index, len(reply.record.tokens) - 1))

    def act_lens(self, index: int = 0):
        self.act_inspect_token(index)
        self.facts.lens_from_lesson = self.win.inspect_ctl.inspected[1]
        self.win.inspect_ctl.lens_at_inspected()
        return (self.win.lensShown,)

    def act_attention_row(self, layer: int = 0, head: int = 0):
        """The attention view at one layer and head, showing the row of the prompt's last token
        (where the model read the question and began to answer)."""
        self.win.show_inside(True)
        view = self.win.inside.show_view("attention")
        view.layer.setValue(layer)
        view.head.setValue(head)
        row = self.facts.prompt_last_position()
        if row is None:
            raise RuntimeError("there is no reply to look at")
        if view.map is None or row >= view.map.shape[2]:
            self.win.inspect_ctl.compute_attention()
            self._pending_row = row
            return (self.win.attentionShown, self._show_pending_row)
        view.show_row(row)
        self.facts.attention_row = row
        return None

    def _show_pending_row(self, amap) -> bool:
        view = self.win.inside.attention
        view.show_row(self._pending_row)
        self.facts.attention_row = self._pending_row
        return True

    def act_score(self, text: str | dict = ""):
        text = _localized(text, self.language())
        self.facts.score = None
        rid = self.win.engine.score(text)
        worker = self.win.engine.worker

        def accept(req, result) -> bool:
            if req != rid:
                return False
            self.facts.score = result
            return True
        return (worker.scoreReady, accept, worker.inspectFailed)

    def act_open_compare(self, question: str | dict = "", sides: list | None = None):
        cw = self.win.open_compare()
        cw.set_prefix(draft=_localized(question, self.language()))
        if sides:
            cw.set_sides([SamplingParams.from_dict(s) for s in sides])
        self.facts.watch_compare(cw)

    def act_set_sampling(self, **params):
        self.win.sampling.set_params(SamplingParams.from_dict({**self.win.sampling.params().to_dict(), **params}))

    def act_open_studio(self):
        studio = self.win.open_studio()
        if studio is None:
            raise RuntimeError("the studio is not available in this window")
        self.facts.watch_studio(studio)

    def act_studio_setup(self, **spec):
        studio = self._studio()
        studio.apply_setup({**spec, **self.studio_overrides})

    def act_studio_score_text(self, text: str | dict = ""):
        studio = self._studio()
        studio.score_text.setText(_localized(text, self.language()))
        studio.score_checkpoint = str(resources_dir() / TEACHING_MODEL)

    def act_studio_evaluate(self, checkpoint: str = "last"):
        studio = self._studio()
        path = str(resources_dir() / TEACHING_MODEL) if checkpoint == "teaching" else studio.last_checkpoint
        if not path:
            raise RuntimeError("there is no checkpoint to evaluate yet")
        studio.evaluate_checkpoint(path)
        return (studio.evaluationShown, None, studio.failedShown)

    def _studio(self):
        studio = self.win.studio or self.win.open_studio()
        if studio is None:
            raise RuntimeError("the studio is not available in this window")
        self.facts.watch_studio(studio)
        return studio


def _localized(text: str | dict, lang: str) -> str:
    if isinstance(text, dict):
        from ..lessons import Text

        return Text(text).get_text(lang)
    return text
