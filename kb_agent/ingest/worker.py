"""Parsing isolated in worker processes, with a timeout per file.

``parse_and_chunk`` (the pure part) checks the content, runs the parser for the suffix and
chunks the sections, and says how its time split into parse, OCR and ASR. ``ParsePool`` runs
it in ``workers`` spawned processes; a file that takes longer than ``timeout_s`` — OCR and
ASR time not counted: the worker reports it as it goes (they have their own limits) — gets
its worker killed (and replaced) and a "timed out" line; a worker that dies (segfault, out
of memory) gives a "parser crashed" line; a worker whose OCR engine is stuck on a page that
timed out is replaced after its file. Nothing a file does can stop the run.

Messages from a worker: ``("start", key, 0)`` (the file's clock starts: a new worker's
spawn and imports do not count), ``("credit", key, seconds)`` (OCR/ASR time to leave out
of the file's timeout; negative to correct a reservation), ``("done", key, ParseResult)``.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Iterable, Iterator

from kb_agent.errors import ParseError
from kb_agent.ingest import stages
from kb_agent.ingest.chunking import Piece, chunk_sections
from kb_agent.ingest.model import ParseOptions

log = logging.getLogger(__name__)
#: Time a worker may take to start (spawn, imports) before its first file's clock starts.
STARTUP_S = 60.0


@dataclass
class ParseResult:
    ok: bool
    title: str = ""
    pieces: list[Piece] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reason: str | None = None
    seconds: float = 0.0
    #: parse / ocr / asr seconds (kb_agent/ingest/stages.py); "parse" is the rest of ``seconds``.
    stages: dict[str, float] = field(default_factory=dict)
    #: The worker cannot parse another file (its OCR engine is stuck): replace it.
    retire: bool = False


def parse_and_chunk(path: Path, options: ParseOptions) -> ParseResult:
    import sys

    stages.take()
    t0 = time.perf_counter()
    result = _parse_and_chunk(path, options)
    result.seconds = time.perf_counter() - t0
    inner = stages.take()
    result.stages = {"parse": max(0.0, result.seconds - sum(inner.values())), **inner}
    ocr = sys.modules.get("kb_agent.ingest.ocr")  # imported only once something was OCRed
    result.retire = bool(ocr and ocr.engine_stuck())
    return result


def _parse_and_chunk(path: Path, options: ParseOptions) -> ParseResult:
    from kb_agent.ingest.parsers import parser_for
    from kb_agent.ingest.sniff import check_content

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
        return ParseResult(True, doc.title, pieces, notes)
    except ParseError as exc:
        return ParseResult(False, reason=exc.reason)
    except MemoryError:
        return ParseResult(False, reason="out of memory while parsing")
    except PermissionError:
        return ParseResult(False, reason="permission denied")
    except Exception as exc:  # noqa: BLE001 - a parser bug on one file must not stop the run
        log.debug("parser error on %s", path, exc_info=True)
        return ParseResult(False, reason=f"parser error: {type(exc).__name__}: {exc}"[:300])


def _worker_main(conn: Connection) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    # Imports every file needs, before the first file's clock starts (PyMuPDF alone can take
    # seconds on a busy machine).
    import pymupdf  # noqa: F401

    import kb_agent.ingest.parsers  # noqa: F401
    import kb_agent.ingest.sniff  # noqa: F401
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        key, path, options = msg
        conn.send(("start", key, 0.0))  # the file's clock starts now, not when a new worker was spawned
        stages.set_listener(lambda stage, seconds, key=key: conn.send(("credit", key, seconds)))
        try:
            result = parse_and_chunk(Path(path), options)
        finally:
            stages.set_listener(None)
        conn.send(("done", key, result))


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

    def run(self, tasks: Iterable[tuple[object, Path, ParseOptions]],
            stop: threading.Event | None = None) -> Iterator[tuple[object, ParseResult]]:
        """Yield (key, result) for every task, in completion order; return early once ``stop``
        is set (files still being parsed are abandoned: ``close()`` kills their workers)."""
        pending = list(tasks)
        pending.reverse()
        busy: dict[Connection, _Worker] = {}
        started: dict[object, float] = {}
        while (pending or busy) and not (stop and stop.is_set()):
            while pending and len(busy) < self.n:
                key, path, options = pending.pop()
                w = self._idle_worker(busy)
                try:
                    w.conn.send((key, str(path), options))
                except (OSError, ValueError):
                    self._replace(w)
                    pending.append((key, path, options))
                    continue
                # Until the worker says it started the file (a new worker imports first).
                w.key, w.deadline = key, time.monotonic() + self.timeout_s + STARTUP_S
                started[key] = time.monotonic()
                busy[w.conn] = w
            ready = wait(list(busy), timeout=min(1.0, max(0.01, min(w.deadline for w in busy.values())
                                                          - time.monotonic())))
            for conn in ready:
                w = busy[conn]
                try:
                    kind, key, payload = conn.recv()
                except (EOFError, OSError, ValueError):
                    del busy[conn]
                    w.proc.join(1)
                    code = w.proc.exitcode
                    self._replace(w)
                    yield w.key, ParseResult(False, reason=f"parser crashed (worker exit code {code})",
                                             seconds=time.monotonic() - started[w.key])
                    continue
                if kind == "start":
                    w.deadline = time.monotonic() + self.timeout_s
                    continue
                if kind == "credit":  # OCR/ASR time: not the parser's
                    w.deadline += payload
                    continue
                del busy[conn]
                if payload.retire:
                    self._replace(w)
                yield key, payload
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
