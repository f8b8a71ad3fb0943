"""OCR with rapidocr (ONNX models shipped in the package): one engine per process, loaded on
first use. Images are prepared with OpenCV (grey, upscaled when small, downscaled when huge).

``ocr_lines(img, timeout_s=...)`` runs the engine in a thread and gives up waiting after
``timeout_s`` (OcrTimeout). The abandoned call cannot be stopped and keeps the engine, so the
process does no more OCR: :func:`engine_stuck` tells a parser worker to retire. Time spent
here is counted to the "ocr" stage (kb_agent/ingest/stages.py).
"""

from __future__ import annotations

import threading

import numpy as np

from kb_agent.errors import OcrTimeout, ParseError
from kb_agent.ingest import stages

_engine = None
_lock = threading.Lock()
_stuck = False  # a call that timed out still runs in its thread
MAX_SIDE = 2500


def _get():
    global _engine
    with _lock:
        if _engine is None:
            try:
                import logging

                from rapidocr import RapidOCR
            except ImportError as exc:
                raise ParseError("", "OCR unavailable: pip install 'kb-agent[ocr]'") from exc
            logging.getLogger("RapidOCR").setLevel(logging.WARNING)
            _engine = RapidOCR(params={"Global.log_level": "warning"})
        return _engine


def prepare(img: np.ndarray) -> np.ndarray:
    """BGR/grey/BGRA array -> BGR array of a size the detector likes."""
    import cv2

    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    h, w = img.shape[:2]
    scale = 1.0
    if max(h, w) > MAX_SIDE:
        scale = MAX_SIDE / max(h, w)
    elif max(h, w) < 600:
        scale = 600 / max(h, w)
    if scale != 1.0:
        img = cv2.resize(img, (max(1, int(w * scale)), max(1, int(h * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    return np.ascontiguousarray(img)


def engine_stuck() -> bool:
    """True after a timed-out call: this process can do no more OCR."""
    return _stuck


def _run(img: np.ndarray, timeout_s: float | None):
    global _stuck
    if _stuck:
        raise OcrTimeout("", "OCR engine still busy with a page that timed out")
    engine = _get()
    if timeout_s is None:
        return engine(img)
    box: dict = {}

    def work() -> None:
        try:
            box["result"] = engine(img)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=work, daemon=True, name="kb-agent-ocr")
    t.start()
    t.join(timeout_s)
    if t.is_alive():
        _stuck = True
        raise OcrTimeout("", f"OCR took over {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    return box["result"]


def ocr_lines(img: np.ndarray, min_score: float = 0.5, timeout_s: float | None = None) -> list[str]:
    """Recognised text lines in reading order (top to bottom, left to right). ``timeout_s``:
    raise OcrTimeout when the engine takes longer (see the module docstring)."""
    with stages.timed("ocr", reserve_s=timeout_s or 0.0):
        result = _run(prepare(img), timeout_s)
    txts = getattr(result, "txts", None) or ()
    boxes = getattr(result, "boxes", None)
    scores = getattr(result, "scores", None) or (1.0,) * len(txts)
    items = []
    for k, (t, s) in enumerate(zip(txts, scores)):
        if s < min_score or not t.strip():
            continue
        y, x = (float(boxes[k][:, 1].min()), float(boxes[k][:, 0].min())) if boxes is not None else (k, 0)
        items.append((y, x, t.strip()))
    # Group boxes into lines: same line when the top edges are close.
    items.sort()
    lines: list[list[tuple[float, float, str]]] = []
    for it in items:
        if lines and abs(lines[-1][0][0] - it[0]) < 12:
            lines[-1].append(it)
        else:
            lines.append([it])
    return [" ".join(t for _, _, t in sorted(line, key=lambda i: i[1])) for line in lines]
