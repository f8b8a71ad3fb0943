"""Seconds per ingestion stage: parse, OCR, ASR (in the parser workers), embed and write (in
the main process).

OCR and ASR run deep inside a parser, so they are measured with :func:`timed` into a clock
kept per process (a parser worker parses one file at a time); :func:`take` reads and resets
it. A worker also installs a *listener* that hears each measured span as it ends, so the
parse timeout can leave OCR time out (OCR has its own budgets, ``ingest.ocr_*``).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable, Iterator

STAGES = ("parse", "ocr", "asr", "embed", "write")
#: Stages measured inside a parse (the rest of the worker's time is "parse").
INNER = ("ocr", "asr")

_spent: dict[str, float] = {}
_listener: Callable[[str, float], None] | None = None


def empty() -> dict[str, float]:
    return dict.fromkeys(STAGES, 0.0)


@contextmanager
def timed(stage: str, reserve_s: float = 0.0) -> Iterator[None]:
    """Count the block's wall time to ``stage``. ``reserve_s``: time announced to the listener
    when the block starts (a bound the block will not exceed), corrected when it ends."""
    if _listener and reserve_s:
        _listener(stage, reserve_s)
    t0 = time.perf_counter()
    try:
        yield
    finally:
        dt = time.perf_counter() - t0
        _spent[stage] = _spent.get(stage, 0.0) + dt
        if _listener:
            _listener(stage, dt - reserve_s)


def take() -> dict[str, float]:
    """The inner stages' seconds since the last call (and reset them)."""
    out = {s: _spent.get(s, 0.0) for s in INNER}
    _spent.clear()
    return out


def set_listener(fn: Callable[[str, float], None] | None) -> None:
    """``fn(stage, seconds)`` is called as measured spans start (their reserve) and end."""
    global _listener
    _listener = fn


def add(into: dict[str, float], more: dict[str, float]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, 0.0) + v
