"""What the Milvus dense and text indexes share: a current physical collection, recorded in
the meta collection with what it was built for and the generation it holds.

A rebuild fills a *new* physical collection (``<prefix>_<role>_<8 hex>``) while searches go
on against the current one; its commit points the meta record at the new one and drops the
old. So a rebuild (first start, another embedder, a changed glossary, a lost collection)
never leaves searches facing a half-filled index, and another process that still searches
the dropped collection re-reads the meta record and follows (one retry).

Upserts and deletes are idempotent, so re-applying the changes since an older checkpoint
(a crash between a write and its checkpoint, or two processes catching up) is harmless.
"""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path
from typing import Any, Callable, Sequence

from kb_agent.errors import StoreError
from kb_agent.index.backend import Commit, IndexRow, Scope
from kb_agent.index.milvus.connection import MetaRecords, access_key, client_for, failed, resolve_uri, scope_filter

log = logging.getLogger(__name__)
BATCH = 1000
#: Field sizes (Milvus counts VARCHAR lengths in bytes).
MAX_SOURCE, MAX_GROUP, MAX_GROUPS, MAX_FOLDERS = 4096, 256, 256, 64


def clip_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def scalar_fields(schema, DataType) -> None:
    """The fields a scope filters on, the same in every collection of ours."""
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("source", DataType.VARCHAR, max_length=MAX_SOURCE)
    schema.add_field("folders", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=MAX_FOLDERS,
                     max_length=MAX_SOURCE)
    schema.add_field("file_type", DataType.VARCHAR, max_length=64)
    schema.add_field("access_groups", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=MAX_GROUPS,
                     max_length=MAX_GROUP)
    schema.add_field("access_key", DataType.VARCHAR, max_length=64)
    schema.add_field("generation", DataType.INT64)


def scalar_indexes(index) -> None:
    """Inverted indexes on the scalar scope fields (milvus-lite refuses them on ARRAY fields)."""
    for name in ("access_key", "file_type", "source"):
        index.add_index(name, index_type="INVERTED")


def scalar_values(row: IndexRow, generation: int) -> dict[str, Any]:
    return {"id": int(row.rowid), "source": clip_bytes(row.source, MAX_SOURCE),
            "folders": [clip_bytes(f, MAX_SOURCE) for f in row.folders[:MAX_FOLDERS]],
            "file_type": clip_bytes(row.file_type, 64),
            "access_groups": [clip_bytes(g, MAX_GROUP) for g in row.access_groups[:MAX_GROUPS]],
            "access_key": access_key(clip_bytes(g, MAX_GROUP) for g in row.access_groups[:MAX_GROUPS]),
            "generation": int(generation)}


