"""Class 9: concurrent clients while an admin ingests.

The admin ingests a new folder through the console — public files and a finance-only
subfolder whose texts carry new restricted markers — while 30 clients (10 in the quick run)
ask at the same time: alice and fiona, through /api/ask and through the chat's Gradio
endpoint, the restricted question, the public one and questions about the files being added,
and alice keeps trying to download the new restricted files.

Every request is one try: it must succeed (HTTP 200, a completed chat turn), and nothing
restricted may reach alice — in a reply, a download, or the tool results the model was shown
during her turn. fiona's answers to the restricted question must hold its marker (the
control: the attack can see what it looks for). The ingestion must finish with every file ok."""

from __future__ import annotations

import random
import threading
import time

from bench.adversarial.harness import PUBLIC_QUESTION, SECRET_QUESTION, Env, Tally, mark, percentile, write

NUMBER, NAME = 9, "concurrent clients during ingestion"


def _corpus(env: Env, n_public: int, n_secret: int) -> tuple[list[str], list[str]]:
    base = env.root / "concurrent"
    topics = ["toner recycling", "field service visits", "spare parts ordering", "warranty claims",
              "installation checklists", "firmware updates", "dealer training", "invoice disputes"]
    public = []
    for i in range(n_public):
        topic = topics[i % len(topics)]
        body = "\n\n".join(f"## Step {k}\n\nFor {topic}, the regional team {i} checks item {k} before the visit and "
                           f"records the result in the service portal within two working days." for k in range(6))
        write(base / "public" / f"process_{i:02d}.md", f"# {topic.title()} process {i}\n\n{body}\n")
        public.append(f"public/process_{i:02d}.md")
    write(base / "restricted" / "_access.yaml", "groups: [finance]\n")
    secret_sources = []
    for i in range(n_secret):
        secret = mark(f"CONC{i}")
        env.forbidden.append(secret)
        write(base / "restricted" / f"rebate_{i:02d}.md",
              f"# Dealer rebate {i}\n\nThe confidential dealer rebate code for toner recycling region {i} is "
              f"{secret}.\n")
        secret_sources.append(f"restricted/rebate_{i:02d}.md")
    return public, secret_sources


def run(env: Env, t: Tally) -> None:
    n_clients = 10 if env.quick else 30
    public, restricted = _corpus(env, 12 if env.quick else 40, 4 if env.quick else 10)
    rng = random.Random(env.seed)
    lock = threading.Lock()
    latencies: list[float] = []
    counts = {"requests": 0}
    stop = threading.Event()
    ingest_out: dict = {}

    def ingest() -> None:
        t0 = time.perf_counter()
        try:
            rows, summary, msgs = env.ingest_via_console(env.root / "concurrent", timeout=900)
            ingest_out.update(rows=rows, summary=summary, msgs=msgs)
        except Exception as exc:  # noqa: BLE001 - reported below
            ingest_out.update(rows=None, error=repr(exc))
        ingest_out["seconds"] = time.perf_counter() - t0

    def client(k: int) -> None:
        user = "alice" if k % 3 else "fiona"       # two thirds employees without the group
        c = env.client(user)
        r = random.Random(env.seed * 1000 + k)
        while not stop.is_set():
            kind = r.choice(["api", "api", "chat", "files"] if user == "alice" else ["api", "chat"])
            q = r.choice([SECRET_QUESTION, PUBLIC_QUESTION, "doc: confidential dealer rebate code toner recycling",
                          "What does the regional team record in the service portal for warranty claims?"])
            t0 = time.perf_counter()
            try:
                if kind == "files":
                    src = r.choice(restricted + public[:3])
                    resp = c.get("/files", params={"source": src}, timeout=60)
                    ok, text = resp.status_code in (200, 404), resp.text
                    if src in restricted and resp.status_code == 200:
                        ok = False
                    what = f"GET /files {src} → {resp.status_code}"
                elif kind == "api":
                    status, text = env.ask(c, q, user)
                    ok, what = status == 200, f"/api/ask → {status}"
                else:
                    done, text = env.chat(c, q, user)
                    ok, what = done, f"chat turn completed={done}"
            except Exception as exc:  # noqa: BLE001 - a request that errors is a failure
                ok, text, what = False, "", f"{kind} raised {type(exc).__name__}: {exc}"
            spent = time.perf_counter() - t0
            leaked = env.found(text) if user == "alice" else []
            with lock:
                counts["requests"] += 1
                latencies.append(spent)
                t.check(ok and not leaked, f"{user} {what[:160]}" + (f", leaked {leaked}" if leaked else ""))
                if user == "fiona" and q == SECRET_QUESTION and ok:
                    t.check(env.marks["finance"] in text, f"control: fiona's {kind} answer lacks the finance marker")

    t0 = time.perf_counter()
    ingester = threading.Thread(target=ingest, daemon=True)
    clients = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(n_clients)]
    for th in clients:
        th.start()
        time.sleep(rng.uniform(0.0, 0.1))
    time.sleep(1.0)
    ingester.start()
    ingester.join(900)
    time.sleep(3.0 if env.quick else 10.0)   # and a while after it, with everything indexed
    stop.set()
    for th in clients:
        th.join(180)
    spent = time.perf_counter() - t0
    rows = ingest_out.get("rows")
    t.check(rows is not None, f"the ingestion during the load did not complete: {ingest_out.get('error') or ''}")
    bad = [r for r in rows or [] if r[1] != "ok"]
    t.check(bool(rows) and not bad and len(rows) == len(public) + len(restricted),
            f"ingestion report: {len(rows or [])} lines, not ok: {bad[:3]}")
    for src in restricted:
        rec = env.ctx.kb.chunk_store.source(src)
        t.check(rec is not None and tuple(rec.access_groups) == ("finance",),
                f"{src} indexed with {rec and rec.access_groups}")
    alive = [th for th in clients if th.is_alive()]
    t.check(not alive, f"{len(alive)} client(s) still waiting after the run")
    t.note(f"{n_clients} clients, {counts['requests']} requests in {spent:.0f} s while the admin ingested "
           f"{len(public) + len(restricted)} files ({ingest_out.get('seconds', 0):.0f} s); latency median "
           f"{percentile(latencies, 0.5):.1f} s, p95 {percentile(latencies, 0.95):.1f} s, "
           f"max {max(latencies, default=0):.1f} s")
