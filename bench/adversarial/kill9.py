"""Class 10: kill -9 during ingestion.

A real ``kb-agent ingest`` process (its own data directory, the server's embedder) is killed
with SIGKILL at random moments — some by time since start, some once a random number of files
were committed — ten times (three in the quick run); between kills the corpus changes (a file
edited, one deleted, one added). After every kill the store must open and be consistent: the
SQLite integrity check, every manifest row matching its chunks, every chunk with its vector,
every indexed file ok and holding its text as it was when it was read. Then a rerun must
complete; afterwards the store must hold exactly the files on disk with their final text, the
search index built from it must find them, and one more run must find nothing to do."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.adversarial.harness import Env, Tally, write

NUMBER, NAME = 10, "kill -9 during ingestion"


def _word(i: int) -> str:
    """A made-up word per file, so the search can tell near-identical files apart."""
    n, out = i * 7919 + 12345, ""
    for _ in range(6):
        n, r = divmod(n, 26)
        out += "bcdfghjklmnpqrstvwxzaeiouy"[r]
    return out


def _text(i: int, version: int) -> str:
    body = "\n\n".join(f"## Part {k}\n\nRecord {i}-{version}-{k}: the service engineer of district {i} checks "
                       f"the fuser unit and the paper path, version {version}." for k in range(5))
    return f"# Service record {i}\n\nkill9-token-{i}-v{version}\n\nThe district codename is {_word(i)}.\n\n{body}\n"


class Corpus:
    def __init__(self, root: Path, n: int) -> None:
        self.root, self.versions = root, {}
        for i in range(n):
            self.put(i, 0)

    def put(self, i: int, version: int) -> None:
        write(self.root / f"record_{i:03d}.md", _text(i, version))
        self.versions[i] = version

    def drop(self, i: int) -> None:
        (self.root / f"record_{i:03d}.md").unlink()
        del self.versions[i]

    def expected(self) -> dict[str, str]:
        return {f"record_{i:03d}.md": f"kill9-token-{i}-v{v}" for i, v in self.versions.items()}


def _generation(db: Path) -> int:
    if not db.exists():
        return -1
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
        try:
            row = con.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
            return int(row[0]) if row else -1
        finally:
            con.close()
    except sqlite3.Error:
        return -1


def _start(env: Env, data: Path, docs: Path) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("kb-agent")
    extra = {"KB_AGENT_EMBEDDER__BACKEND": "sentence-transformers", "KB_AGENT_GLOSSARY__DIR": str(env.glossary_dir),
             "KB_AGENT_FACTS__DIR": str(env.root / "kill9-facts"), "KB_AGENT_INGEST__CHUNK_TOKENS": "120"}
    return subprocess.Popen([str(exe), "--data-dir", str(data), "ingest", str(docs), "--json", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            cwd=str(env.root / "kill9-cwd"), env={**os.environ, **extra})


def _kill(proc: subprocess.Popen, db: Path, by_time: float | None, by_generation: int | None) -> str:
    t0 = time.monotonic()
    while proc.poll() is None and time.monotonic() - t0 < 300:
        if by_time is not None and time.monotonic() - t0 >= by_time:
            break
        if by_generation is not None and _generation(db) >= by_generation:
            break
        time.sleep(0.01)
    when = f"{time.monotonic() - t0:.1f} s, generation {_generation(db)}"
    finished = proc.poll() is not None
    if not finished:
        os.kill(proc.pid, signal.SIGKILL)        # the main process only, as a crash would
    proc.wait(30)
    time.sleep(0.3)
    try:
        os.killpg(proc.pid, signal.SIGKILL)      # parser workers it leaves behind
    except ProcessLookupError:
        pass
    return ("finished before the kill at " if finished else "killed at ") + when


def _consistent(t: Tally, db: Path, model_id: str, corpus_then: dict[str, str], where: str) -> int:
    """Check the store after a kill; returns the number of files indexed."""
    from kb_agent.store.chunks import ChunkStore

    if not db.exists():
        t.check(True, "")
        return 0
    try:
        store = ChunkStore(db)
    except Exception as exc:  # noqa: BLE001 - an unopenable store is the failure
        t.check(False, f"{where}: the store does not open: {exc!r}")
        return 0
    try:
        problems = store.integrity_problems()
        t.check(not problems, f"{where}: {problems[:3]}")
        ids, vecs = store.vectors(model_id)
        t.check(len(ids) == store.count() == vecs.shape[0],
                f"{where}: {store.count()} chunks but {len(ids)} vectors for {model_id}")
        sources = store.sources()
        for rec in sources:
            text = " ".join(c.text for _, c in store.chunks_for_source(rec.path))
            tokens = [tok for tok in text.split() if tok.startswith("kill9-token-")]
            ok = rec.status == "ok" and rec.chunks > 0 and len(set(tokens)) == 1
            t.check(ok, f"{where}: {rec.path} {rec.status} ({rec.reason}), {rec.chunks} chunks, tokens {set(tokens)}")
        return len(sources)
    finally:
        store.close()


def run(env: Env, t: Tally) -> None:
    rng = random.Random(env.seed)
    n_files = 24 if env.quick else 60
    kills = 3 if env.quick else 10
    docs, data = env.root / "kill9-docs", env.root / "kill9-data"
    (env.root / "kill9-cwd").mkdir()
    (env.root / "kill9-facts").mkdir()
    db = data / "kb.sqlite3"
    corpus = Corpus(docs, n_files)
    model_id = env.ctx.kb.embedder.model_id
    mid_run = 0
    next_id = n_files
    for k in range(kills):
        by_time = rng.uniform(0.5, 12.0) if k % 2 == 0 else None
        by_gen = None if by_time is not None else rng.randint(1, max(2, n_files // 2)) + max(0, _generation(db))
        proc = _start(env, data, docs)
        when = _kill(proc, db, by_time, by_gen)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        t.check("Traceback" not in err or "Killed" in err, f"kill {k + 1}: the ingest process printed {err[-300:]!r}")
        n = _consistent(t, db, model_id, corpus.expected(), f"after kill {k + 1} ({when})")
        if 0 < n < len(corpus.versions):
            mid_run += 1
        # the corpus moves on between crashes
        change = rng.choice(["edit", "delete", "add"])
        if change == "edit" or len(corpus.versions) < 5:
            i = rng.choice(sorted(corpus.versions))
            corpus.put(i, corpus.versions[i] + 1)
        elif change == "delete":
            corpus.drop(rng.choice(sorted(corpus.versions)))
        else:
            corpus.put(next_id, 0)
            next_id += 1
    t.check(mid_run > 0, f"control: none of the {kills} kills landed in the middle of a run")
    t.note(f"{kills} kills, {mid_run} of them in the middle of a run ({n_files} files)")
    # the rerun completes and the store is exactly the corpus
    proc = _start(env, data, docs)
    out, err = proc.communicate(timeout=900)
    t.check(proc.returncode == 0, f"the rerun after the kills exited {proc.returncode}: {err.decode()[-400:]!r}")
    try:
        report = json.loads(out)
    except ValueError:
        report = {"files": []}
    bad = [f for f in report["files"] if f["status"] not in ("ok", "unchanged")]
    t.check(not bad and len(report["files"]) == len(corpus.versions),
            f"the rerun: {len(report['files'])} lines for {len(corpus.versions)} files, not ok: {bad[:3]}")
    _final(env, t, db, model_id, corpus)
    proc = _start(env, data, docs)
    out, err = proc.communicate(timeout=600)
    try:
        statuses = {f["status"] for f in json.loads(out)["files"]}
    except ValueError:
        statuses = {f"unreadable output {out[:80]!r}"}
    t.check(statuses == {"unchanged"}, f"a run after the rerun still found work: {statuses}")


def _final(env: Env, t: Tally, db: Path, model_id: str, corpus: Corpus) -> None:
    from kb_agent.config import load_settings
    from kb_agent.kb import KnowledgeBase
    from kb_agent.store.chunks import ChunkStore

    expected = corpus.expected()
    store = ChunkStore(db)
    try:
        got = {r.path for r in store.sources()}
        t.check(got == set(expected), f"after the rerun the store has {sorted(got - set(expected))[:3]} extra and "
                                      f"lacks {sorted(set(expected) - got)[:3]}")
        for path, token in expected.items():
            text = " ".join(c.text for _, c in store.chunks_for_source(path))
            tokens = {tok for tok in text.split() if tok.startswith("kill9-token-")}
            t.check(tokens == {token}, f"after the rerun {path} holds {tokens or 'nothing'}, not {token}")
        t.check(not store.integrity_problems(), f"after the rerun: {store.integrity_problems()[:3]}")
    finally:
        store.close()
    # the search index built from that store (as a server would at start) finds the files
    settings = load_settings(data_dir=db.parent, glossary={"dir": env.glossary_dir},
                             facts={"dir": env.root / "kill9-facts"}, embedder={"backend": "sentence-transformers"})
    kb = KnowledgeBase(settings)
    try:
        for path, token in list(expected.items())[:: max(1, len(expected) // 6)]:
            i = int(path.split("_")[1].split(".")[0])
            result = kb.retrieve(f"district codename {_word(i)}", top_k=10)
            sources = {h.chunk.source for h in result.hits}
            t.check(path in sources, f"search after the rerun does not find {path} ({sorted(sources)[:3]})")
            t.check(bool(sources) and sources <= set(expected), f"search after the rerun: {sorted(sources)[:4]} "
                                                                 f"(stale or missing files)")
    finally:
        kb.chunk_store.close()
