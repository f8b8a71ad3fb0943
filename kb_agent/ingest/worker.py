"""Parsing isolated in worker processes, with a timeout per file.

``parse_and_chunk`` (the pure part) checks the content, runs the parser for the suffix and
chunks the sections. ``ParsePool`` runs it in ``workers`` spawned processes; a file that
takes longer than ``timeout_s`` gets its worker killed (and replaced) and a "timed out" line;
a worker that dies (segfault, out of memory) gives a "parser crashed" line. Nothing a file
does can stop the run.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Iterable, Iterator

from kb_agent.errors import ParseError
from kb_agent.ingest.chunking import Piece, chunk_sections
from kb_agent.ingest.model import ParseOptions

log = logging.getLogger(__name__)


@dataclass
class ParseResult:
    ok: bool
    title: str = ""
    pieces: list[Piece] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reason: str | None = None
    seconds: float = 0.0


def parse_and_chunk(path: Path, options: ParseOptions) -> ParseResult:
    from kb_agent.ingest.parsers import parser_for
    from kb_agent.ingest.sniff import check_content

    t0 = time.perf_counter()
    suffix = path.suffix.lower()
    parser = parser_for(suffix)
    try:
        if parser is None:
            raise ParseError(str(path), f"no parser for {suffix}")
        check_content(path, suffix, options)
        doc = parser.parse(path, options)
        pieces = chunk_sections(doc.sections, options.chunk_tokens, options.chunk_overlap_tokens)
        if not pieces:
            raise ParseError(str(path), "no text extracted")
        notes = list(doc.notes)
        if len(pieces) > options.max_chunks:  # bounds the file's embedding time
            notes.append(f"only the first {options.max_chunks} chunks are indexed (ingest.max_chunks_per_file); "
                         f"{len(pieces) - options.max_chunks} more not searchable")
            pieces = pieces[:options.max_chunks]
        return ParseResult(True, doc.title, pieces, notes, seconds=time.perf_counter() - t0)
    except ParseError as exc:
        return ParseResult(False, reason=exc.reason, seconds=time.perf_counter() - t0)
    except MemoryError:
        return ParseResult(False, reason="out of memory while parsing", seconds=time.perf_counter() - t0)
    except PermissionError:
        return ParseResult(False, reason="permission denied", seconds=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - a parser bug on one file must not stop the run
        log.debug("parser error on %s", path, exc_info=True)
        return ParseResult(False, reason=f"parser error: {type(exc).__name__}: {exc}"[:300],
                           seconds=time.perf_counter() - t0)


def _worker_main(conn: Connection) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        key, path, options = msg
        conn.send((key, parse_and_chunk(Path(path), options)))


class _Worker:
    def __init__(self, ctx) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child,), daemon=True, name="kb-agent-parser")
        self.proc.start()
        child.close()
        self.key = None
        self.deadline = 0.0

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class ParsePool:
    def __init__(self, workers: int = 2, timeout_s: float = 180.0) -> None:
        self.n = max(1, workers)
        self.timeout_s = timeout_s
        self._ctx = mp.get_context("spawn")
        self._workers: list[_Worker] = []

    def __enter__(self) -> "ParsePool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for w in self._workers:
            try:
                w.conn.send(None)
            except (OSError, ValueError):
                pass
        for w in self._workers:
            w.proc.join(2)
            w.kill()
        self._workers = []

    def run(self, tasks: Iterable[tuple[object, Path, ParseOptions]]) -> Iterator[tuple[object, ParseResult]]:
        """Yield (key, result) for every task, in completion order."""
        pending = list(tasks)
        pending.reverse()
        busy: dict[Connection, _Worker] = {}
        started: dict[object, float] = {}
        while pending or busy:
            while pending and len(busy) < self.n:
                key, path, options = pending.pop()
                w = self._idle_worker(busy)
                try:
                    w.conn.send((key, str(path), options))
                except (OSError, ValueError):
                    self._replace(w)
                    pending.append((key, path, options))
                    continue
                w.key, w.deadline = key, time.monotonic() + self.timeout_s
                started[key] = time.monotonic()
                busy[w.conn] = w
            ready = wait(list(busy), timeout=min(1.0, max(0.01, min(w.deadline for w in busy.values())
                                                          - time.monotonic())))
            for conn in ready:
                w = busy.pop(conn)
                try:
                    key, result = conn.recv()
                except (EOFError, OSError, ValueError):
                    w.proc.join(1)
                    code = w.proc.exitcode
                    self._replace(w)
                    yield w.key, ParseResult(False, reason=f"parser crashed (worker exit code {code})",
                                             seconds=time.monotonic() - started[w.key])
                    continue
                yield key, result
            now = time.monotonic()
            for conn, w in list(busy.items()):
                if now > w.deadline and not conn.poll():
                    del busy[conn]
                    self._replace(w)
                    yield w.key, ParseResult(False, reason=f"timed out after {self.timeout_s:g} s",
                                             seconds=now - started[w.key])

    def _idle_worker(self, busy: dict) -> _Worker:
        for w in list(self._workers):
            if w.conn in busy:
                continue
            if w.proc.is_alive():
                return w
            self._replace(w)
        w = _Worker(self._ctx)
        self._workers.append(w)
        return w

    def _replace(self, w: _Worker) -> None:
        w.kill()
        if w in self._workers:
            self._workers.remove(w)
