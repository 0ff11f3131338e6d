"""The history store under faults: crashes, corrupt rows, full disks, old schemas, concurrency."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from playground.conversation import Conversation
from playground.storage import (
    BatchedWriter,
    Store,
    StoreError,
    conversation_from_dict,
    conversation_to_markdown,
    write_atomically,
)
from playground.storage.migrations import m001_initial

ROOT = Path(__file__).resolve().parents[2]


def _chat(store: Store, *turns: str) -> Conversation:
    conv = Conversation(system_prompt="sys")
    for i, t in enumerate(turns):
        m = conv.add("user" if i % 2 == 0 else "assistant", t)
        store.add_message(conv, m)
    return conv


def test_round_trip_keeps_tree_branches_and_settings(tmp_path):
    store = Store(tmp_path / "h.db")
    conv = _chat(store, "q1", "a1")
    first = conv.last()
    second = conv.regenerate(first)
    second.text = "a1 again"
    second.meta.update(tokens=3, seed=7, params_timeline=[{"temperature": 0.2}])
    store.add_message(conv, second)
    conv.meta["params"] = {"temperature": 0.2}
    store.update_conversation(conv)
    back = Store(tmp_path / "h.db").load(conv.meta["db_id"])
    assert [m.text for m in back.path()] == ["q1", "a1 again"]
    assert back.versions(back.last()) == (2, 2)
    assert back.last().meta["seed"] == 7 and back.system_prompt == "sys"
    assert back.meta["params"] == {"temperature": 0.2}
    back.switch(back.last(), 0)
    assert back.last().text == "a1"


def test_killed_mid_reply_loses_at_most_the_last_batch(tmp_path):
    db = tmp_path / "h.db"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-m", "tests.storage.crash_child", str(db)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "user-committed"
        flushed = [int(child.stdout.readline().split()[1]) for _ in range(3)]  # three batches committed
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
    store = Store(db)
    [summary] = store.list_conversations()
    conv = store.load(summary.id)
    user, reply = conv.path()
    assert user.text == "tell me about foxes"
    assert len(reply.text) >= flushed[-1]  # everything committed is there
    assert reply.text.startswith("the quick brown fox")
    assert "the quick brown fox jumps over the lazy dog " * 2 in reply.text


def test_corrupt_rows_are_quarantined_and_the_rest_loads(tmp_path):
    store = Store(tmp_path / "h.db")
    conv = _chat(store, "q1", "a1", "q2", "a2")
    ids = [m.meta["db_id"] for m in conv.path()]
    store.db.execute("UPDATE messages SET meta='{not json' WHERE id=?", (ids[3],))
    other = _chat(store, "hello", "hi")
    store.db.execute("UPDATE messages SET role='alien' WHERE id=?", (other.path()[1].meta["db_id"],))
    fresh = Store(tmp_path / "h.db")
    loaded = fresh.load(conv.meta["db_id"])
    assert [m.text for m in loaded.path()] == ["q1", "a1", "q2"]
    assert [m.text for m in fresh.load(other.meta["db_id"]).path()] == ["hello"]
    assert len(fresh.problems) == 2 and "unreadable meta" in fresh.problems[0]
    rows = fresh.db.execute("SELECT reason, row_json FROM quarantine").fetchall()
    assert {r[0].split(":")[0] for r in rows} == {"unreadable meta", "unknown role 'alien'"}
    assert json.loads(rows[0][1])["text"] in ("a2", "hi")


def test_a_failing_write_reports_and_damages_nothing(tmp_path, monkeypatch):
    store = Store(tmp_path / "h.db")
    conv = _chat(store, "kept question", "kept answer")
    reply = conv.add("assistant", "new text that cannot be saved", parent=conv.path()[0])
    real = store.db

    class FullDisk:
        def __getattr__(self, name):
            return getattr(real, name)

        def execute(self, sql, *args):
            if sql.startswith(("INSERT", "UPDATE")):
                raise sqlite3.OperationalError("database or disk is full")
            return real.execute(sql, *args)

    monkeypatch.setattr(store, "db", FullDisk())
    with pytest.raises(StoreError, match="disk is full"):
        store.add_message(conv, reply)
    monkeypatch.undo()
    assert reply.text == "new text that cannot be saved"  # still on screen
    again = Store(tmp_path / "h.db").load(conv.meta["db_id"])
    assert [m.text for m in again.path()] == ["kept question", "kept answer"]


def test_a_first_version_database_migrates_with_its_data(tmp_path):
    path = tmp_path / "old.db"
    old = Store(path, migrations=[m001_initial])
    old.db.execute("INSERT INTO conversations (title, system_prompt, created, updated) VALUES ('old', '', 1, 1)")
    old.db.execute("INSERT INTO messages (conversation_id, role, text, created) VALUES (1, 'user', 'hi from v1', 1)")
    old.close()
    new = Store(path)
    names = [r[0] for r in new.db.execute("SELECT name FROM migrations ORDER BY name")]
    assert names == ["m001_initial", "m002_branches_and_settings", "m003_reply_records"]
    assert new.load(1).path()[0].text == "hi from v1"


def test_two_instances_on_one_database_lose_nothing(tmp_path):
    path = tmp_path / "h.db"
    a, b = Store(path), Store(path)
    errors = []

    def write(store, tag):
        try:
            conv = Conversation()
            for i in range(40):
                store.add_message(conv, conv.add("user", f"{tag}{i}"))
        except Exception as e:  # noqa: BLE001 - the test reports any failure
            errors.append(e)

    threads = [threading.Thread(target=write, args=(s, t)) for s, t in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert Store(path).db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 80


def test_deleting_while_a_reply_streams_is_safe_and_undoable(tmp_path):
    store = Store(tmp_path / "h.db")
    conv = _chat(store, "q")
    reply = conv.add("assistant", "")
    store.add_message(conv, reply)
    writer = BatchedWriter(store, interval_s=0)
    cid = conv.meta["db_id"]
    reply.text = "part one"
    writer.touch(conv, reply)
    writer.flush()
    store.delete(cid)
    assert store.list_conversations() == []
    reply.text = "part one, part two"
    writer.touch(conv, reply)
    writer.flush()  # keeps writing into the deleted conversation, harmlessly
    store.undelete(cid)
    assert store.load(cid).last().text == "part one, part two"
    writer.close()


def test_list_search_rename_pin(tmp_path):
    store = Store(tmp_path / "h.db")
    a = _chat(store, "about cats", "cats purr")
    b = _chat(store, "about dogs", "dogs bark")
    assert [s.id for s in store.list_conversations()] == [b.meta["db_id"], a.meta["db_id"]]
    store.pin(a.meta["db_id"])
    assert store.list_conversations()[0].id == a.meta["db_id"]
    store.rename(b.meta["db_id"], "Dogs 100%_")
    assert [s.title for s in store.list_conversations("bark")] == ["Dogs 100%_"]
    assert [s.title for s in store.list_conversations("100%_")] == ["Dogs 100%_"]
    assert store.list_conversations("nothing like this") == []


def test_export_and_import_json_and_markdown(tmp_path):
    store = Store(tmp_path / "h.db")
    conv = _chat(store, "q1", "a1")
    data = store.export_json(conv.meta["db_id"])
    assert data["version"] == 2 and data["messages"][0]["children"][0]["text"] == "a1"
    cid = store.import_json(json.loads(json.dumps(data)))
    assert [m.text for m in store.load(cid).path()] == ["q1", "a1"]
    md = conversation_to_markdown(store.load(cid))
    assert "**You:**" in md and "a1" in md
    with pytest.raises(StoreError, match="not a Playground"):
        conversation_from_dict({"format": "other"})


def test_export_to_an_unwritable_path_fails_and_leaves_nothing(tmp_path):
    target = tmp_path / "no-such-folder" / "chat.json"
    with pytest.raises(StoreError, match="cannot write"):
        write_atomically(target, "{}")
    assert not target.parent.exists()
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "chat.md").write_text("old")
    real_fsync = os.fsync

    def failing_fsync(fd):
        raise OSError(28, "No space left on device")

    os.fsync = failing_fsync
    try:
        with pytest.raises(StoreError, match="No space"):
            write_atomically(folder / "chat.md", "new content")
    finally:
        os.fsync = real_fsync
    assert (folder / "chat.md").read_text() == "old"
    assert sorted(p.name for p in folder.iterdir()) == ["chat.md"]  # no temporary left behind


def test_export_all_and_import_all(tmp_path):
    a = Store(tmp_path / "a.db")
    _chat(a, "first", "one")
    _chat(a, "second", "two")
    everything = json.loads(json.dumps(a.export_all()))
    assert everything["format"] == "playground-conversations" and len(everything["conversations"]) == 2
    b = Store(tmp_path / "b.db")
    b.import_json(everything)
    assert sorted(s.title for s in b.list_conversations()) == ["first", "second"]
