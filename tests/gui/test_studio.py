"""The studio: a tiny training run from the window, live curves, stop, and chatting with the result."""

from __future__ import annotations

from pathlib import Path

import pytest

from playground.app import build_window
from playground.engine.training_worker import TrainingEngine
from playground.engine.worker import Engine


@pytest.fixture
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    win = build_window(Engine(), QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                       studio_engine=TrainingEngine())
    qtbot.addWidget(win)
    yield win
    win.close()


def _tiny(studio, tmp_path, steps):
    corpus = tmp_path / "corpus.txt"
    from playground.training.data import DEFAULT_CORPUS

    corpus.write_text(DEFAULT_CORPUS.read_text()[:30_000])
    studio.corpus = [str(corpus)]
    studio.vocab.setValue(300)
    for w, v in ((studio.layers, 1), (studio.heads, 2), (studio.dim, 32), (studio.context, 32),
                 (studio.steps, steps), (studio.batch, 4)):
        w.setValue(v)
    from playground.paths import models_dir

    studio.out.setText(str(models_dir() / "studio-tiny"))  # the user's models folder: the picker lists it


def test_a_tiny_run_draws_its_curve_and_chats(window, qtbot, tmp_path):
    studio = window.open_studio()
    _tiny(studio, tmp_path, steps=12)
    assert "parameters" in studio.estimate.text()
    for plot, note in ((studio.plot, studio.loss_note), (studio.ppl_plot, studio.ppl_note)):  # before any training:
        assert note.label.isVisibleTo(plot) and "No data yet" in note.label.text()  # words, not a 0.1–0.9 grid
        assert not plot.getPlotItem().getAxis("left").style["showValues"]
    with qtbot.waitSignal(studio.runFinished, timeout=60000) as b:
        studio.start.click()
    for plot, note in ((studio.plot, studio.loss_note), (studio.ppl_plot, studio.ppl_note)):  # the curves, numbered
        assert not note.label.isVisibleTo(plot) and plot.getPlotItem().getAxis("left").style["showValues"]
    path, reason = b.args
    assert reason == "done" and len(studio.losses) == 12 and studio.val
    assert studio.loss_curve.getData()[0] is not None and len(studio.loss_curve.getData()[0]) == 12
    assert len(studio.ppl_curve.getData()[0]) == len(studio.val) >= 1
    assert "tokens:" in studio.tokens_view.text()
    from playground.loading.discovery import discover

    assert any(str(m.path) == path for m in discover())  # it is in the model picker
    with qtbot.waitSignal(window.modelReady, timeout=30000):
        studio.chat.click()
    assert window.model.path == path
    with qtbot.waitSignal(studio.engine.worker.evaluated, timeout=60000):
        studio.engine.evaluate(path, 3)


def test_stop_ends_a_run_early_and_keeps_a_checkpoint(window, qtbot, tmp_path):
    studio = window.open_studio()
    _tiny(studio, tmp_path, steps=100_000)
    studio.engine.worker.stepped.connect(lambda ev: ev.step == 3 and studio.engine.worker.stop())
    with qtbot.waitSignal(studio.runFinished, timeout=60000) as b:
        studio.start.click()
    assert b.args[1] == "stopped" and 3 <= len(studio.losses) < 100
    assert studio.finetune.isEnabled() and (Path(b.args[0]) / "model.safetensors").exists()


def test_resume_continues_from_the_checkpoint_and_the_split_is_shown(window, qtbot, tmp_path):
    studio = window.open_studio()
    _tiny(studio, tmp_path, steps=100_000)
    stopper = lambda ev: ev.step == 4 and studio.engine.worker.stop()  # noqa: E731
    studio.engine.worker.stepped.connect(stopper)
    with qtbot.waitSignal(studio.runFinished, timeout=60000):
        studio.start.click()
    studio.engine.worker.stepped.disconnect(stopper)
    studio.steps.setValue(8)
    studio.resume.setChecked(True)
    starts = []
    studio.engine.worker.started.connect(lambda info: starts.append(info))
    with qtbot.waitSignal(studio.runFinished, timeout=60000) as b:
        studio.start.click()
    assert b.args[1] == "done" and starts[0]["start_step"] >= 4
    assert "training and" in starts[0]["summary"] and "validation" in starts[0]["summary"]
    assert studio.losses[0][0] == starts[0]["start_step"] + 1  # the curve goes on from there


