"""The ingestion run: discover -> skip what is unchanged -> parse and chunk in worker
processes -> embed (cached by text hash) -> hooks -> one store transaction per file ->
remove deleted files -> backfill missing vectors. Every file ends in exactly one report line.

The stages overlap: the workers parse (and OCR) the next files while the main thread embeds
and commits the ones already parsed (kb_agent/ingest/feed.py). Files parsed by the time the
embedder is free are embedded together — their texts missing from the vector cache, in
batches of ``ingest.embed_batch`` — and then committed one by one, each in its own
transaction. Every file's line carries its seconds per stage (kb_agent/ingest/stages.py).

The manifest only ever describes what is indexed: a file is stat'ed and hashed before it is
parsed and checked again (identity, size, mtime, hash) after its hooks ran, just before its
commit. A file that changed meanwhile is read once more; if it changes again it fails with
"changed while reading", which the next run retries.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

from kb_agent.chunk import Chunk, Locator, text_hash
from kb_agent.config import IngestSettings
from kb_agent.embed.base import Embedder
from kb_agent.errors import EmbeddingError
from kb_agent.ingest import stages
from kb_agent.ingest.feed import ParseFeed
from kb_agent.ingest.hooks import IngestHook
from kb_agent.ingest.model import ParseOptions
from kb_agent.ingest.precheck import ToParse, file_hash, precheck, still_as_read
from kb_agent.ingest.report import FileOutcome, IngestReport
from kb_agent.ingest.walk import FileTask, discover
from kb_agent.ingest.worker import ParsePool, ParseResult
from kb_agent.store.chunks import ChunkStore, SourceRecord, file_identity

__all__ = ["Ingestor", "Progress", "file_hash", "embedding_text", "make_title", "MAX_TITLE_CHARS"]
log = logging.getLogger(__name__)
#: A chunk's title (document title + heading path) is embedded with every chunk: bounded.
MAX_TITLE_CHARS = 300
CHANGED = "changed while reading, will retry next run"


@dataclass(frozen=True)
class Progress:
    files_done: int
    files_total: int
    #: Chunks embedded or found in the vector cache so far (moves while a big file embeds).
    chunks_done: int
    current: str = ""


ProgressFn = Callable[[Progress], None]


def make_title(doc_title: str, locator: Locator) -> str:
    parts = [doc_title] if doc_title else []
    for h in locator.heading_path:
        if h and h not in parts:
            parts.append(h)
    return _clip(" > ".join(parts), MAX_TITLE_CHARS)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def embedding_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its title line (document and heading path) and text."""
    return f"{chunk.title}\n{chunk.text}" if chunk.title else chunk.text


@dataclass
class _Parsed:
    """One parsed file on its way to the store."""

    todo: ToParse
    result: ParseResult
    record: SourceRecord
    stages: dict[str, float]
    metadata: dict = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # text hash -> embedded text
    embed_error: str | None = None


