"""The project's RRF vs Milvus's own fusion (``hybrid_search``), on the sample evaluation.

    D=$(mktemp -d /tmp/fusion-data.XXXX)
    KB_AGENT_RETRIEVAL__VECTOR_BACKEND=milvus KB_AGENT_RETRIEVAL__KEYWORD_BACKEND=milvus \\
        .venv/bin/kb-agent --data-dir $D ingest sample_kb
    .venv/bin/python bench/milvus_fusion_bench.py --data-dir $D

The knowledge base runs with ``retrieval.vector_backend`` and ``keyword_backend: milvus``
(milvus-lite, forced here whatever the environment says). Those are two collections, ``dense``
(the ``vector`` field) and ``text`` (``text`` + its BM25 ``sparse`` field), and Milvus's
``hybrid_search`` fuses the routes of *one* collection only. So, to measure Milvus's fusion, a
temporary collection holds both fields for the same chunks: the dense collection's vectors,
the text collection's analyzer (jieba with the glossary dictionary) and texts, built the same
way (not flushed). Its two routes are checked against the product's two searches first, so any
difference in the table is the fusion alone.

For each answerable doc question of ``eval/sample.jsonl`` (what ``kb-agent eval`` scores), as
LOCAL_ADMIN (the eval's default principal: the access filter expression is empty), with the
Retriever's query (the glossary-expanded question, its e5 embedding) and candidate depth
(``retrieval.candidates`` per route):

- *Retriever*: ``KnowledgeBase.retrieve`` as it is: project RRF, navigation chunks last;
- *project rrf(), raw*: :func:`kb_agent.index.fusion.rrf` over the two lists, top 5;
- *Milvus RRFRanker(k)* / *WeightedRanker(w, w)*: one ``hybrid_search`` over the temporary
  collection, top 5 raw, and "+ product order" (top 2k+5, navigation chunks last, top 5: what
  the Retriever would do with them).

recall@1/@5 and MRR are ``kb-agent eval``'s (kb_agent/eval/metrics.py: the right source and the
right locator when the item gives one). Fusion ms: the two searches + rrf() vs the one
``hybrid_search`` call, query embedding excluded.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb_agent.access import LOCAL_ADMIN  # noqa: E402
from kb_agent.config import load_settings  # noqa: E402
from kb_agent.eval.dataset import EvalItem, load_items  # noqa: E402
from kb_agent.eval.metrics import first_relevant_rank, mrr, recall_at  # noqa: E402
from kb_agent.index.backend import Scope, as_rows  # noqa: E402
from kb_agent.index.fusion import rrf  # noqa: E402
from kb_agent.index.milvus.collection import clip_bytes, scalar_fields, scalar_indexes, scalar_values  # noqa: E402
from kb_agent.index.milvus.connection import pymilvus  # noqa: E402
from kb_agent.index.milvus.text import MAX_TEXT, analyzer  # noqa: E402
from kb_agent.index.retriever import NAV_SLACK, _navigation, fetch_chunks  # noqa: E402
from kb_agent.kb import KnowledgeBase  # noqa: E402
from kb_agent.text import normalise  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOP_K = 5


def open_kb(data_dir: Path) -> KnowledgeBase:
    os.environ["KB_AGENT_RETRIEVAL__VECTOR_BACKEND"] = "milvus"
    os.environ["KB_AGENT_RETRIEVAL__KEYWORD_BACKEND"] = "milvus"
    kb = KnowledgeBase(load_settings(data_dir=data_dir))
    kb.retriever.sync()
    if not len(kb.retriever.keywords):
        sys.exit(f"{data_dir} holds no chunks: ingest sample_kb into it first (see --help)")
    return kb


def doc_items(path: Path) -> list[EvalItem]:
    items, issues = load_items([path])
    if issues:
        sys.exit("\n".join(map(str, issues)))
    return [i for i in items if i.kind == "doc" and i.answerable]


# -- the temporary collection with both routes -------------------------------------------
def build_combined(kb: KnowledgeBase, name: str) -> None:
    """``name``: the dense and the text collection's fields, for the same chunks."""
    r, store, milvus = kb.retriever, kb.chunk_store, pymilvus()
    client, DataType = r.keywords.collection.client, milvus.DataType
    if client.has_collection(name):
        client.drop_collection(name)
    schema = client.create_schema(auto_id=False)
    scalar_fields(schema, DataType)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=int(kb.embedder.dim))
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT + 1000, enable_analyzer=True,
                     analyzer_params=analyzer(r.keywords._words, kb.settings.retrieval.milvus.jieba_mode))
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(milvus.Function(name="bm25", function_type=milvus.FunctionType.BM25,
                                        input_field_names=["text"], output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index("vector", index_type=r.vectors.index_type, metric_type="IP")
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    scalar_indexes(index)
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    generation = store.generation()
    rows = {row.rowid: row for row in as_rows(store.iter_chunks(), generation)}
    rowids, matrix = store.vectors(kb.embedder.model_id)
    records = [{**scalar_values(rows[int(i)], generation), "vector": np.asarray(v, np.float32).tolist(),
                "text": clip_bytes(normalise(rows[int(i)].text), MAX_TEXT)}
               for i, v in zip(rowids, matrix) if int(i) in rows]
    client.insert(name, records)       # not flushed, like the text collection (kb_agent/index/milvus/text.py)


class Query:
    """One question as the Retriever searches it."""

    def __init__(self, kb: KnowledgeBase, question: str):
        self.text = kb.understand(question).expanded_query or question
        self.vector = np.asarray(kb.embedder.embed_query(self.text), dtype=np.float32)
        self.bm25_text = clip_bytes(normalise(self.text).strip(), MAX_TEXT)


def requests(q: Query, depth: int, expr: str) -> list:
    milvus = pymilvus()
    kw = {"expr": expr} if expr else {}
    return [milvus.AnnSearchRequest([q.vector.tolist()], "vector", {"metric_type": "IP"}, depth, **kw),
            milvus.AnnSearchRequest([q.bm25_text], "sparse", {"metric_type": "BM25"}, depth, **kw)]


def combined_routes(client, name: str, q: Query, depth: int, expr: str) -> tuple[list[int], list[int]]:
    """Each route of the temporary collection alone, ordered as the product orders its lists."""
    out = []
    for req, drop_zero in zip(requests(q, depth, expr), (False, True)):
        hits = client.search(name, data=req.data, anns_field=req.anns_field, limit=depth, filter=expr,
                             output_fields=["id"], search_params=req.param)[0]
        pairs = [(int(h["id"]), abs(float(h["distance"])) if drop_zero else float(h["distance"])) for h in hits]
        pairs = [p for p in pairs if not drop_zero or p[1] > 0]
        out.append([i for i, _ in sorted(pairs, key=lambda p: (-p[1], p[0]))])
    return out[0], out[1]


def milvus_fused(client, name: str, q: Query, depth: int, expr: str, ranker, limit: int) -> list[int]:
    hits = client.hybrid_search(name, requests(q, depth, expr), ranker, limit=limit, output_fields=["id"])[0]
    return [int(h["id"]) for h in hits]


def product_order(kb: KnowledgeBase, ids: Sequence[int]) -> list[int]:
    """What the Retriever does after fusing: navigation chunks last (stable), access check, top k."""
    chunks = fetch_chunks(kb.chunk_store, ids)
    if kb.settings.retrieval.demote_navigation:
        ids = sorted(ids, key=lambda i: _navigation(chunks.get(int(i))))
    return [i for i in ids if i in chunks and LOCAL_ADMIN.can_see(chunks[i].access_groups)][:TOP_K]


def rank(kb: KnowledgeBase, item: EvalItem, ids: Sequence[int]) -> int | None:
    chunks = fetch_chunks(kb.chunk_store, ids)
    hits = [(chunks[i].source, chunks[i].locator.to_dict()) for i in ids[:TOP_K] if i in chunks]
    return first_relevant_rank(hits, item.expected_source, item.expected_locator)


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    t = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t) * 1000


def product_lists(kb: KnowledgeBase, q: Query, depth: int, scope: Scope) -> tuple[list[int], list[int]]:
    """The Retriever's two candidate lists: its dense and its keyword index."""
    d_ids, _ = kb.retriever.vectors.search(q.vector, depth, scope)
    k_ids, _ = kb.retriever.keywords.search(q.text, depth, scope)
    return d_ids.tolist(), k_ids.tolist()


def project_fused(kb: KnowledgeBase, q: Query, depth: int, scope: Scope) -> tuple[tuple, list[int]]:
    """The two lists and the project's rrf() over them (as the Retriever weights them)."""
    s = kb.settings.retrieval
    lists = product_lists(kb, q, depth, scope)
    return lists, [int(i) for i, _ in rrf(list(lists), k=s.rrf_k, weights=[s.dense_weight, s.keyword_weight])]


class Scores:
    """Per method: the rank of the first right hit of every question, and fusion latencies."""

    def __init__(self):
        self.ranks: dict[str, list[int | None]] = defaultdict(list)
        self.ms: dict[str, list[float]] = defaultdict(list)

    def add(self, kb: KnowledgeBase, method: str, item: EvalItem, ids: Sequence[int], ms: float | None = None):
        self.ranks[method].append(rank(kb, item, ids))
        if ms is not None:
            self.ms[method].append(ms)


def evaluate(kb: KnowledgeBase, items: Sequence[EvalItem], name: str, weight: float) -> tuple[Scores, int]:
    """The scores of every method; and for how many questions both routes of the temporary
    collection equal the product's two lists."""
    milvus, s = pymilvus(), kb.settings.retrieval
    client, depth = kb.retriever.keywords.collection.client, max(s.candidates, TOP_K)
    scope = Scope(LOCAL_ADMIN, None)
    expr = kb.retriever.keywords.collection.filter(scope)
    rankers = {f"Milvus RRFRanker({s.rrf_k})": milvus.RRFRanker(s.rrf_k),
               f"Milvus WeightedRanker({weight:g}, {1 - weight:g})": milvus.WeightedRanker(weight, 1 - weight)}
    scores, same_routes = Scores(), 0
    for item in items:
        hits = kb.retrieve(item.question, LOCAL_ADMIN, top_k=TOP_K).hits
        scores.add(kb, "Retriever (product: project RRF, navigation last)", item, [h.rowid for h in hits])
        q = Query(kb, item.question)
        (lists, fused), ms = timed(lambda: project_fused(kb, q, depth, scope))
        scores.add(kb, "project rrf(), raw", item, fused, ms)
        same_routes += combined_routes(client, name, q, depth, expr) == lists
        for label, ranker in rankers.items():
            ids, ms = timed(lambda: milvus_fused(client, name, q, depth, expr, ranker, 2 * TOP_K + NAV_SLACK))
            scores.add(kb, f"{label}, raw", item, ids, ms)
            scores.add(kb, f"{label} + product order", item, product_order(kb, ids))
    return scores, same_routes


def table(scores: Scores, n: int) -> str:
    lines = ["| fusion | recall@1 | recall@5 | MRR | fusion ms p50 / p95 |", "|---|---|---|---|---|"]
    for method, ranks in scores.ranks.items():
        ms = scores.ms.get(method)
        lat = f"{np.percentile(ms, 50):.1f} / {np.percentile(ms, 95):.1f}" if ms else "—"
        lines.append(f"| {method} | {recall_at(ranks, 1):.3f} | {recall_at(ranks, TOP_K):.3f} | {mrr(ranks):.3f} "
                     f"| {lat} |")
    return "\n".join(lines) + f"\n\n{n} answerable doc questions"


def differences(scores: Scores, items: Sequence[EvalItem], a: str, b: str) -> str:
    """The questions whose first right hit two methods rank differently."""
    diff = [f"{i.id} ({x} vs {y})" for i, x, y in zip(items, scores.ranks[a], scores.ranks[b]) if x != y]
    return f"{a} vs {b}, rank of the first right hit differs: " + (", ".join(diff) or "none")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True, help="sample_kb ingested with the milvus backends")
    ap.add_argument("--eval", type=Path, default=ROOT / "eval" / "sample.jsonl")
    ap.add_argument("--dense-weight", type=float, default=0.5, help="WeightedRanker(w, 1 - w)")
    args = ap.parse_args()
    kb = open_kb(args.data_dir)
    items = doc_items(args.eval)
    name = f"{kb.settings.retrieval.milvus.collection}_fusionbench"
    build_combined(kb, name)
    try:
        scores, same = evaluate(kb, items, name, args.dense_weight)
    finally:
        kb.retriever.keywords.collection.client.drop_collection(name)
    print(table(scores, len(items)))
    print(f"temporary collection's dense and BM25 lists = the product's for {same}/{len(items)} questions")
    print(differences(scores, items, "project rrf(), raw", f"Milvus RRFRanker({kb.settings.retrieval.rrf_k}), raw"))


if __name__ == "__main__":
    main()
