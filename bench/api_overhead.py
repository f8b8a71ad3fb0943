#!/usr/bin/env python3
"""API overhead per answer (issue #14): what the HTTP APIs add on top of answering itself.

Offline mode (no LLM configured: the offline router answers). Writes a temporary config (a
temporary data directory, the project's glossary and facts, ``llm: offline``), creates a user
and an API key with the same AuthService `kb-agent keys create` uses, and starts the real
server as a separate process (``kb-agent serve`` on that config; its first start ingests the
sample knowledge base, as a real first start does). Then, for the same questions:

- **in-process**: ``Answerer.ask`` in this process on the same data directory (what every
  channel does to answer), from 1 thread and from N threads at once;
- ``POST /v1/chat/completions`` (non-streamed and streamed, read to ``[DONE]``) with the key;
- ``POST /api/ask`` with the key (and with the session cookie at 1 client);

each from 1 client and from N concurrent clients (threads with keep-alive httpx clients).
The overhead: the median over the API's answers of (its latency − the in-process median for the
same question at the same concurrency), and the API's p95 − the in-process p95.

    flock /tmp/kb-heavy.lock .venv/bin/python bench/api_overhead.py            # 1 and 20 clients
    .venv/bin/python bench/api_overhead.py --rounds 2 --embedder sentence-transformers   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

# The chat's example questions: glossary terms, a fact, document passages (offline routes).
QUESTIONS = ["什么是AAP？", "AM代表什么职位？", "在产品售后流程里，AM负责哪些事情？", "ESS培训每月几次？",
             "What does GWS stand for?", "How many days do customers have to return a printer?"]
USER, PASSWORD = "bench", "bench-password-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_config(tmp: Path, port: int, embedder: str | None) -> Path:
    config = {"data_dir": str(tmp / "data"), "llm": "offline",
              "glossary": {"dir": str(ROOT / "glossary")}, "facts": {"dir": str(ROOT / "facts")},
              "web": {"host": "127.0.0.1", "port": port, "admin_password": "bench-admin-1",
                      "max_failed_signins": 100000, "ingest_sample_kb": True}}
    if embedder:
        config["embedder"] = {"backend": embedder}
    path = tmp / "kb_agent.yaml"
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    return path


def _env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KB_AGENT_", "DASHSCOPE_", "QWEN_AGENT_"))}
    return {**env, "KB_AGENT_CONFIG": str(config), "GRADIO_ANALYTICS_ENABLED": "False"}


def _start_server(config: Path, url: str, log: Path) -> subprocess.Popen:
    import httpx

    exe = Path(sys.prefix) / "bin" / "kb-agent"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "kb_agent"]
    proc = subprocess.Popen(cmd + ["serve"], env=_env(config), cwd=config.parent,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 900  # the first start ingests the sample knowledge base
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}); see {log}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/login", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(f"the server did not start in 15 minutes; see {log}")


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def _run(clients: int, per_client: int,
         make: Callable[[], Callable[[str], None]]) -> tuple[list[tuple[str, float]], float]:
    """(question, latency s) of clients × per_client calls, each client with its own connection."""

    def client(i: int) -> list[tuple[str, float]]:
        call = make()
        out = []
        for n in range(per_client):
            q = QUESTIONS[(i + n) % len(QUESTIONS)]
            t0 = time.perf_counter()
            call(q)
            out.append((q, time.perf_counter() - t0))
        return out

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        lat = [x for r in pool.map(client, range(clients)) for x in r]
    return lat, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 20], help="Concurrency levels.")
    ap.add_argument("--rounds", type=int, default=8, help="Rounds per path and concurrency level: at 1 client a "
                    "round asks every question once; at N clients each client asks max(1, questions/N).")
    ap.add_argument("--embedder", default=None, help="Embedder backend (default: the configured default).")
    args = ap.parse_args()

    import httpx

    import qwen_agent.log  # noqa: F401  (configures its logger; quiet it afterwards)
    import logging

    logging.getLogger("qwen_agent_logger").setLevel(logging.WARNING)
    from kb_agent.answering import Answerer
    from kb_agent.auth import AuthService
    from kb_agent.config import load_settings
    from kb_agent.kb import KnowledgeBase

    with tempfile.TemporaryDirectory(prefix="kb-api-bench-") as tmp_name:
        tmp = Path(tmp_name)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        config = _write_config(tmp, port, args.embedder)
        settings = load_settings(config)
        auth = AuthService(settings)
        auth.ensure_first_admin()
        auth.users.add(USER, PASSWORD)
        key = auth.keys.create(USER, "bench")[1]
        t0 = time.perf_counter()
        server = _start_server(config, url, tmp / "server.log")
        started = time.perf_counter() - t0
        try:
            token = httpx.post(url + "/login", data={"username": USER, "password": PASSWORD}).cookies["kb_session"]
            kb = KnowledgeBase(settings)
            answerer = Answerer(settings, kb)
            principal = auth.users.get(USER).principal()
            bearer = {"Authorization": f"Bearer {key}"}

            def in_process():
                return lambda q: answerer.ask(q, principal)

            def http(path: str, body: Callable[[str], dict], headers=None, cookies=None, stream=False):
                def make():
                    c = httpx.Client(base_url=url, headers=headers, cookies=cookies, timeout=300)

                    def call(q: str) -> None:
                        if stream:
                            with c.stream("POST", path, json=body(q)) as r:
                                r.raise_for_status()
                                tail = b"".join(r.iter_bytes())[-16:]
                            if b"[DONE]" not in tail:
                                raise RuntimeError("stream did not end with [DONE]")
                            return
                        r = c.post(path, json=body(q))
                        r.raise_for_status()

                    return call

                return make

            def chat(q: str) -> dict:
                return {"model": "kb-agent", "messages": [{"role": "user", "content": q}]}

            paths = {
                "in-process `Answerer.ask`": in_process,
                "`POST /v1/chat/completions`": http("/v1/chat/completions", chat, bearer),
                "`POST /v1/chat/completions` (stream)": http("/v1/chat/completions", lambda q: {**chat(q), "stream": True},
                                                             bearer, stream=True),
                "`POST /api/ask` (key)": http("/api/ask", lambda q: {"question": q}, bearer),
                "`POST /api/ask` (cookie)": http("/api/ask", lambda q: {"question": q}, cookies={"kb_session": token}),
            }
            for make in paths.values():  # warm-up: indexes, models, first connections
                _run(1, len(QUESTIONS), make)
            rows, base = [], {}
            for clients in args.clients:
                # Rounds interleave the paths, so a burst of load from elsewhere hits all of them.
                per_client = max(1, len(QUESTIONS) // clients)
                names = [n for n in paths if clients == 1 or "cookie" not in n]
                runs: dict[str, tuple[list, float]] = {n: ([], 0.0) for n in names}
                for _round in range(args.rounds):
                    for name in names:
                        timed, wall = _run(clients, per_client, paths[name])
                        runs[name] = (runs[name][0] + timed, runs[name][1] + wall)
                for name in names:
                    timed, wall = runs[name]
                    lat = [t for _q, t in timed]
                    p50, p95 = statistics.median(lat), _pct(lat, 0.95)
                    if name.startswith("in-process"):
                        by_question = {q: statistics.median([t for q2, t in timed if q2 == q]) for q, _t in timed}
                        base[clients] = (p95, by_question)
                        over = "—"
                    else:  # each answer against the in-process median of the same question
                        b95, by_question = base[clients]
                        paired = statistics.median([t - by_question[q] for q, t in timed])
                        over = f"{paired * 1e3:+.1f} / {(p95 - b95) * 1e3:+.1f} ms"
                    rows.append(f"| {name} | {clients} | {len(lat)} | {p50 * 1e3:.1f} ms | {p95 * 1e3:.1f} ms "
                                f"| {over} | {len(lat) / wall:.1f}/s |")
            from kb_agent.api.bearer import caller_for_key, note_use

            auth_ms = []
            for _ in range(50):  # what a key costs per request: resolve it, note its use
                t0 = time.perf_counter()
                note_use(kb.usage, caller_for_key(auth, key, "127.0.0.1"), "bench")
                auth_ms.append((time.perf_counter() - t0) * 1e3)
        finally:
            server.terminate()
            server.wait(30)

    print(f"API overhead, offline mode: {len(QUESTIONS)} questions (terms, a fact, documents) on the sample "
          f"KB; embedder {settings.embedder.backend}; {os.cpu_count()} CPUs; server start incl. sample "
          f"ingestion {started:.0f} s\n")
    print(f"key check + usage-log entry per request (in-process, SQLite): p50 {statistics.median(auth_ms):.1f} ms, "
          f"p95 {_pct(auth_ms, 0.95):.1f} ms\n")
    print("| path | clients | answers | p50 | p95 | overhead: median (paired) / p95 | throughput |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
