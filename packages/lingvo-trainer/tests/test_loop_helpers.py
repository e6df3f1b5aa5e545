"""Unit tests of the training loop's helpers: batch prefetching and async worker start-up."""

import threading

import pytest

from lingvo.trainer import distributed, prefetch


def test_prefetcher_keeps_the_order_and_runs_ahead():
    made = []
    lock = threading.Lock()

    def NextBatch():
        with lock:
            made.append(len(made))
            return made[-1]

    prefetcher = prefetch.BatchPrefetcher(NextBatch, depth=2)
    try:
        assert [prefetcher.Next() for _ in range(5)] == [0, 1, 2, 3, 4]
    finally:
        prefetcher.Close()
    # It ran ahead by at most depth + 1 batches (queued ones and one being made).
    assert 5 <= len(made) <= 8


def test_prefetcher_raises_the_input_error_in_the_consumer():
    calls = [0]

    def NextBatch():
        calls[0] += 1
        if calls[0] == 3:
            raise ValueError("bad record in shard 7")
        return calls[0]

    prefetcher = prefetch.BatchPrefetcher(NextBatch, depth=1)
    try:
        assert prefetcher.Next() == 1 and prefetcher.Next() == 2
        with pytest.raises(ValueError, match="bad record in shard 7"):
            prefetcher.Next()
    finally:
        prefetcher.Close()
    with pytest.raises(ValueError, match="depth must be at least 1, got 0"):
        prefetch.BatchPrefetcher(lambda: 0, depth=0)


def test_started_workers_follow_start_up_delay_steps():
    # Worker i starts at global step i(i+1)/2 * 200: 0, 200, 600, 1200.
    started = {s: distributed.StartedWorkers(s, 4, 200) for s in (0, 199, 200, 599, 600, 1200)}
    assert started == {0: 1, 199: 1, 200: 2, 599: 2, 600: 3, 1200: 4}
    assert distributed.StartedWorkers(0, 4, 0) == 4
    assert distributed.StartedWorkers(10**6, 1, 200) == 1
