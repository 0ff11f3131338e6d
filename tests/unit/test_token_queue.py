"""The queue that hands tokens from the engine's thread to the GUI's in batches (engine/token_queue.py)."""

from __future__ import annotations

import threading

from playground.engine.token_queue import TokenQueue


def test_one_signal_in_flight_until_the_reader_finds_the_queue_empty():
    q: TokenQueue[int] = TokenQueue()
    assert q.put(0) is True  # nothing in flight: signal
    assert [q.put(i) for i in (1, 2)] == [False, False]  # the signal sent covers them
    assert q.take() == [0, 1, 2]
    assert q.put(3) is False  # the reader is still taking (it has not found the queue empty)
    assert q.take() == [3]
    assert q.take() == []  # caught up: the next put signals again
    assert q.put(4) is True
    assert q.take() == [4]


def test_tokens_put_from_another_thread_arrive_complete_and_in_order():
    q: TokenQueue[int] = TokenQueue()
    n, got, signals = 20_000, [], []
    producer = threading.Thread(target=lambda: [signals.append(i) for i in range(n) if q.put(i)])
    producer.start()
    while producer.is_alive() or got[-1:] != [n - 1]:
        got.extend(q.take())
    producer.join()
    assert got == list(range(n))
    assert 1 <= len(signals) < n
