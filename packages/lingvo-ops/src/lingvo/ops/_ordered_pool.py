"""Runs a chunk function on several threads and hands the results back in read order."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Iterator
from typing import Any

# Stop functions of the running pools. Their threads are daemons, and one left
# inside a C++ op while the interpreter tears down aborts the process, so
# they are stopped and joined at exit, as closing each iterator would.
_RUNNING: set[Callable[[], None]] = set()


@atexit.register
def _stop_running_pools() -> None:
    for stop in list(_RUNNING):
        stop()


class _Slot:
    """One chunk's outcome: the function's result or the error raised reading or processing."""

    __slots__ = ("chunk", "error", "result")

    def __init__(self, chunk: list, result: Any = None, error: BaseException | None = None):
        self.chunk = chunk
        self.result = result
        self.error = error


def ordered_chunk_map(
    next_chunk: Callable[[], list],
    fn: Callable[[list], Any],
    num_threads: int,
    max_ahead: int | None = None,
) -> Iterator[tuple[list, Any]]:
    """Yields ``(chunk, fn(chunk))`` for each chunk of ``next_chunk()``, in the order read.

    ``num_threads`` threads each read a chunk (one at a time, under a lock, so
    chunk ``i`` is the ``i``-th read whatever the timing) and run ``fn`` on it
    concurrently; results wait until every earlier one has been handed out, so
    the output is the same as a single-threaded loop's. It pays off when
    ``fn`` releases the GIL (C++ ops, numpy). Reading stops at the first empty
    chunk. At most ``max_ahead`` chunks (default ``2 * num_threads``) are read
    and not yet handed out. An error raised by ``next_chunk`` or ``fn`` is
    raised here at that chunk's turn. Closing the iterator stops the threads.
    """
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads}")
    ahead = threading.Semaphore(max_ahead or 2 * num_threads)
    read_lock = threading.Lock()
    done = threading.Condition()
    slots: dict[int, _Slot] = {}
    state = {"next": 0, "end": None, "stop": False}

    def read() -> tuple[int, _Slot | None]:
        with read_lock:
            seq = state["next"]
            if state["end"] is not None or state["stop"]:
                return seq, None
            state["next"] += 1
            try:
                chunk = next_chunk()
            except BaseException as e:  # Handed to the consumer, raised at its turn.
                chunk, error = [], e
            else:
                error = None
            if error is not None or not chunk:
                with done:
                    state["end"] = seq + 1 if error is not None else seq
                    if error is not None:
                        slots[seq] = _Slot([], error=error)
                    done.notify_all()
                return seq, None
            return seq, _Slot(chunk)

    def work() -> None:
        while True:
            ahead.acquire()
            seq, slot = read()
            if slot is None:
                ahead.release()
                return
            try:
                slot.result = fn(slot.chunk)
            except BaseException as e:  # Handed to the consumer, raised at its turn.
                slot.error = e
            with done:
                slots[seq] = slot
                done.notify_all()

    threads = [
        threading.Thread(target=work, name=f"lingvo-ops-processor-{i}", daemon=True)
        for i in range(num_threads)
    ]

    def stop() -> None:
        state["stop"] = True
        for _ in threads:
            ahead.release()  # Wakes threads waiting for room, which then see stop.
        for t in threads:
            t.join()
        _RUNNING.discard(stop)

    _RUNNING.add(stop)
    for t in threads:
        t.start()
    try:
        seq = 0
        while True:
            with done:
                while seq not in slots and (state["end"] is None or seq < state["end"]):
                    done.wait()
                slot = slots.pop(seq, None)
            if slot is None:
                return
            ahead.release()
            if slot.error is not None:
                raise slot.error
            yield slot.chunk, slot.result
            seq += 1
    finally:
        stop()