class MilvusCollection:
    """The current physical collection of one index (``role``: "dense" or "text")."""

    def __init__(self, settings, index_dir: Path, role: str, built_for: dict[str, Any]):
        self.settings = settings            # MilvusSettings
        self.index_dir = Path(index_dir)
        self.role = role
        self.prefix = settings.collection
        self.built_for = dict(built_for)    # what a persisted collection must match to be reused
        self.uri = resolve_uri(settings, index_dir)
        self._client = None
        self._meta: MetaRecords | None = None
        self.name: str | None = None        # the current physical collection
        self.count = 0
        self.generation = -1                # the generation of the last checkpoint
        self.access_keys: dict[str, tuple[str, ...]] = {}   # access_key → its groups (see scope_filter)

    # -- connection ----------------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            self._client = client_for(self.settings, self.index_dir)
            self._meta = MetaRecords(self._client, self.prefix)
        return self._client

    @property
    def meta(self) -> MetaRecords:
        self.client
        return self._meta

    def call(self, what: str, fn: Callable[[str], Any]) -> Any:
        """``fn(collection name)``; a failure re-reads the meta record once (another process
        may have rebuilt the index) and then is a StoreError naming what failed."""
        if self.name is None:
            raise StoreError(f"Milvus {self.role} index {self.prefix} is not open",
                             hint="the Retriever opens or rebuilds it on first use")
        try:
            return fn(self.name)
        except StoreError:
            raise
        except Exception as exc:
            try:
                record = self.meta.get(self.role)
            except Exception:
                record = None
            if record and record.get("collection") not in (None, self.name) and \
                    record.get("built_for") == self.built_for:
                log.info("Milvus %s index moved to %s (rebuilt elsewhere); following", self.role,
                         record["collection"])
                self.name = record["collection"]
                try:
                    return fn(self.name)
                except Exception as exc2:
                    raise failed(f"{what} on {self.name} ({self.uri})", exc2) from exc2
            raise failed(f"{what} on {self.name} ({self.uri})", exc) from exc

    # -- life cycle ----------------------------------------------------------------------
    def open(self) -> int | None:
        """The generation the current collection holds, or None (nothing usable: rebuild)."""
        try:
            record = self.meta.get(self.role)
            if record is None:
                return None
            if record.get("built_for") != self.built_for:
                log.warning("Milvus %s index %s was built for %s, not %s; rebuilding", self.role,
                            record.get("collection"), record.get("built_for"), self.built_for)
                return None
            name = record.get("collection")
            if not name or not self.client.has_collection(name):
                log.warning("Milvus %s collection %s is missing; rebuilding from the chunk store", self.role, name)
                return None
            if record.get("generation") is None:
                return None                 # a rebuild that never reached its checkpoint
            self.client.load_collection(name)   # written by an earlier process: released until loaded
            self.name = name
            self.access_keys = {k: tuple(v) for k, v in (record.get("access_keys") or {}).items()}
            self.generation = int(record["generation"])
            self.count = self._count(name)
            return self.generation
        except StoreError:
            raise
        except Exception as exc:
            log.warning("Milvus %s index unusable (%s: %s); rebuilding from the chunk store", self.role,
                        type(exc).__name__, exc)
            return None

    def rebuild(self, create: Callable[[Any, str], None], records: Sequence[dict], *, seal: bool) -> Commit:
        """Create a new physical collection with ``create(client, name)``, fill it (``seal``:
        flush it into sealed segments), and return the commit that makes it current."""
        name = f"{self.prefix}_{self.role}_{uuid.uuid4().hex[:8]}"
        try:
            create(self.client, name)
            for i in range(0, len(records), BATCH):
                self.client.insert(name, list(records[i:i + BATCH]))
            if seal:
                self.client.flush(name)
        except Exception as exc:
            self._drop(name)
            raise failed(f"building {self.role} collection {name} ({self.uri})", exc) from exc

        keys = {r["access_key"]: tuple(r["access_groups"]) for r in records}

        def commit() -> None:
            old = self.name
            self.meta.put(self.role, {"collection": name, "built_for": self.built_for, "generation": None})
            self.name, self.count, self.access_keys = name, len(records), keys
            self._drop_stale(keep=name, old=old)
        return commit

    def _drop(self, name: str | None) -> None:
        if not name:
            return
        try:
            if self.client.has_collection(name):
                self.client.drop_collection(name)
        except Exception as exc:   # a leftover collection is harmless; the next rebuild drops it
            log.warning("could not drop Milvus collection %s: %s", name, exc)

    def _drop_stale(self, keep: str, old: str | None) -> None:
        """Drop the previous collection and leftovers of interrupted rebuilds of this role."""
        pattern = re.compile(rf"^{re.escape(self.prefix)}_{self.role}_[0-9a-f]{{8}}$")
        try:
            names = [n for n in self.client.list_collections() if pattern.match(n) and n != keep]
        except Exception:
            names = [old] if old and old != keep else []
        for n in names:
            self._drop(n)

    def checkpoint(self, generation: int) -> None:
        if self.name is None:
            return
        try:
            self.meta.put(self.role, {"collection": self.name, "built_for": self.built_for,
                                      "generation": int(generation), "access_keys": self.access_keys})
        except Exception as exc:
            raise failed(f"checkpoint of {self.name} ({self.uri})", exc) from exc
        self.generation = int(generation)

    # -- rows ----------------------------------------------------------------------------
    def upsert(self, records: Sequence[dict]) -> None:
        self.access_keys = {**self.access_keys, **{r["access_key"]: tuple(r["access_groups"]) for r in records}}
        for i in range(0, len(records), BATCH):
            part = list(records[i:i + BATCH])
            self.call("upsert", lambda name: self.client.upsert(name, part))
        self.count = self._count(self.name)

    def delete(self, rowids: Sequence[int]) -> None:
        ids = [int(r) for r in rowids]
        for i in range(0, len(ids), BATCH):
            part = ids[i:i + BATCH]
            self.call("delete", lambda name: self.client.delete(name, ids=part))
        self.count = self._count(self.name)

    def _count(self, name: str | None) -> int:
        if name is None:
            return 0
        rows = self.call("count", lambda n: self.client.query(n, filter="", output_fields=["count(*)"]))
        return int(rows[0]["count(*)"]) if rows else 0

    def filter(self, scope: Scope) -> str | None:
        """The scope's filter expression; None when the principal can see no row here."""
        return scope_filter(scope, self.access_keys)

    def stats(self) -> dict[str, Any]:
        return {"backend": "milvus", "location": f"{self.uri}#{self.name}", "collection": self.name,
                "rows": self.count}