def _click(qtbot, button):
    from PySide6.QtCore import Qt

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_the_stop_button_ends_a_run_within_one_step(window, qtbot, tmp_path):
    """Through the real button, while the training thread is busy: the run ends at most one
    step after the click (a queued slot on the worker would only run after the whole run)."""
    studio = window.open_studio()
    _tiny(studio, tmp_path, steps=3000)
    clicked_at = []
    clicked = []
    # the worker's step when the click has taken effect (this runs after the window's own slot)
    studio.stop.clicked.connect(lambda: clicked_at.append(studio.engine.worker.trainer.state.step))
    studio.stepShown.connect(lambda ev: ev.step >= 3 and not clicked and (clicked.append(1), _click(qtbot, studio.stop)))
    with qtbot.waitSignal(studio.runFinished, timeout=120000) as b:
        _click(qtbot, studio.start)
    assert b.args[1] == "stopped"
    assert studio.losses[-1][0] <= clicked_at[0] + 1, (studio.losses[-1][0], clicked_at)
    assert studio.status.text().startswith("Stopped") and studio.start.isEnabled()


def test_pause_and_resume_through_the_buttons(window, qtbot, tmp_path):
    studio = window.open_studio()
    _tiny(studio, tmp_path, steps=3000)
    worker = studio.engine.worker
    first = []
    studio.stepShown.connect(lambda ev: not first and (first.append(ev.step), _click(qtbot, studio.pause)))
    with qtbot.waitSignal(studio.pauseShown, timeout=120000) as p:
        _click(qtbot, studio.start)
    paused_at = p.args[0]
    assert studio.pause.isChecked() and "Paused after step" in studio.status.text()
    assert worker.trainer.state.step == paused_at  # waiting: no step runs while paused
    with qtbot.waitSignal(studio.stepShown, timeout=60000) as s:
        _click(qtbot, studio.pause)  # Resume
    assert s.args[0].step == paused_at + 1 and studio.pause.text() == "Pause"
    with qtbot.waitSignal(studio.runFinished, timeout=60000) as b:
        _click(qtbot, studio.stop)
    assert b.args[1] == "stopped"


def test_studio_chart_labels_do_not_overlap(window, qtbot, tmp_path):
    from playground.ui.plots import overlaps

    studio = window.open_studio()
    studio.resize(1280, 800)
    studio.show()
    _tiny(studio, tmp_path, steps=30)
    with qtbot.waitSignal(studio.runFinished, timeout=120000):
        _click(qtbot, studio.start)
    qtbot.waitUntil(lambda: studio.ppl_plot.isVisible())
    for plot in (studio.plot, studio.ppl_plot):
        for side in ("left", "bottom"):
            labels = plot.getPlotItem().getAxis(side).labels()
            assert len(labels) >= 2, (side, labels)  # an axis a reader can read values from
            assert not overlaps([r for r, _ in labels]), [t for _, t in labels]
    assert studio.plot.getPlotItem().legend is None  # the legend sits above the chart, not on the curves
    studio.grab().save(str(tmp_path / "studio.png"))


def test_a_short_studio_keeps_every_row_readable_and_closes_with_ctrl_w(window, qtbot):
    """At 1200 × 782 with the tutorial encoder's extra row, the form scrolls rather than pushing the
    estimate under the Dropout row or squeezing the spin boxes; Ctrl+W closes the window."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtWidgets import QScrollArea

    from playground.ui.studio import TUTORIAL_ARCH

    studio = window.open_studio()
    studio.resize(1200, 782)
    studio.arch.setCurrentIndex(studio.arch.findData(TUTORIAL_ARCH))
    qtbot.waitExposed(studio)
    qtbot.waitUntil(lambda: studio.estimate.isVisible() and "parameters" in studio.estimate.text())
    form = studio.estimate.parentWidget()

    def top(w):
        return w.mapTo(form, QPoint(0, 0)).y()

    assert top(studio.estimate) >= top(studio.dropout) + studio.dropout.height()  # below, not under, it
    sa = studio.findChild(QScrollArea)
    spins = (studio.layers, studio.heads, studio.dim, studio.context, studio.dropout)
    qtbot.waitUntil(lambda: sa.widget().height() >= sa.widget().minimumHeight() > 0)  # laid out again
    for spin in spins:
        assert spin.height() >= spin.sizeHint().height(), spin.height()
    studio.activateWindow()
    qtbot.waitUntil(studio.isActiveWindow)
    qtbot.keyClick(studio, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not studio.isVisible())
