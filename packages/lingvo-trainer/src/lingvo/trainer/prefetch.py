"""Draws the next training batches on a background thread while the current step runs."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["BatchPrefetcher"]


class BatchPrefetcher:
    """Keeps up to `depth` batches ready, made by `next_batch` on a thread of their own.

    Host-side input work (numpy batching, standardization, the copy into tensors) then
    overlaps the training step, which leaves a core free most of the time. Batches come out
    in the order `next_batch` made them, so training sees exactly the batches it would see
    without prefetching. An error raised by `next_batch` is raised again by `Next()`.

    Args:
      next_batch: Returns the next batch; only the prefetch thread calls it.
      depth: How many batches to hold ready (at least 1).
    """

    def __init__(self, next_batch: Callable[[], Any], depth: int = 2) -> None:
        if depth < 1:
            raise ValueError(f"BatchPrefetcher: depth must be at least 1, got {depth}")
        self._next_batch = next_batch
        self._queue: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(depth)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._Fill, name="batch_prefetch", daemon=True)
        self._thread.start()

    def _Fill(self) -> None:
        while not self._closed.is_set():
            try:
                item = (self._next_batch(), None)
            except BaseException as e:  # handed to the consumer, which raises it
                item = (None, e)
            while not self._closed.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item[1] is not None:
                return

    def Next(self) -> Any:
        """Returns the next batch, waiting for it if needed."""
        while True:
            try:
                batch, error = self._queue.get(timeout=1.0)
                break
            except queue.Empty:
                if not self._thread.is_alive():
                    raise RuntimeError("BatchPrefetcher: the prefetch thread has stopped") from None
        if error is not None:
            raise error
        return batch

    def Close(self) -> None:
        """Stops the thread; batches made ahead are dropped.

        A `next_batch` that blocks (an input waiting on files) is not waited for beyond a
        few seconds: the thread is a daemon and ends with the process.
        """
        self._closed.set()
        self._thread.join(timeout=5.0)
