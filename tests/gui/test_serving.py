"""Serve and be served in the window, on the app's qasync loop (asyncio on Qt's event loop):
the API server toggle serving the window's model (its requests land in the history marked as API
requests), and a remote model (llama.cpp's server in its own process) streaming into the chat pane
while a GUI timer probe measures how long the event loop is ever blocked."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import sys
import time

import openai
import pytest
from PySide6.QtCore import QAbstractEventDispatcher, QSettings, Qt, QTimer

from playground.app import build_window, make_loop
from playground.engine.worker import Engine
from playground.sampling_params import SamplingParams
from playground.ui.model_picker import ModelPicker
from tests.helpers import fake_loaded_model

TEXT = "hello world, this is a tiny corpus"


@pytest.fixture
def loop(qapp):
    """The app's loop: asyncio on Qt's (tests run their bodies with loop.run_until_complete)."""
    hooks = sys.get_asyncgen_hooks()
    loop = make_loop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    asyncio.set_event_loop(None)
    loop.close()
    sys.set_asyncgen_hooks(*hooks)


def test_a_closed_loop_leaves_no_qt_timers(qapp):
    """Callbacks still scheduled when the loop closes (a keep-alive, a `wait_for` timeout) release
    their Qt timers: qasync alone leaves them registered, and one firing after the loop is freed
    crashes Qt."""
    loop = make_loop(qapp)
    loop.call_later(60, lambda: None)
    loop.call_later(30, lambda: None).cancel()
    timers = loop._timer
    assert len(QAbstractEventDispatcher.instance().registeredTimers(timers)) == 2
    loop.close()
    assert QAbstractEventDispatcher.instance().registeredTimers(timers) == []


@pytest.fixture
def window(qtbot, tmp_path):
    engine = Engine()
    win = build_window(engine, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    yield win
    engine.shutdown()


def signal_future(signal):
    """A future resolved by the next emission of a Qt signal (its arguments)."""
    fut = asyncio.get_event_loop().create_future()

    def done(*args):
        if not fut.done():
            fut.set_result(args)
        signal.disconnect(done)

    signal.connect(done)
    return fut


def test_the_api_server_toggle_serves_the_window_model(window, qtbot, loop):
    with qtbot.waitSignal(window.engine.worker.modelLoaded, timeout=5000):
        window.engine.worker.set_model(fake_loaded_model(TEXT))

    async def body():
        panel = window.server_ctl.open_panel()
        assert panel.host.text() == "127.0.0.1"  # safe by default
        with socket.socket() as taken:  # a port another program listens on: the panel says why, nothing runs
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            panel.port.setValue(taken.getsockname()[1])
            stopped = signal_future(window.server_ctl.stopped)
            qtbot.mouseClick(panel.toggle, Qt.MouseButton.LeftButton)
            (why,) = await asyncio.wait_for(stopped, 10)
        assert f"Cannot listen on 127.0.0.1:{panel.port.value()}" in why and not panel.toggle.isChecked()
        assert why in panel.status.text()
        panel.host.setText("0.0.0.0")  # exposed without a key: refused before listening
        qtbot.mouseClick(panel.toggle, Qt.MouseButton.LeftButton)
        assert "refusing to listen on 0.0.0.0" in panel.status.text() and not window.server_ctl.running

        panel.host.setText("127.0.0.1")
        panel.port.setValue(_free_port())
        started = signal_future(window.server_ctl.started)
        qtbot.mouseClick(panel.toggle, Qt.MouseButton.LeftButton)
        (url,) = await asyncio.wait_for(started, 10)
        assert panel.toggle.isChecked() and url in panel.status.text() and url in window.server_ctl.address.text()
        assert f"curl {url}/chat/completions" in panel.curl.toPlainText()
        assert f'base_url="{url}"' in panel.python.toPlainText()

        # a client on the same loop, while the window stays live
        client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)
        served = signal_future(window.server_ctl.apiReplyFinished)
        stream = await client.chat.completions.create(model="fake", messages=[{"role": "user", "content": "hi there"}],
                                                      temperature=0, stream=True)
        text = "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])
        assert text == TEXT
        (reply,) = await asyncio.wait_for(served, 10)
        assert reply.record.api_request.startswith("chatcmpl-") and reply.text == TEXT
        await client.close()

        # it is in the history, marked as an API request, with its record
        titles = [window.history.list.item(i).text() for i in range(window.history.list.count())]
        assert "API · hi there" in titles
        window.session.settle()
        window.server_ctl.server.service.writer.flush()
        cid = next(s.id for s in window.session.history.list() if s.title == "API · hi there")
        stored = window.session.store.load(cid).last()
        assert stored.text == TEXT and stored.record.api_request == reply.record.api_request

        # the window's own chat still works, on the same model
        window.input.setPlainText("and you?")
        finished = signal_future(window.replyFinished)
        qtbot.mouseClick(window.send_button, Qt.MouseButton.LeftButton)
        (mine,) = await asyncio.wait_for(finished, 10)
        assert mine.text == TEXT and not mine.record.api_request

        stopped = signal_future(window.server_ctl.stopped)
        qtbot.mouseClick(panel.toggle, Qt.MouseButton.LeftButton)
        await asyncio.wait_for(stopped, 10)
        assert not window.server_ctl.running and "Not serving" in panel.status.text()

    loop.run_until_complete(body())


async def _until(cond) -> None:
    while not cond():
        await asyncio.sleep(0.01)


def _free_port() -> int:
    from tests.llama_server import free_port

    return free_port()


def test_the_model_picker_offers_a_remote_endpoint(qtbot):
    picker = ModelPicker(None, remote=True)
    qtbot.addWidget(picker)
    plain = ModelPicker(None)
    qtbot.addWidget(plain)
    # the pickers' discovery threads report back before the test ends (never to a deleted dialog)
    qtbot.waitUntil(lambda: hasattr(picker, "rows") and hasattr(plain, "rows"), timeout=30000)
    qtbot.mouseClick(picker.remote_button, Qt.MouseButton.LeftButton)
    assert picker.remote_chosen and picker.chosen is None
    assert not hasattr(plain, "remote_button")


@pytest.mark.e2e
def test_a_remote_model_streams_into_the_chat_without_blocking_the_gui(window, qtbot, loop, llama_server):
    gaps: list[float] = []

    async def body():
        dlg = window.remote_ctl.open_dialog()
        dlg.url.setText("http://127.0.0.1:1/v1")  # nothing there: the dialog says so
        fetched = signal_future(dlg.modelsFetched)
        qtbot.mouseClick(dlg.fetch_button, Qt.MouseButton.LeftButton)
        assert await asyncio.wait_for(fetched, 10) == ([],)
        assert "cannot connect" in dlg.status.text() and not dlg.use_button.isEnabled()
        dlg.url.setText(llama_server.url.removesuffix("/v1"))
        fetched = signal_future(dlg.modelsFetched)
        qtbot.mouseClick(dlg.fetch_button, Qt.MouseButton.LeftButton)
        assert await asyncio.wait_for(fetched, 10) == (["smollm2"],)
        ready = signal_future(window.remote_ctl.remoteReady)
        qtbot.mouseClick(dlg.use_button, Qt.MouseButton.LeftButton)
        (info,) = await asyncio.wait_for(ready, 5)
        assert window.model is info and "remote" in window.model_button.text()
        assert window.remote_ctl.note.isVisible()  # the panel says parameters apply per request

        window.sampling.set_params(SamplingParams(temperature=0.0, max_tokens=48))
        # the probe: a 1 ms timer on the GUI thread while the reply streams; any gap between its ticks is
    # time the loop was blocked (by the stream's parsing, the session, the chat pane's repaints)
        probe, last = QTimer(), [time.perf_counter()]

        def tick():
            now = time.perf_counter()
            gaps.append((now - last[0]) * 1000)
            last[0] = now

        probe.setTimerType(Qt.TimerType.PreciseTimer)
        probe.setInterval(1)
        probe.timeout.connect(tick)
        window.input.setPlainText("Name the capital of France.")
        finished = signal_future(window.replyFinished)
        qtbot.mouseClick(window.send_button, Qt.MouseButton.LeftButton)  # the request is sent; it streams from here
        last[0] = time.perf_counter()
        probe.start()
        window.sampling.set_value("top_k", 7)  # a change while it writes: applies from the next reply
        assert "next reply" in window.statusBar().currentMessage()
        (reply,) = await asyncio.wait_for(finished, 60)
        probe.stop()
        assert "Paris" in reply.text and reply.record.finish == "eos"
        assert reply.record.tokens[0].params.top_k == 40  # sent before the change
        assert len(reply.record.tokens) > 3 and reply.record.backend.startswith("remote · 127.0.0.1")
        assert "Paris" in window.chat.widgets[reply.id].body.text()  # rendered in the chat pane

        # token probabilities and alternatives from the server's logprobs
        window.inspect_ctl.inspect_token(reply, 0)
        first, vocab, table = reply.record.tokens[0], window.remote_ctl.remote.vocab, window.inside.token.table
        assert vocab.label(first.token_id) in window.inside.token.header.text()
        assert table.rowCount() == 5 and [table.item(r, 0).text() for r in range(5)] == \
            [vocab.label(t) for t, _ in first.top]  # the alternatives by their text, not local ids

        # Stop, as locally: the Stop button ends a long reply after a few tokens
        window.sampling.set_params(SamplingParams(temperature=0.0, max_tokens=400))
        window.input.setPlainText("Write a long story about a dragon who learns to cook.")
        finished = signal_future(window.replyFinished)
        qtbot.mouseClick(window.send_button, Qt.MouseButton.LeftButton)
        long = window.session.pending[0]
        await asyncio.wait_for(_until(lambda: len(long.record.tokens) >= 3 or long.record.finish), 30)
        assert not long.record.finish, long.record.error
        assert window.stop_button.isEnabled()
        qtbot.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)
        await asyncio.wait_for(finished, 10)
        assert long.record.finish == "cancelled" and len(long.record.tokens) < 20 and not window.session.generating
        # the insides cannot be computed for a remote model, and the views say why
        qtbot.mouseClick(window.inside.attention.compute, Qt.MouseButton.LeftButton)
        assert "remote server" in window.statusBar().currentMessage()
        assert "remote server" in window.inside.attention.hover.text()
        assert "remote server" in window.inside.lens.caption.text()
        await window.remote_ctl.remote.aclose()

    loop.run_until_complete(body())
    p99 = statistics.quantiles(gaps, n=100)[98]
    assert len(gaps) > 50 and p99 < 16.0, \
        f"GUI timer gaps while streaming: p99 {p99:.1f} ms, max {max(gaps):.1f} ms, the 10 longest " \
        f"{[round(g, 1) for g in sorted(gaps)[-10:]]} (load average {os.getloadavg()})"
