"""Conversations survive the window: saved as they stream, restored with their branches."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from playground.app import build_window
from playground.engine.worker import Engine
from playground.storage import Store, StoreError
from tests.helpers import fake_loaded_model

TEXT = "hello world, this is a tiny corpus"


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warnings.append(a[2]))
    made = []

    def make(db=tmp_path / "history.db"):
        engine = Engine()
        win = build_window(engine, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), Store(db))
        win.warnings = warnings
        qtbot.addWidget(win)
        with qtbot.waitSignal(win.modelReady, timeout=5000):
            engine.worker.set_model(fake_loaded_model(TEXT))
        made.append(win)
        return win

    yield make
    for w in made:
        w.engine.shutdown()


def _ask(qtbot, win, text="hi"):
    win.input.setPlainText(text)
    with qtbot.waitSignal(win.replyFinished, timeout=10000) as b:
        win.send()
    return b.args[0]


def test_a_reply_is_saved_with_its_token_record(make_window, qtbot, tmp_path):
    win = make_window()
    _ask(qtbot, win, "first question")
    qtbot.waitUntil(lambda: win.session.writer.pending == 0, timeout=2000)  # the writer thread has committed it
    store = Store(tmp_path / "history.db")
    [s] = store.list_conversations()
    assert s.title == "first question"
    user, reply = store.load(s.id).path()
    assert reply.text == TEXT and reply.record.finish == "eos"
    rec = reply.record
    assert len(rec.tokens) == rec.generated_tokens > 5 and rec.seed is not None and rec.model == "fake"
    assert "".join(t.text for t in rec.tokens) == TEXT
    saved = json.loads(store.db.execute("SELECT record FROM messages WHERE id=?", (reply.meta["db_id"],)).fetchone()[0])
    assert "params" in saved["tokens"][0] and "params" not in saved["tokens"][1]  # a timeline, not a copy per token


def test_reopening_restores_branches_system_prompt_and_parameters(make_window, qtbot):
    win = make_window()
    win.conv.system_prompt = "be terse"
    win.sampling.set_value("top_k", 13)
    first = _ask(qtbot, win)
    with qtbot.waitSignal(win.replyFinished, timeout=10000):
        qtbot.mouseClick(win.chat.widgets[first.id].action, Qt.MouseButton.LeftButton)  # "Regenerate"
    win.close()
    again = make_window()
    assert [m.text for m in again.conv.path()] == ["hi", TEXT]
    assert again.conv.versions(again.conv.last()) == (2, 2)
    assert again.conv.system_prompt == "be terse"
    assert again.sampling.params().top_k == 13
    qtbot.mouseClick(again.chat.widgets[again.conv.last().id].prev, Qt.MouseButton.LeftButton)
    third = make_window()
    assert third.conv.versions(third.conv.last()) == (1, 2)


def test_a_failing_disk_shows_an_error_and_keeps_the_conversation(make_window, qtbot, monkeypatch):
    win = make_window()

    def full(*a, **k):
        raise StoreError("saving the history failed: database or disk is full")

    monkeypatch.setattr(win.store, "add_message", full)
    monkeypatch.setattr(win.store, "update_message", full)
    reply = _ask(qtbot, win)
    assert reply.text == TEXT and win.conv.last() is reply  # still on screen
    assert win.warnings and "disk is full" in win.warnings[0]
    assert "History not saved" in win.statusBar().currentMessage()


def test_delete_with_undo_and_search(make_window, qtbot):
    win = make_window()
    _ask(qtbot, win, "about cats")
    win.new_chat()
    _ask(qtbot, win, "about dogs")
    assert len(win.history.ids()) == 2
    win.history.search.setText("cats")
    assert len(win.history.ids()) == 1
    win.history.search.setText("")
    cid = win.conv.meta["db_id"]
    win.history_ctl.delete(cid)
    assert cid not in win.history.ids() and not win.undo_button.isHidden()
    qtbot.mouseClick(win.undo_button, Qt.MouseButton.LeftButton)
    assert cid in win.history.ids()


def test_export_and_import(make_window, qtbot, tmp_path):
    win = make_window()
    _ask(qtbot, win, "exported question")
    cid = win.conv.meta["db_id"]
    win.history_ctl.export(cid, str(tmp_path / "c.json"), "json")
    win.history_ctl.export(cid, str(tmp_path / "c.md"), "md")
    assert json.loads((tmp_path / "c.json").read_text())["title"] == "exported question"
    assert "exported question" in (tmp_path / "c.md").read_text()
    new = win.history_ctl.import_file(str(tmp_path / "c.json"))
    assert new != cid and [m.text for m in win.conv.path()] == ["exported question", TEXT]
    win.history_ctl.export(cid, str(tmp_path / "missing" / "x.md"), "md")
    assert any("cannot write" in w for w in win.warnings)
    assert not (tmp_path / "missing").exists()


def test_undo_button_hides_after_undo(make_window, qtbot):
    win = make_window()
    _ask(qtbot, win)
    win.history_ctl.delete(win.conv.meta["db_id"])
    qtbot.mouseClick(win.undo_button, Qt.MouseButton.LeftButton)
    assert win.undo_button.isHidden()


def test_replay_reproduces_a_saved_reply(make_window, qtbot):
    win = make_window()
    win.sampling.set_value("temperature", 0.9)
    reply = _ask(qtbot, win)
    assert win.chat.widgets[reply.id].replay.isVisibleTo(win.chat.widgets[reply.id])
    with qtbot.waitSignal(win.replayDone, timeout=10000) as b:
        qtbot.mouseClick(win.chat.widgets[reply.id].replay, Qt.MouseButton.LeftButton)
    msg, res = b.args
    assert msg is reply and res.possible and res.identical
    assert "identical" in win.statusBar().currentMessage()
