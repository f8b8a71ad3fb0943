#!/usr/bin/env python3
"""The adversarial test of the web app (issue #9): attack the real server, count what got through.

Starts kb-agent's web app (uvicorn, in-process, as the browser tests do) in a temporary
directory with users admin / alice (employee) / fiona (finance), a document tree with a public
and a finance-only folder, and the fake LLM; then runs twelve classes of attack and prints a
table (class, tried, failed) with the details of every failure below it. Exit status 1 if any
defence failed. The classes live in bench/adversarial/, one module each; docs/security.md
("The adversarial test") describes them.

    .venv/bin/python bench/adversarial.py            # full run, a few minutes on 2 cores
    .venv/bin/python bench/adversarial.py --quick    # short run
    .venv/bin/python bench/adversarial.py --json     # machine output
    .venv/bin/python bench/adversarial.py --only 3,4 # some classes (idle CPU and the log check: 12)
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":   # parser workers are spawned processes that re-import this file
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.adversarial.run import main

    sys.exit(main())
