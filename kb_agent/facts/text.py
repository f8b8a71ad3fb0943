"""Keyword tokens for matching questions to fact phrasings and table rows.

Chinese: jieba words (company terms added as user words so "ESS培训" is not split into
letters) plus character bigrams (robust to paraphrase); Latin: lower-cased words. Only
empty function words are dropped; question words (几次, 哪里, when, where) are kept because
they tell facts about the same subject apart.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter
from typing import Iterable

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_LATIN = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*")
STOPWORDS = frozenset(
    "的 了 是 吗 呢 吧 啊 和 与 及 请问 请 一下 我们 我 你 公司 在 有 要 会 能 可以 "
    "a an the is are was were be do does did of to in on at for and or please i we you our it "
    "that this with by as can".split())

# Bigrams spanning a function character ("的打", "是多") carry no meaning.
_STOP_CHARS = frozenset("的是了吗呢吧啊")

_lock = threading.Lock()
_tokenizer = None
_user_words: set[str] = set()


_last_words: object = None


def _jieba(extra_words: Iterable[str] = ()):
    global _tokenizer, _last_words
    with _lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(60)
            _tokenizer = jieba.Tokenizer()
        if extra_words is not _last_words:  # the same tuple again: nothing new to add
            for w in extra_words:
                if w and w not in _user_words and len(w) >= 2:
                    _tokenizer.add_word(w, freq=2_000_000)
                    _user_words.add(w)
            _last_words = extra_words
        return _tokenizer


def concept_token(term: str) -> str:
    """One keyword token for a glossary term however it is written (AIP, 全印展, All in Print)."""
    import hashlib

    return "zzterm" + hashlib.blake2s(term.casefold().encode("utf-8"), digest_size=5).hexdigest()


def canonical_text(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """``text`` with each (start, end, term) span replaced by the term's concept token, so an
    acronym and its full name count as the same single word for keyword matching."""
    out, pos = [], 0
    for start, end, term in sorted(spans):
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(f" {concept_token(term)} ")
        pos = end
    out.append(text[pos:])
    return "".join(out)


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").casefold()


def tokens(text: str, extra_words: Iterable[str] = ()) -> list[str]:
    """Keyword tokens of ``text`` (with repeats): jieba words + CJK bigrams + Latin words."""
    out = words(text, extra_words)
    for run in _CJK_RUN.findall(normalize(text)):
        out.extend(b for b in (run[i:i + 2] for i in range(len(run) - 1)) if not (set(b) & _STOP_CHARS))
    return out


def idf_table(docs: Iterable[Iterable[str]]) -> dict[str, float]:
    """Smoothed inverse document frequency over token sets."""
    df: Counter[str] = Counter()
    n = 0
    for doc in docs:
        n += 1
        df.update(set(doc))
    return {t: math.log(1 + (n + 1) / (c + 0.5)) for t, c in df.items()}


def overlap_f1(query: set[str], doc: set[str], idf: dict[str, float], unknown_idf: float) -> float:
    """idf-weighted F1 of two token sets: 1.0 = same content words, 0 = nothing shared."""
    if not query or not doc:
        return 0.0
    w = lambda t: idf.get(t, unknown_idf)  # noqa: E731
    shared = sum(w(t) for t in query & doc)
    if shared <= 0:
        return 0.0
    recall = shared / sum(w(t) for t in query)
    precision = shared / sum(w(t) for t in doc)
    return 2 * precision * recall / (precision + recall)


def words(text: str, extra_words: Iterable[str] = ()) -> list[str]:
    """Content words only (jieba words and Latin words, no bigrams), for coverage checks."""
    text = normalize(text)
    out: list[str] = [t for t in _LATIN.findall(text) if t not in STOPWORDS]
    runs = _CJK_RUN.findall(text)
    if runs:
        tok = _jieba(extra_words)
        for run in runs:
            out.extend(w for w in tok.lcut(run) if w not in STOPWORDS and w.strip())
    return out
