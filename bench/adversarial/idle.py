"""Class 12 (always last): the server after the attacks.

- Idle CPU: once every client is gone, the server process (it runs in this process, so the
  figure also covers the harness's own threads) must use about nothing — bench/idle_cpu.py's
  measurement (CPU seconds per wall second), taken after everything above.
- The log: no traceback and no "No response returned" from any request of any class (a
  hostile request must end in a refusal, not an unhandled error).
- The server still answers: alice's public question, fiona's restricted one."""

from __future__ import annotations

import re
import time

from bench.adversarial.harness import PUBLIC_QUESTION, SECRET_QUESTION, Env, Tally

NUMBER, NAME = 12, "idle server and the log"

IDLE_BUDGET = 0.03   # of one core
_GRADIO_REFUSAL = re.compile(r"InvalidPathError|gradio\.exceptions\.Error: \"?(Value: .* is not in the list of "
                             r"choices|Invalid file type)")


def run(env: Env, t: Tally) -> None:
    from bench.idle_cpu import _cpu_share

    status, text = env.ask(env.client("alice"), PUBLIC_QUESTION, "alice")
    t.check(status == 200 and "thirty days" in text and not env.found(text),
            f"after the attacks alice's public question → {status} {env.found(text)}")
    status, text = env.ask(env.client("fiona"), SECRET_QUESTION, "fiona")
    t.check(status == 200 and env.marks["finance"] in text, f"after the attacks fiona's question → {status}")
    for c in env._clients:      # nobody is connected while the server idles
        c.close()
    env._clients.clear()
    time.sleep(3.0)              # background reloads and queue wake-ups settle
    seconds = 5.0 if env.quick else 15.0
    share = _cpu_share(seconds)
    t.check(share < IDLE_BUDGET, f"idle CPU {share * 100:.2f} % of a core over {seconds:g} s "
                                 f"(budget {IDLE_BUDGET * 100:g} %)")
    t.note(f"idle CPU after the attacks: {share * 100:.2f} % of one core over {seconds:g} s")
    # Gradio logs its own refusals (a file value it will not move, a value not among a dropdown's
    # choices, a file type the component does not take) with a traceback: the defence held,
    # the log is noisy. Counted, not failed; anything else is a request that crashed.
    refusals, crashes = [], []
    for label, text in env.logs.records + env.logs.stderr:
        if "Traceback (most recent call last)" in text or "No response returned" in text:
            lines = [ln for ln in text.strip().splitlines() if ln.strip()]
            summary = f"{lines[0][:160]} … {lines[-1][:200]}"
            (refusals if _GRADIO_REFUSAL.search(text) else crashes).append((label, summary, text))
    labels = list(dict.fromkeys([label for label, _ in env.logs.records + env.logs.stderr] + ["setup"]))
    for label in labels:
        mine = [p for lab, p, _ in crashes if lab == label]
        t.check(not mine, f"the log during {label!r}: {len(mine)} traceback(s), e.g. {mine[:2]}")
    if refusals:
        kinds = sorted({m.group(0)[:40] for _, _, text in refusals for m in [_GRADIO_REFUSAL.search(text)] if m})
        t.note(f"{len(refusals)} refusal(s) that Gradio logged with a traceback ({', '.join(kinds)}); "
               f"see docs/security.md")
