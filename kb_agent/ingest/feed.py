"""Parsing ahead of embedding. A thread drives the parse pool and hands its results to the
main thread through a bounded queue: the worker processes parse (and OCR) the next files
while the main thread embeds and commits the last ones, instead of the two taking turns.

The bound (``depth`` parsed files waiting) caps the memory held by parsed-but-unembedded
files: when the queue is full the thread stops handing files to the workers until the main
thread catches up (so parsers never compete for the CPU with an embedder that is already
the slower stage, beyond the files they hold).
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Iterator, Sequence

from kb_agent.ingest.worker import ParsePool, ParseResult

Job = tuple  # (key, path, ParseOptions), as ParsePool.run takes them


class ParseFeed:
    def __init__(self, pool: ParsePool, jobs: Sequence[Job], depth: int = 4) -> None:
        self._pool = pool
        self._jobs = list(jobs)
        self._q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, daemon=True, name="kb-agent-parse-feed")
        self._held: tuple | None = None  # a message taken while filling a batch, for the next one
        #: Seconds the main thread waited for a parsed file (the embedder was idle).
        self.waited_s = 0.0

    def __enter__(self) -> "ParseFeed":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop handing out files and end the thread (the pool's close() ends its workers)."""
        self._stop.set()
        self._thread.join(10)

    def ready(self) -> int:
        """Parsed files waiting for the main thread (at most ``depth``, plus one held back)."""
        return self._q.qsize() + (self._held is not None)

    def _produce(self) -> None:
        try:
            for item in self._pool.run(self._jobs, stop=self._stop):
                if not self._put(("item", item)):
                    return
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            self._put(("error", exc))
            return
        self._put(("end", None))

    def _put(self, msg: tuple) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(msg, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _next(self, block: bool) -> tuple | None:
        if self._held is not None:
            msg, self._held = self._held, None
            return msg
        if not block:
            try:
                return self._q.get_nowait()
            except queue.Empty:
                return None
        t0 = time.perf_counter()
        msg = self._q.get()
        self.waited_s += time.perf_counter() - t0
        return msg

    def batches(self, max_chunks: int) -> Iterator[list[tuple[object, ParseResult]]]:
        """Parsed files in groups, in completion order: waits for one file, then adds the files
        already parsed while the group holds fewer than ``max_chunks`` chunks."""
        while True:
            msg = self._next(block=True)
            if msg[0] == "error":
                raise msg[1]
            if msg[0] == "end":
                return
            group = [msg[1]]
            size = len(msg[1][1].pieces)
            while size < max_chunks:
                more = self._next(block=False)
                if more is None:
                    break
                if more[0] != "item":
                    self._held = more
                    break
                group.append(more[1])
                size += len(more[1][1].pieces)
            yield group
