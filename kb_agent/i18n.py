"""Language of a text: answers and prompts follow the language the user writes in."""

from __future__ import annotations

import re
from typing import Literal

_CJK = re.compile(r"[\u3400-\u9fff]")


def language_of(text: str, default: Literal["zh", "en"] = "en") -> Literal["zh", "en"]:
    if _CJK.search(text or ""):
        return "zh"
    return "en" if re.search(r"[A-Za-z]", text or "") else default
