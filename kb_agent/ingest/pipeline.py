"""The ingestion run: discover -> skip what is unchanged -> parse and chunk in worker
processes -> embed (cached by text hash) -> hooks -> one store transaction per file ->
remove deleted files -> backfill missing vectors. Every file ends in exactly one report line.

The manifest only ever describes what is indexed: a file is stat'ed and hashed before it is
parsed and checked again (identity, size, mtime, hash) after its hooks ran, just before its
commit. A file that changed meanwhile is read once more; if it changes again it fails with
"changed while reading", which the next run retries.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from kb_agent.chunk import Chunk, Locator, text_hash
from kb_agent.config import IngestSettings
from kb_agent.embed.base import Embedder
from kb_agent.errors import EmbeddingError
from kb_agent.ingest.hooks import IngestHook
from kb_agent.ingest.model import ParseOptions
from kb_agent.ingest.parsers import parser_for, skip_reason
from kb_agent.ingest.report import FileOutcome, IngestReport
from kb_agent.ingest.walk import FileTask, discover
from kb_agent.ingest.worker import ParsePool, ParseResult
from kb_agent.store.chunks import ChunkStore, SourceRecord, file_identity

log = logging.getLogger(__name__)
#: A chunk's title (document title + heading path) is embedded with every chunk: bounded.
MAX_TITLE_CHARS = 300
CHANGED = "changed while reading, will retry next run"
#: Failures worth retrying on the next run even when the file did not change.
_TRANSIENT = ("timed out", "parser crashed", "out of memory", "permission denied", "embedding failed",
              "changed while reading")


@dataclass(frozen=True)
class Progress:
    files_done: int
    files_total: int
    chunks_done: int
    current: str = ""


ProgressFn = Callable[[Progress], None]


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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


class Ingestor:
    def __init__(self, store: ChunkStore, embedder: Embedder, settings: IngestSettings,
                 hooks: Sequence[IngestHook] = (), asr_api_key: str | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.hooks = list(hooks)
        self.options = ParseOptions.from_settings(settings, asr_api_key)
        self.signature = self.options.signature()

    # -- the run --------------------------------------------------------------------------
    def run(self, paths: Sequence[Path], progress: ProgressFn | None = None) -> IngestReport:
        t0 = time.perf_counter()
        report = IngestReport(model_id=self.embedder.model_id)
        tasks, scopes, refused = discover(list(paths), self.store.roots())
        for r in refused:
            report.files.append(FileOutcome(r.path, r.status, reason=r.reason, root=r.root))
        total = len(tasks)
        done = 0
        chunks_done = 0

        def tick(current: str = "") -> None:
            if progress:
                progress(Progress(done, total, chunks_done, current))

        to_parse: list[tuple[FileTask, os.stat_result, str, SourceRecord | None]] = []
        for task in tasks:
            outcome, todo = self._precheck(task)
            if outcome:
                report.files.append(outcome)
                done += 1
                tick(task.source)
            else:
                to_parse.append(todo)
        tick()
        with ParsePool(self.settings.workers, self.settings.parse_timeout_s) as pool:
            for last_try in (False, True):
                by_source = {t[0].source: t for t in to_parse}
                jobs = [(t[0].source, t[0].path, self.options) for t in to_parse]
                changed: list[FileTask] = []
                for source, result in pool.run(jobs):
                    task, st, digest, prev = by_source[source]
                    outcome = self._commit(task, st, digest, prev, result, report, last_try)
                    if outcome is None:  # the file changed while it was read: read it once more
                        changed.append(task)
                        continue
                    report.files.append(outcome)
                    done += 1
                    chunks_done += outcome.chunks if outcome.status == "ok" else 0
                    tick(source)
                to_parse = []
                for task in changed:
                    outcome, todo = self._precheck(task, force=True)
                    if outcome:
                        report.files.append(outcome)
                        done += 1
                    else:
                        to_parse.append(todo)
                if not to_parse:
                    break
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
        try:
            report.embedded += self._backfill()
        except EmbeddingError as exc:
            log.warning("backfill of missing vectors failed: %s", exc)
            report.errors.append(f"embedding backfill failed: {exc.message}")
        order = {t.source: i for i, t in enumerate(tasks)}
        report.files.sort(key=lambda f: (order.get(f.path, -1), f.path))
        report.generation = self.store.generation()
        report.store_chunks = self.store.count()
        report.seconds = time.perf_counter() - t0
        return report

    # -- steps ----------------------------------------------------------------------------
    def _precheck(self, task: FileTask, force: bool = False):
        """(outcome, None) when the file needs no parse, else (None, (task, stat, hash, previous
        record)). ``force``: parse even when it looks unchanged (a retry after a change)."""
        out = lambda status, reason=None, chunks=0: (FileOutcome(task.source, status, chunks, reason,  # noqa: E731
                                                                 root=str(task.root)), None)
        if task.access_error:
            return out("failed", task.access_error)
        try:
            st = os.stat(task.path)
        except PermissionError:
            return out("failed", "permission denied")
        except OSError as exc:
            return out("failed", f"cannot read file ({exc.strerror})")
        if not stat.S_ISREG(st.st_mode):
            return out("skipped", "not a regular file")
        suffix = task.path.suffix.lower()
        if parser_for(suffix) is None:
            return out("skipped", skip_reason(suffix))
        if task.path.name.startswith("~$"):
            return out("skipped", "Office lock file")
        if st.st_size == 0:
            return out("skipped", "empty file (0 bytes)")
        cap = self.settings.max_file_mb * 2**20
        if st.st_size > cap:
            return out("skipped", f"too large ({st.st_size / 2**20:.1f} MiB > ingest.max_file_mb "
                                  f"{self.settings.max_file_mb:g})")
        prev = self.store.source(task.source)
        if prev and prev.root != str(task.root) and (Path(prev.root) / task.source).exists():
            return out("failed", f"the same relative path was ingested from {prev.root}; "
                                 "ingest their common parent folder instead")
        same_meta = prev and prev.root == str(task.root) and prev.signature == self.signature \
            and tuple(prev.access_groups) == tuple(task.access_groups)
        retry = force or (prev and prev.status == "failed" and (prev.reason or "").startswith(_TRANSIENT))
        real, fid = str(task.path), file_identity(st)
        if same_meta and not retry and prev.size == st.st_size and prev.mtime == st.st_mtime:
            if prev.real_path == real and prev.file_id == fid:
                return self._unchanged(task, prev)
            if not prev.real_path and not task.link:  # a record from before identities were kept
                self.store.record_outcome(_replace(prev, real_path=real, file_id=fid))
                return self._unchanged(task, prev)
        try:
            digest = file_hash(task.path)
        except PermissionError:
            return out("failed", "permission denied")
        except OSError as exc:
            return out("failed", f"cannot read file ({exc.strerror})")
        if same_meta and not retry and prev.content_hash == digest:
            self.store.record_outcome(_replace(prev, mtime=st.st_mtime, size=st.st_size, real_path=real, file_id=fid))
            return self._unchanged(task, prev)
        return None, (task, st, digest, prev)

    @staticmethod
    def _still_as_read(task: FileTask, st: os.stat_result, digest: str) -> bool:
        """Is the file still the one stat'ed and hashed before it was parsed?"""
        try:
            now = os.stat(task.path)
            return (file_identity(now), now.st_size, now.st_mtime_ns) == (file_identity(st), st.st_size,
                                                                          st.st_mtime_ns) \
                and file_hash(task.path) == digest
        except OSError:
            return False

    @staticmethod
    def _unchanged(task: FileTask, prev: SourceRecord):
        if prev.status == "failed":
            return FileOutcome(task.source, "failed", prev.chunks, prev.reason, root=str(task.root)), None
        return FileOutcome(task.source, "unchanged", prev.chunks, root=str(task.root)), None

    def _commit(self, task: FileTask, st, digest: str, prev: SourceRecord | None, result: ParseResult,
                report: IngestReport, last_try: bool = True) -> FileOutcome | None:
        """The file's outcome, committed; None when it changed while read and may be read again."""
        suffix = task.path.suffix.lower()
        record = SourceRecord(path=task.source, content_hash=digest, mtime=st.st_mtime, chunks=0, status="ok",
                              access_groups=task.access_groups, root=str(task.root), size=st.st_size,
                              doc_title=_clip(result.title or task.path.stem, MAX_TITLE_CHARS),
                              file_type=suffix.lstrip("."),
                              signature=self.signature, ingested_at=time.time(), real_path=str(task.path),
                              file_id=file_identity(st))
        if result.ok:
            try:
                outcome = self._commit_ok(task, st, digest, prev, result, report, record)
            except EmbeddingError as exc:  # the backend failed: this file fails, the run goes on
                log.warning("embedding failed for %s: %s", task.source, exc)
                result = ParseResult(False, reason=f"embedding failed: {exc.message}"[:300], seconds=result.seconds)
            else:
                if outcome is not None:
                    return outcome
                if not last_try:
                    return None
                result = ParseResult(False, reason=CHANGED, seconds=result.seconds)
        elif not self._still_as_read(task, st, digest):  # the failure may be a half-written file
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
        self.store.record_outcome(_replace(record, status="failed", reason=reason))
        return FileOutcome(task.source, "failed", kept, reason, root=str(task.root), seconds=result.seconds)

    def _commit_ok(self, task: FileTask, st, digest: str, prev: SourceRecord | None, result: ParseResult,
                   report: IngestReport, record: SourceRecord) -> FileOutcome | None:
        """Embed, run the hooks, commit; None (nothing committed) when the file changed meanwhile."""
        metadata = {"doc_title": record.doc_title, "mtime": st.st_mtime, "content_hash": digest,
                    "access_groups": list(task.access_groups), "file_type": record.file_type}
        chunks = [Chunk(text=p.text, source=task.source, locator=p.locator,
                        title=make_title(record.doc_title, p.locator), metadata=metadata) for p in result.pieces]
        texts = [embedding_text(c) for c in chunks]
        hashes = [text_hash(t) for t in texts]
        self._embed(dict(zip(hashes, texts)), report)
        hook_errors: list[str] = []
        if prev and prev.status == "ok":
            self._notify_remove(task.source, hook_errors)
        for hook in self.hooks:
            try:
                hook.on_file(task.source, task.path, metadata)
            except Exception as exc:  # noqa: BLE001 - a hook's failure is this file's report line
                log.warning("hook %s failed on %s", getattr(hook, "name", hook), task.source, exc_info=True)
                hook_errors.append(f"{getattr(hook, 'name', type(hook).__name__)}: {type(exc).__name__}: {exc}")
        if not self._still_as_read(task, st, digest):
            self._notify_remove(task.source, [])  # the hooks saw a version that is not committed
            return None
        notes = list(result.notes) + [f"hook {e}" for e in hook_errors]
        record = _replace(record, reason="; ".join(notes) or None)
        self.store.replace_source(record, chunks, hashes)
        return FileOutcome(task.source, "ok", len(chunks), record.reason, root=str(task.root),
                           seconds=result.seconds, notes=list(result.notes), hook_errors=hook_errors)

    def _embed(self, by_hash: dict[str, str], report: IngestReport) -> None:
        missing = self.store.missing_embeddings(self.embedder.model_id, by_hash)
        report.embed_cached += len(by_hash) - len(missing)
        todo = [h for h in by_hash if h in missing]
        step = self.settings.embed_batch
        for i in range(0, len(todo), step):
            part = todo[i:i + step]
            vecs = self.embedder.embed_documents([by_hash[h] for h in part])
            self.store.put_embeddings(self.embedder.model_id, part, vecs)
            report.embedded += len(part)

    def _backfill(self) -> int:
        """Embed live chunks that lack a vector for this model (a new model, or a crash between
        a file's commit and its embeddings in an older version)."""
        missing = self.store.unembedded(self.embedder.model_id)
        if not missing:
            return 0
        chunks = self.store.get_by_rowids([r for _, r in missing])
        by_hash = {h: embedding_text(c) for (h, _), c in zip(missing, chunks)}
        tmp = IngestReport()
        self._embed(by_hash, tmp)
        return tmp.embedded

    def _notify_remove(self, source: str, errors: list[str]) -> None:
        for hook in self.hooks:
            try:
                hook.on_remove(source)
            except Exception as exc:  # noqa: BLE001
                log.warning("hook %s on_remove failed for %s", getattr(hook, "name", hook), source, exc_info=True)
                errors.append(f"{getattr(hook, 'name', type(hook).__name__)}: {type(exc).__name__}: {exc}")


def _replace(rec: SourceRecord, **changes) -> SourceRecord:
    from dataclasses import replace

    return replace(rec, **changes)
