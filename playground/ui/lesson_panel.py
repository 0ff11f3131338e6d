"""The Lessons dock: pick a lesson, read a step, answer its question, move on.

Layout and wiring only: the `LessonRunner` performs the steps on the app and checks the answers;
the lesson files hold the texts (in the interface's language). Progress is the runner's.
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..lessons import Lesson, lesson_folders, load_lessons
from ..lessons import problems as lesson_problems
from .lesson_panels import PANEL_CLASSES
from .lesson_runner import LessonRunner

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class LessonPanel(QWidget):
    stepShown = Signal(int)  # a step is on screen, its actions done

    def __init__(self, runner: LessonRunner):
        super().__init__()
        self.setObjectName("lessonPanel")
        self.runner = runner
        self.lessons: list[Lesson] = []
        lay = QVBoxLayout(self)
        self.chooser = QComboBox()
        self.chooser.setObjectName("lessonChooser")
        # as narrow as the dock is (a long lesson title is elided; the list opens wide enough to read)
        self.chooser.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.chooser.setMinimumContentsLength(16)
        self.chooser.setToolTip(self.tr("The lessons follow the tutorial's chapters; ✓ marks a finished one"))
        lay.addWidget(self.chooser)
        self.chapter = QLabel()
        self.chapter.setObjectName("lessonChapter")
        self.chapter.setStyleSheet("color: gray;")
        self.chapter.setWordWrap(True)
        lay.addWidget(self.chapter)
        self.position = QLabel()
        self.position.setObjectName("lessonPosition")
        lay.addWidget(self.position)
        self.text = QTextBrowser()
        self.text.setObjectName("lessonText")
        self.text.setOpenExternalLinks(True)
        lay.addWidget(self.text, 3)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(8)
        self.busy.setTextVisible(False)
        lay.addWidget(self.busy)
        self.panels = QStackedWidget()
        self.panels.setObjectName("lessonPanelView")
        self.panels.addWidget(QWidget())  # none
        self.panel_widgets = {}
        for name, cls in PANEL_CLASSES.items():
            w = cls(runner.facts)
            self.panel_widgets[name] = w
            self.panels.addWidget(w)
        lay.addWidget(self.panels, 3)
        self.question = QLabel()
        self.question.setObjectName("lessonQuestion")
        self.question.setWordWrap(True)
        self.question.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.question)
        self.options_box = QWidget()
        self.options_layout = QVBoxLayout(self.options_box)
        self.options_layout.setContentsMargins(0, 0, 0, 0)
        self.options = QButtonGroup(self)
        lay.addWidget(self.options_box)
        self.answer = QLineEdit()
        self.answer.setObjectName("lessonAnswer")
        self.answer.setPlaceholderText(self.tr("Your answer"))
        self.answer.returnPressed.connect(self.check)
        lay.addWidget(self.answer)
        self.check_button = QPushButton(self.tr("Check"))
        self.check_button.setObjectName("lessonCheck")
        lay.addWidget(self.check_button)
        self.feedback = QLabel()
        self.feedback.setObjectName("lessonFeedback")
        self.feedback.setWordWrap(True)
        lay.addWidget(self.feedback)
        row = QHBoxLayout()
        self.back_button = QPushButton(self.tr("◀ Back"))
        self.back_button.setObjectName("lessonBack")
        self.restart_button = QPushButton(self.tr("Start over"))
        self.restart_button.setObjectName("lessonRestart")
        self.next_button = QPushButton(self.tr("Next ▶"))
        self.next_button.setObjectName("lessonNext")
        row.addWidget(self.back_button)
        row.addWidget(self.restart_button)
        row.addStretch(1)
        row.addWidget(self.next_button)
        lay.addLayout(row)
        self.refresh_timer = QTimer(self)  # the panel follows the draft and the views while a step is open
        self.refresh_timer.setInterval(300)
        self.refresh_timer.timeout.connect(self._refresh_panel)
        self.chooser.activated.connect(self._on_chosen)
        self.check_button.clicked.connect(self.check)
        self.next_button.clicked.connect(self._next)
        self.back_button.clicked.connect(runner.back)
        self.restart_button.clicked.connect(runner.restart)
        runner.stepReady.connect(self._on_step_ready)
        runner.checked.connect(self._on_checked)
        runner.actionFailed.connect(self._on_action_failed)
        runner.win.input.textChanged.connect(self._refresh_panel)
        self.reload()

    # -- the list of lessons ---------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the lesson files again (a teacher may have added one)."""
        self.lessons, problems = load_lessons(lesson_folders())
        r = self.runner
        for lesson in self.lessons:
            problems += lesson_problems(lesson, r.actions(), r.facts.names(), r.panels())
        self.problems = problems
        self._fill_chooser()

    def _fill_chooser(self) -> None:
        lang = self.runner.language()
        self.chooser.clear()
        self.chooser.addItem(self.tr("Choose a lesson…"), "")
        for i, lesson in enumerate(self.lessons, 1):
            done = " ✓" if self.runner.progress.completed(lesson.id) else ""
            self.chooser.addItem(f"{i}. {lesson.title.get_text(lang)}{done}", lesson.id)
        if self.problems:
            self.feedback.setText(self.tr("Some lesson files could not be used: %1").replace(
                "%1", html.escape("; ".join(self.problems[:3]))))
        self._show_intro()

    def _show_intro(self) -> None:
        lang = self.runner.language()
        items = "".join(f"<li><b>{html.escape(x.title.get_text(lang))}</b> — {html.escape(x.summary.get_text(lang))}</li>"
                        for x in self.lessons)
        self.text.setHtml("<p>" + html.escape(self.tr(
            "Each lesson walks through a chapter of the tutorial on the live model: it points at the part of the "
            "window to look at, fills in the prompt, runs the model, and asks a question whose answer you can read "
            "off the screen.")) + f"</p><ol>{items}</ol>")
        for w in (self.question, self.options_box, self.answer, self.check_button, self.next_button, self.back_button,
                  self.restart_button, self.busy):
            w.setVisible(False)
        self.panels.setCurrentIndex(0)
        self.position.setText("")
        self.chapter.setText("")

    def open_lesson(self, lesson_id: str, index: int | None = None) -> None:
        lesson = next(x for x in self.lessons if x.id == lesson_id)
        self.chooser.setCurrentIndex(self.chooser.findData(lesson_id))
        self._enter(lesson)
        self.runner.start(lesson, index)

    def _on_chosen(self, i: int) -> None:
        lid = self.chooser.itemData(i)
        if lid:
            self.open_lesson(lid)
        else:
            self.runner.stop()
            self._show_intro()

    def _enter(self, lesson: Lesson) -> None:
        self.chapter.setText(lesson.chapter.get_text(self.runner.language()))
        self.restart_button.setVisible(True)
        self.busy.setVisible(True)
        self.text.setHtml("")
        self.feedback.setText("")

    # -- a step ---------------------------------------------------------------------------------------------------
    def _on_step_ready(self, index: int) -> None:
        r = self.runner
        step, lang = r.step, r.language()
        if step is None:
            return
        self.busy.setVisible(False)
        self.position.setText(self.tr("Step %1 of %2").replace("%1", str(index + 1))
                              .replace("%2", str(len(r.lesson.steps))))
        self.text.setHtml(f"<h3>{html.escape(r.lesson.title.get_text(lang))}</h3><p>{self._fill(step.text.get_text(lang))}</p>")
        self.panels.setCurrentWidget(self.panel_widgets.get(step.panel, self.panels.widget(0)))
        self.panels.setVisible(bool(step.panel))
        self._refresh_panel()
        if step.panel:
            self.refresh_timer.start()
        else:
            self.refresh_timer.stop()
        for b in self.options.buttons():
            self.options.removeButton(b)
            b.setParent(None)
            b.deleteLater()
        check = step.check
        kind = check.type if check else ""
        self.question.setVisible(check is not None)
        self.question.setText(f"<b>{self._fill(check.question.get_text(lang))}</b>" if check else "")
        self.options_box.setVisible(kind == "choice")
        if kind == "choice":
            for i, opt in enumerate(check.options):
                b = QRadioButton(opt.get_text(lang))
                b.setObjectName(f"lessonOption{i}")
                self.options.addButton(b, i)
                self.options_layout.addWidget(b)
        self.answer.setVisible(kind in ("number", "text"))
        self.answer.clear()
        self.check_button.setVisible(check is not None)
        self.check_button.setText(self.tr("I did it — check") if kind == "task" else self.tr("Check"))
        passed = step.id in r.progress.passed(r.lesson.id)
        self.feedback.setText(self.tr("Done before — you may go on.") if passed and check else "")
        self.back_button.setVisible(True)
        self.back_button.setEnabled(index > 0)
        self.next_button.setVisible(True)
        self._update_next()
        self.stepShown.emit(index)

    def _fill(self, text: str) -> str:
        """{fact} placeholders in a lesson's text take the fact's value (or stay as they are)."""
        def one(m):
            try:
                v = self.runner.facts.get(m.group(1))
            except LookupError:
                return m.group(0)
            return f"{v:.3g}" if isinstance(v, float) else str(v)
        return PLACEHOLDER.sub(one, text)

    def _refresh_panel(self) -> None:
        w = self.panels.currentWidget()
        if self.panels.isVisible() and hasattr(w, "refresh"):
            w.refresh()

    def check(self) -> None:
        step = self.runner.step
        if step is None or step.check is None or self.runner.busy:
            return
        kind = step.check.type
        answer = self.options.checkedId() if kind == "choice" else self.answer.text()
        if kind == "choice" and answer < 0:
            self.feedback.setText(self.tr("Pick one of the answers first."))
            return
        v = self.runner.check(answer)
        lang = self.runner.language()
        if v.ok:
            more = step.check.explain.get_text(lang) if step.check.explain else ""
            self.feedback.setText("✓ " + self.tr("Right.") + (" " + self._fill(more) if more else ""))
            self.feedback.setStyleSheet("color: #2e7d32;")
            self._refresh_panel()
        else:
            if v.missing:
                msg = self.tr("Not yet: do what the step asks first.")
            else:
                msg = self.tr("Not quite.")
            runs = self.runner.facts.runs
            if kind == "task" and runs and runs[-1].get("reason") != "done":
                msg += " " + self.tr("The last run ended before its last step, and a task counts only runs that "
                                     "finish: start it again and let it run to the end.")
            hint = step.check.hint.get_text(lang) if step.check.hint else ""
            self.feedback.setText("✗ " + msg + (" " + self._fill(hint) if hint else ""))
            self.feedback.setStyleSheet("color: #c62828;")
        self._update_next()

    def _on_checked(self, ok: bool) -> None:
        self._update_next()

    def _on_action_failed(self, message: str) -> None:
        self.busy.setVisible(False)
        self.feedback.setText(self.tr("This step could not run: %1").replace("%1", html.escape(message)))
        self.feedback.setStyleSheet("color: #c62828;")

    def _update_next(self) -> None:
        r = self.runner
        last = r.lesson is not None and r.index + 1 >= len(r.lesson.steps)
        self.next_button.setText(self.tr("Finish ✓") if last else self.tr("Next ▶"))
        self.next_button.setEnabled(r.can_advance())

    def _next(self) -> None:
        r = self.runner
        if not r.can_advance():
            return
        self.feedback.setText("")
        self.feedback.setStyleSheet("")
        if r.next():
            self.busy.setVisible(True)
        else:  # the last step: the lesson is done
            lesson = r.lesson
            self.runner.stop()
            self._fill_chooser()
            self.feedback.setText(self.tr("Lesson finished: %1.").replace("%1", html.escape(
                lesson.title.get_text(r.language()))))
            self.feedback.setStyleSheet("color: #2e7d32;")
