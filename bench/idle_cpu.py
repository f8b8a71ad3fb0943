#!/usr/bin/env python3
"""CPU use of an idle web server: Gradio's own queue polling (1 ms) against ours, in one run.

Starts the real app (uvicorn, in-process, temporary data directory, offline mode), lets it
settle, then measures the process's CPU seconds per wall second while nobody uses it, first
with Gradio's default ``Queue.sleep_when_free`` and then with kb-agent's.

    .venv/bin/python bench/idle_cpu.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def _cpu_share(seconds: float) -> float:
    c0, t0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return (time.process_time() - c0) / (time.monotonic() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="idle seconds measured per setting")
    args = ap.parse_args()

    import uvicorn

    from kb_agent.config import load_settings
    from kb_agent.ui.app import build_context, create_app
    from kb_agent.ui.gradio_guard import PROGRESS_SLEEP_S, QUEUE_IDLE_SLEEP_S
    from kb_agent.ui.server import uvicorn_config

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp) / "data", facts={"dir": Path(tmp) / "facts"},
                                 web={"ingest_sample_kb": False, "admin_password": "bench-admin-1", "port": 0})
        ctx = build_context(settings)
        ctx.auth.ensure_first_admin()
        app = create_app(ctx)
        server = uvicorn.Server(uvicorn_config(settings, app))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        queues = [b._queue for b in app.state.gradio_apps.values()]
        time.sleep(2)  # start-up work settles
        print(f"idle CPU of the web server, {args.seconds:g} s per setting, {os.cpu_count()} CPUs")
        settings_to_compare = (("gradio default (1 ms / 10 ms polls)", 0.001, 0.01),
                               (f"kb-agent ({QUEUE_IDLE_SLEEP_S * 1000:g} ms / {PROGRESS_SLEEP_S * 1000:g} ms polls)",
                                QUEUE_IDLE_SLEEP_S, PROGRESS_SLEEP_S))
        for label, sleep, progress in settings_to_compare:
            for q in queues:
                q.sleep_when_free, q.progress_update_sleep_when_free = sleep, progress
            time.sleep(0.5)
            print(f"  {label:36s} {_cpu_share(args.seconds) * 100:5.2f} % of one core")
        server.should_exit = True


if __name__ == "__main__":
    main()
