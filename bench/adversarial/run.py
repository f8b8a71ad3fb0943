"""Run the attack classes against one server and print what held and what did not."""

from __future__ import annotations

import argparse
import faulthandler
import json
import random
import signal
import sys
import time
import traceback

from bench.adversarial import (admin_yaml, concurrency, gradio_files, hardening, hostile_files, idle, kill9,
                               privilege, symlinks, traversal, unauth, xss)
from bench.adversarial.harness import Env, Tally, log

#: In run order; idle must stay last (it measures the server after everything else).
CLASSES = [unauth, gradio_files, traversal, symlinks, privilege, xss, hostile_files, admin_yaml, concurrency,
           kill9, hardening, idle]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="bench/adversarial.py",
                                 description="Attack a running kb-agent server; exit 1 if any defence fails.")
    ap.add_argument("--quick", action="store_true", help="fewer tries per class (a short run)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    ap.add_argument("--only", default="", help="comma-separated class numbers, e.g. 3,4 (12 always runs last)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (kill moments, sample choices)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints where a stuck run is
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    only = {int(x) for x in args.only.split(",") if x.strip()}
    chosen = [m for m in CLASSES if not only or m.NUMBER in only]
    started = time.perf_counter()
    env = Env(quick=args.quick, seed=seed, keep=args.keep)
    log(f"adversarial test: {'quick' if args.quick else 'full'} run, seed {seed}, temp {env.root}")
    tallies: list[Tally] = []
    try:
        for mod in chosen:
            if hasattr(mod, "prepare"):
                mod.prepare(env)
        t0 = time.perf_counter()
        env.start()
        log(f"server up at {env.url} in {time.perf_counter() - t0:.1f} s")
        for mod in chosen:
            tally = Tally(mod.NUMBER, mod.NAME)
            env.logs.label = mod.NAME
            log(f"[{mod.NUMBER:2d}] {mod.NAME} …")
            t0 = time.perf_counter()
            try:
                mod.run(env, tally)
            except Exception:  # the attack code broke: visible as a failure, the other classes go on
                tally.failures.append("the attack itself crashed: " + traceback.format_exc(limit=4).strip()[-1200:])
            tally.seconds = time.perf_counter() - t0
            for label, what in env.model.leaks:
                if label == mod.NAME:
                    tally.check(False, what)
            tallies.append(tally)
            log(f"     tried {tally.tried}, failed {len(tally.failures)} ({tally.seconds:.0f} s)")
    finally:
        env.stop()
    total = time.perf_counter() - started
    if args.json:
        print(json.dumps({"quick": args.quick, "seed": seed, "seconds": round(total, 1),
                          "tried": sum(t.tried for t in tallies), "failed": sum(len(t.failures) for t in tallies),
                          "classes": [t.to_dict() for t in tallies]}, ensure_ascii=False, indent=2))
    else:
        print(table(tallies, total, args.quick, seed))
    return 1 if any(t.failures for t in tallies) or not tallies else 0


def table(tallies: list[Tally], seconds: float, quick: bool, seed: int) -> str:
    rows = [f"| {t.number} | {t.name} | {t.tried} | {len(t.failures)} | {t.seconds:.0f} s |" for t in tallies]
    out = ["| # | class | tried | failed | time |", "|---|---|---|---|---|", *rows,
           f"| | **total** ({'quick' if quick else 'full'} run, seed {seed}) | {sum(t.tried for t in tallies)} | "
           f"{sum(len(t.failures) for t in tallies)} | {seconds:.0f} s |"]
    for t in tallies:
        if t.failures:
            out += ["", f"Failures of class {t.number} ({t.name}):"]
            out += [f"  - {f}" for f in t.failures]
    notes = [(t, n) for t in tallies for n in t.notes]
    if notes:
        out += ["", "Measurements:"]
        out += [f"  - [{t.number}] {n}" for t, n in notes]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
