#!/usr/bin/env python3
"""Load test of the web app: N concurrent chat sessions over HTTP against the fake LLM.

Starts the real app (uvicorn, in-process) on 127.0.0.1 with a temporary data directory and
the fake OpenAI-compatible server (tests/fakellm.py, no delay: LLM time ~0), signs N users
in, and has each run T turns. Every turn is a full agent turn: the model asks for
glossary_lookup, the tool runs, the model answers. Two paths:

- ``--via api``: POST /api/ask (JSON, the answer in one response);
- ``--via gradio``: the chat's own Gradio endpoint through gradio_client (queue + SSE
  streaming), i.e. what the browser does.

Prints p50/p95/max turn latency, throughput and errors.

    .venv/bin/python bench/ui_load.py --sessions 8 --turns 5 --via api
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

QUESTIONS = ["AM是什么意思？", "What does AAP stand for?", "AIP是什么活动？", "GWS是什么？", "ESS是什么意思？"]
TERMS = ["AM", "AAP", "AIP", "GWS", "ESS"]


def _fake_llm():
    from tests.fakellm import Call, FakeLLM, Say, last_tool_result

    llm = FakeLLM(chunk_chars=16).start()

    def reply(request):
        if last_tool_result(request):
            return Say("根据术语表：" + last_tool_result(request)[:120])
        question = next((m["content"] for m in reversed(request["messages"]) if m["role"] == "user"), "")
        question = question if isinstance(question, str) else str(question)
        term = next((t for t in TERMS if t in question), "AM")
        return Call("glossary_lookup", {"term": term})

    llm.default = reply
    return llm


def _start_app(data_dir: Path, llm_url: str, sessions: int):
    import uvicorn

    from kb_agent.config import PROJECT_ROOT, load_settings
    from kb_agent.ui.app import build_context, create_app

    settings = load_settings(data_dir=data_dir, llm="openai",
                             openai={"model_server": llm_url, "model": "fake"},
                             glossary={"dir": PROJECT_ROOT / "glossary"},
                             facts={"dir": data_dir / "facts"},
                             agent={"tools": ["glossary_lookup"]},
                             web={"ingest_sample_kb": False, "admin_password": "bench-admin-1",
                                  "max_failed_signins": 1000})
    ctx = build_context(settings)
    ctx.auth.ensure_first_admin()
    for i in range(sessions):
        ctx.auth.users.add(f"user{i}", f"user{i}-password")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def _sign_in(base: str, i: int) -> str:
    import httpx

    r = httpx.post(base + "/login", data={"username": f"user{i}", "password": f"user{i}-password"})
    token = r.cookies.get("kb_session")
    if not token:
        raise RuntimeError(f"sign-in failed for user{i}: {r.status_code}")
    return token


def _session_api(base: str, i: int, turns: int) -> tuple[list[float], list[str]]:
    import httpx

    token = _sign_in(base, i)
    lat, errors, history = [], [], []
    with httpx.Client(base_url=base, cookies={"kb_session": token}, timeout=120) as client:
        for t in range(turns):
            q = QUESTIONS[(i + t) % len(QUESTIONS)]
            t0 = time.perf_counter()
            try:
                r = client.post("/api/ask", json={"question": q, "history": history})
                r.raise_for_status()
                body = r.json()
                if not body.get("tool_calls"):
                    raise RuntimeError("no tool call in the answer")
                history += [{"role": "user", "content": q}, {"role": "assistant", "content": body["answer"]}]
            except Exception as exc:
                errors.append(f"user{i} turn {t}: {exc}")
                continue
            lat.append(time.perf_counter() - t0)
    return lat, errors


def _session_gradio(base: str, i: int, turns: int) -> tuple[list[float], list[str]]:
    from gradio_client import Client

    token = _sign_in(base, i)
    client = Client(base + "/chat/", headers={"Cookie": f"kb_session={token}"}, verbose=False)
    lat, errors, chat = [], [], []
    for t in range(turns):
        q = QUESTIONS[(i + t) % len(QUESTIONS)]
        t0 = time.perf_counter()
        try:
            # The conversation is a gr.State: kept server-side for this client's session.
            _box, chat = client.predict(q, api_name="/_respond")
            if "glossary_lookup" not in str(chat[-2:]):
                raise RuntimeError("no tool step in the chat")
        except Exception as exc:
            errors.append(f"user{i} turn {t}: {type(exc).__name__}: {exc}")
            continue
        lat.append(time.perf_counter() - t0)
    client.close()
    return lat, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--turns", type=int, default=5)
    ap.add_argument("--via", choices=["api", "gradio"], default="api")
    args = ap.parse_args()
    import logging

    import qwen_agent.log  # noqa: F401  (configures its logger; quiet it afterwards)

    logging.getLogger("qwen_agent_logger").setLevel(logging.WARNING)
    llm = _fake_llm()
    with tempfile.TemporaryDirectory() as tmp:
        server, base = _start_app(Path(tmp) / "data", llm.url, args.sessions)
        run = _session_api if args.via == "api" else _session_gradio
        run(base, 0, 1)  # warm-up (tool modules, first requests)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.sessions) as pool:
            results = list(pool.map(lambda i: run(base, i, args.turns), range(args.sessions)))
        wall = time.perf_counter() - t0
        server.should_exit = True
    llm.stop()
    lat = sorted(x for r in results for x in r[0])
    errors = [e for r in results for e in r[1]]
    total = args.sessions * args.turns
    print(f"via={args.via} sessions={args.sessions} turns/session={args.turns} cpus={os.cpu_count()}")
    if lat:
        p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
        print(f"turns ok {len(lat)}/{total}  errors {len(errors)}")
        print(f"turn latency: p50 {statistics.median(lat) * 1000:.0f} ms  p95 {p95 * 1000:.0f} ms  "
              f"max {lat[-1] * 1000:.0f} ms  (fake LLM: ~0 ms model time; 2 model calls + 1 tool per turn)")
        print(f"throughput: {len(lat) / wall:.1f} turns/s over {wall:.1f} s")
    for e in errors[:5]:
        print("error:", e)


if __name__ == "__main__":
    main()