class Ingestor:
    def __init__(self, store: ChunkStore, embedder: Embedder, settings: IngestSettings,
                 hooks: Sequence[IngestHook] = (), asr_api_key: str | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.hooks = list(hooks)
        self.options = ParseOptions.from_settings(settings, asr_api_key)
        self.signature = self.options.signature()
        self._progress: ProgressFn | None = None
        self._done = self._total = self._chunks = 0

    # -- the run --------------------------------------------------------------------------
    def run(self, paths: Sequence[Path], progress: ProgressFn | None = None) -> IngestReport:
        t0 = time.perf_counter()
        report = IngestReport(model_id=self.embedder.model_id)
        tasks, scopes, refused = discover(list(paths), self.store.roots())
        for r in refused:
            report.files.append(FileOutcome(r.path, r.status, reason=r.reason, root=r.root))
        self._progress, self._done, self._total, self._chunks = progress, 0, len(tasks), 0
        to_parse: list[ToParse] = []
        for task in tasks:
            checked = precheck(task, self.store, self.settings, self.signature)
            if isinstance(checked, FileOutcome):
                report.files.append(checked)
                self._file_done(task.source)
            else:
                to_parse.append(checked)
        self._tick()
        with ParsePool(self.settings.workers, self.settings.parse_timeout_s) as pool:
            for last_try in (False, True):
                changed = self._parse_and_commit(pool, to_parse, report, last_try)
                to_parse = []
                for task in changed:  # changed while it was read: read it once more
                    checked = precheck(task, self.store, self.settings, self.signature, force=True)
                    if isinstance(checked, FileOutcome):
                        report.files.append(checked)
                        self._file_done(task.source)
                    else:
                        to_parse.append(checked)
                if not to_parse:
                    break
        self._remove_deleted(tasks, scopes, report)
        try:
            report.embedded += self._backfill(report.stages)
        except EmbeddingError as exc:
            log.warning("backfill of missing vectors failed: %s", exc)
            report.errors.append(f"embedding backfill failed: {exc.message}")
        order = {t.source: i for i, t in enumerate(tasks)}
        report.files.sort(key=lambda f: (order.get(f.path, -1), f.path))
        report.generation = self.store.generation()
        report.store_chunks = self.store.count()
        report.seconds = time.perf_counter() - t0
        return report

    def _parse_and_commit(self, pool: ParsePool, to_parse: list[ToParse], report: IngestReport,
                          last_try: bool) -> list[FileTask]:
        """Parse ``to_parse`` in the workers while embedding and committing what is parsed;
        returns the files that changed while they were read (not committed)."""
        by_source = {t.task.source: t for t in to_parse}
        jobs = [(t.task.source, t.task.path, self.options) for t in to_parse]
        changed: list[FileTask] = []
        with ParseFeed(pool, jobs, depth=2 * self.settings.workers) as feed:
            for group in feed.batches(self.settings.embed_batch):
                parsed = [self._prepare(by_source[source], result) for source, result in group]
                self._embed_group([p for p in parsed if p.result.ok], report)
                for p in parsed:
                    outcome = self._commit(p, report, last_try)
                    stages.add(report.stages, p.stages)
                    if outcome is None:
                        changed.append(p.todo.task)
                        continue
                    report.files.append(outcome)
                    self._file_done(p.todo.task.source)
        report.parse_wait_s += feed.waited_s
        return changed

    def _remove_deleted(self, tasks: list[FileTask], scopes, report: IngestReport) -> None:
        seen = {t.source for t in tasks}
        for scope in scopes:
            for rec in self.store.sources():
                if rec.root == str(scope.root) and scope.covers(rec.path) and rec.path not in seen:
                    gone = True
                else:  # ingested before from a folder inside this root: now listed under this root's name
                    inner = Path(rec.root)
                    gone = not scope.is_file and scope.root in inner.parents \
                        and scope.covers((inner / rec.path).relative_to(scope.root).as_posix())
                if gone:
                    self._notify_remove(rec.path, [])
                    self.store.remove_source(rec.path)
                    report.removed.append(rec.path)

    # -- progress -------------------------------------------------------------------------
    def _tick(self, current: str = "") -> None:
        if self._progress:
            self._progress(Progress(self._done, self._total, self._chunks, current))

    def _file_done(self, source: str) -> None:
        self._done += 1
        self._tick(source)

    # -- one parsed file ------------------------------------------------------------------
    def _prepare(self, todo: ToParse, result: ParseResult) -> _Parsed:
        task, st = todo.task, todo.st
        suffix = task.path.suffix.lower()
        record = SourceRecord(path=task.source, content_hash=todo.digest, mtime=st.st_mtime, chunks=0, status="ok",
                              access_groups=task.access_groups, root=str(task.root), size=st.st_size,
                              doc_title=_clip(result.title or task.path.stem, MAX_TITLE_CHARS),
                              file_type=suffix.lstrip("."),
                              signature=self.signature, ingested_at=time.time(), real_path=str(task.path),
                              file_id=file_identity(st))
        spent = stages.empty()
        stages.add(spent, result.stages or {"parse": result.seconds})
        p = _Parsed(todo, result, record, spent)
        if result.ok:
            p.metadata = {"doc_title": record.doc_title, "mtime": st.st_mtime, "content_hash": todo.digest,
                          "access_groups": list(task.access_groups), "file_type": record.file_type}
            p.chunks = [Chunk(text=piece.text, source=task.source, locator=piece.locator,
                              title=make_title(record.doc_title, piece.locator), metadata=p.metadata)
                        for piece in result.pieces]
            texts = [embedding_text(c) for c in p.chunks]
            p.hashes = [text_hash(t) for t in texts]
            p.texts = dict(zip(p.hashes, texts))
        return p

    def _embed_group(self, parsed: list[_Parsed], report: IngestReport) -> None:
        """Embed the files' texts missing from the cache together; when that fails, file by
        file, so that each file gets its own outcome."""
        if not parsed:
            return
        chunks_before = self._chunks
        try:
            self._embed_files(parsed, report)
        except EmbeddingError as exc:
            self._chunks = chunks_before  # the files are counted again as they are retried
            if len(parsed) == 1:
                parsed[0].embed_error = exc.message
                return
            for p in parsed:
                try:
                    self._embed_files([p], report)
                except EmbeddingError as exc_one:
                    p.embed_error = exc_one.message

    def _embed_files(self, parsed: list[_Parsed], report: IngestReport) -> None:
        union: dict[str, str] = {}
        for p in parsed:
            union.update(p.texts)
        missing = self.store.missing_embeddings(self.embedder.model_id, union)
        owner: dict[str, _Parsed] = {}  # a text shared by files is counted (and timed) for the first
        for p in parsed:
            for h in p.texts:
                if h in missing:
                    owner.setdefault(h, p)
        for part, embed_s, write_s in self._embed_batches([h for h in union if h in missing], union):
            report.embedded += len(part)
            for h in part:
                owner[h].stages["embed"] += embed_s / len(part)
                owner[h].stages["write"] += write_s / len(part)
            self._chunks += len(part)
            self._tick(owner[part[-1]].todo.task.source)
        for p in parsed:
            cached = sum(1 for h in p.texts if owner.get(h) is not p)
            report.embed_cached += cached
            self._chunks += cached

    def _commit(self, p: _Parsed, report: IngestReport, last_try: bool = True) -> FileOutcome | None:
        """The file's outcome, committed; None when it changed while read and may be read again."""
        t0 = time.perf_counter()
        try:
            return self._commit_timed(p, last_try)
        finally:
            p.stages["write"] += time.perf_counter() - t0

    def _commit_timed(self, p: _Parsed, last_try: bool) -> FileOutcome | None:
        task, prev, result, record = p.todo.task, p.todo.prev, p.result, p.record
        if result.ok and p.embed_error is not None:  # the backend failed: this file fails, the run goes on
            log.warning("embedding failed for %s: %s", task.source, p.embed_error)
            result = ParseResult(False, reason=f"embedding failed: {p.embed_error}"[:300], seconds=result.seconds)
        elif result.ok:
            outcome = self._commit_ok(p)
            if outcome is not None:
                return outcome
            if not last_try:
                return None
            result = ParseResult(False, reason=CHANGED, seconds=result.seconds)
        elif not still_as_read(p.todo):  # the failure may be a half-written file
            if not last_try:
                return None
            result = ParseResult(False, reason=CHANGED, seconds=result.seconds)
        reason = result.reason or "failed"
        kept = prev.chunks if prev else 0
        if kept and tuple(prev.access_groups) != tuple(task.access_groups):
            # The old chunks carry the old access groups: keeping them could show a newly
            # restricted document to its old readers. Fail closed: remove them.
            self.store.remove_source(task.source)
            self._notify_remove(task.source, [])
            reason += f" (previous version removed: its access groups changed to {list(task.access_groups)})"
            kept = 0
        elif kept:
            reason += f" (previous version kept: {kept} chunks)"
        self.store.record_outcome(replace(record, status="failed", reason=reason))
        return FileOutcome(task.source, "failed", kept, reason, root=str(task.root), seconds=result.seconds,
                           stages=p.stages)

    def _commit_ok(self, p: _Parsed) -> FileOutcome | None:
        """Run the hooks, commit; None (nothing committed) when the file changed meanwhile."""
        task, prev, result = p.todo.task, p.todo.prev, p.result
        hook_errors: list[str] = []
        if prev and prev.status == "ok":
            self._notify_remove(task.source, hook_errors)
        for hook in self.hooks:
            try:
                hook.on_file(task.source, task.path, p.metadata)
            except Exception as exc:  # noqa: BLE001 - a hook's failure is this file's report line
                log.warning("hook %s failed on %s", getattr(hook, "name", hook), task.source, exc_info=True)
                hook_errors.append(f"{getattr(hook, 'name', type(hook).__name__)}: {type(exc).__name__}: {exc}")
        if not still_as_read(p.todo):
            self._notify_remove(task.source, [])  # the hooks saw a version that is not committed
            return None
        notes = list(result.notes) + [f"hook {e}" for e in hook_errors]
        record = replace(p.record, reason="; ".join(notes) or None)
        self.store.replace_source(record, p.chunks, p.hashes)
        return FileOutcome(task.source, "ok", len(p.chunks), record.reason, root=str(task.root),
                           seconds=result.seconds, notes=list(result.notes), hook_errors=hook_errors,
                           stages=p.stages)

    def _backfill(self, spent: dict[str, float]) -> int:
        """Embed live chunks that lack a vector for this model (a new model, or a crash between
        a file's commit and its embeddings in an older version); its seconds go to ``spent``."""
        missing = self.store.unembedded(self.embedder.model_id)
        if not missing:
            return 0
        chunks = self.store.get_by_rowids([r for _, r in missing])
        by_hash = {h: embedding_text(c) for (h, _), c in zip(missing, chunks)}
        for _part, embed_s, write_s in self._embed_batches(list(by_hash), by_hash):
            spent["embed"] += embed_s
            spent["write"] += write_s
        return len(by_hash)

    def _embed_batches(self, hashes: list[str], text_of: dict[str, str]):
        """Embed ``hashes`` (texts in ``text_of``) batch by batch into the store's cache for this
        model; yields (the batch's hashes, embedding seconds, writing seconds)."""
        step = self.settings.embed_batch
        for i in range(0, len(hashes), step):
            part = hashes[i:i + step]
            t0 = time.perf_counter()
            vecs = self.embedder.embed_documents([text_of[h] for h in part])
            t1 = time.perf_counter()
            self.store.put_embeddings(self.embedder.model_id, part, vecs)
            yield part, t1 - t0, time.perf_counter() - t1

    def _notify_remove(self, source: str, errors: list[str]) -> None:
        for hook in self.hooks:
            try:
                hook.on_remove(source)
            except Exception as exc:  # noqa: BLE001
                log.warning("hook %s on_remove failed for %s", getattr(hook, "name", hook), source, exc_info=True)
                errors.append(f"{getattr(hook, 'name', type(hook).__name__)}: {type(exc).__name__}: {exc}")
