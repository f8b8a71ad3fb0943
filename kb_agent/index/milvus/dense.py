"""The Milvus :class:`~kb_agent.index.backend.VectorIndex`: dense vectors in a Milvus collection.

Fields: ``id`` (the chunk rowid), ``vector`` (inner product on L2-normalised vectors, so
scores are cosines, as with FAISS), and the scope fields ``source``, ``folders``,
``file_type``, ``access_groups``, ``generation``. The scope is a filter expression Milvus
applies inside the search, so the top k are the best k the principal may see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from kb_agent.index.backend import Commit, IndexIdentity, IndexRow, Scope
from kb_agent.index.milvus.collection import MilvusCollection, scalar_indexes, scalar_fields, scalar_values
from kb_agent.index.milvus.connection import is_local, pymilvus

#: Milvus refuses a larger limit.
MAX_LIMIT = 16384


class MilvusVectorIndex:
    def __init__(self, settings, index_dir: Path, identity: IndexIdentity):
        self.settings = settings            # MilvusSettings
        self.identity = identity
        self.dim = int(identity.dim)
        # milvus-lite's AUTOINDEX drops rows under a selective filter (the contract test of 200
        # restricted chunks above one visible one failed with it); exact FLAT does not.
        self.index_type = settings.index_type or ("FLAT" if is_local(settings.uri) else "AUTOINDEX")
        self.collection = MilvusCollection(settings, index_dir, "dense", {
            "model_id": identity.model_id, "dim": self.dim, "store_id": identity.store_id,
            "index_type": self.index_type})

    def _create(self, client, name: str) -> None:
        DataType = pymilvus().DataType
        schema = client.create_schema(auto_id=False)
        scalar_fields(schema, DataType)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        index = client.prepare_index_params()
        index.add_index("vector", index_type=self.index_type, metric_type="IP")
        scalar_indexes(index)
        client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")

    def _records(self, rows: Sequence[IndexRow], vectors: np.ndarray) -> list[dict[str, Any]]:
        x = np.asarray(vectors, dtype=np.float32).reshape(len(rows), self.dim) if len(rows) else ()
        return [{**scalar_values(r, r.generation), "vector": v.tolist()} for r, v in zip(rows, x)]

    # -- VectorIndex ---------------------------------------------------------------------
    def open(self, rows: Callable[[], Sequence[IndexRow]]) -> int | None:
        return self.collection.open()       # the scope fields are in the collection: rows unused

    def rebuild(self, rows: Sequence[IndexRow], vectors: np.ndarray) -> Commit:
        # Sealed segments are indexed; a search over an unsealed (growing) one is brute force.
        return self.collection.rebuild(self._create, self._records(rows, vectors), seal=True)

    def upsert(self, rows: Sequence[IndexRow], vectors: np.ndarray) -> None:
        if len(rows):
            self.collection.upsert(self._records(rows, vectors))

    def delete(self, rowids: Sequence[int]) -> None:
        if len(rowids):
            self.collection.delete(rowids)

    def search(self, query: np.ndarray, k: int, scope: Scope) -> tuple[np.ndarray, np.ndarray]:
        k = min(int(k), MAX_LIMIT)
        if k <= 0 or not self.collection.count:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        q = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.index_type.upper() == "HNSW":
            params["params"] = {"ef": max(k, 64)}
        c = self.collection
        expr = c.filter(scope)
        if expr is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        hits = c.call("dense search", lambda name: c.client.search(
            name, data=[q], anns_field="vector", limit=k, filter=expr, output_fields=["id"],
            search_params=params))[0]
        ids = np.fromiter((int(h["id"]) for h in hits), dtype=np.int64, count=len(hits))
        scores = np.fromiter((float(h["distance"]) for h in hits), dtype=np.float32, count=len(hits))
        order = np.lexsort((ids, -scores))      # best first; ties by rowid, as FAISS flat does
        return ids[order], scores[order]

    def scores_for(self, query: np.ndarray, rowids: np.ndarray) -> np.ndarray:
        rowids = np.asarray(rowids, dtype=np.int64).reshape(-1)
        out = np.full(len(rowids), np.nan, dtype=np.float32)
        if not len(rowids) or not self.collection.count:
            return out
        c = self.collection
        found = c.call("get", lambda name: c.client.get(name, ids=rowids.tolist(), output_fields=["vector"]))
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        vec = {int(r["id"]): np.asarray(r["vector"], dtype=np.float32) for r in found}
        for i, r in enumerate(rowids.tolist()):
            if r in vec:
                out[i] = float(vec[r] @ q)
        return out

    def maintain(self) -> Commit | None:
        return None                         # Milvus compacts and indexes segments itself

    def checkpoint(self, generation: int) -> None:
        self.collection.checkpoint(generation)

    def flush(self, timeout: float | None = None) -> None:
        """Writes are synchronous: nothing pending."""

    def __len__(self) -> int:
        return self.collection.count

    def stats(self) -> dict[str, Any]:
        return {**self.collection.stats(), "kind": f"milvus-{self.index_type.lower()}",
                "vectors": self.collection.count, "tombstones": 0}
