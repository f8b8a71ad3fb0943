"""Tokenisation for keyword search over Chinese and English text.

- Chinese: jieba words, with every company term (and its Chinese names) added as a user word
  so "三码" or "客户经理" are never split, plus overlapping character bigrams of each Han run
  (bigrams recover paraphrases that jieba segments differently).
- English and codes: NFKC normalisation (full-width → ASCII), lower-casing, a light plural
  strip ("printers" → "printer").

Pure and deterministic for a given term list; one :class:`Tokenizer` per glossary version.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
from typing import Iterable

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_EN_STOP = frozenset("a an the of to in on at for and or is are was were be been by with what which who "
                     "how does do did this that these those it its as from into about can i we you".split())
_ZH_STOP = frozenset("的 了 是 在 和 与 及 或 吗 呢 吧 啊 什么 哪些 怎么 如何 多少 几 个 有 请 问 我 你 他 们 这 那 "
                     "里 中 上 下 对 为 把 被 就 都 也 要 会 能 可以".split())

#: Words keyword search ignores (also handed to Milvus's analyzer as its stop filter).
STOP_WORDS = _EN_STOP | _ZH_STOP

#: Bigrams holding one of these carry no topic ("的原", "理是").
_PARTICLES = frozenset("的了吗呢吧啊是么")

_jieba_lock = threading.Lock()


def normalise(text: str) -> str:
    """NFKC + lower-case: 'ＡＭ' → 'am', 'Printers' → 'printers'."""
    return unicodedata.normalize("NFKC", text).lower()


def _stem(word: str) -> str:
    if word.isascii() and word.isalpha() and len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


class Tokenizer:
    """Turns text into BM25 tokens. ``user_words`` are company terms jieba must keep whole."""

    def __init__(self, user_words: Iterable[str] = (), *, bigrams: bool = True):
        import jieba

        self.user_words = sorted({w.strip() for w in user_words if w and w.strip()})
        self.bigrams = bigrams
        self.signature = hashlib.sha1(("\x00".join(self.user_words) + f"|{bigrams}").encode()).hexdigest()[:12]
        logging.getLogger("jieba").setLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        with _jieba_lock:
            self._jieba.initialize()
        for word in self.user_words:
            # jieba matches user words against the normalised (lower-cased) text we give it.
            self._jieba.add_word(normalise(word), freq=1_000_000)

    def __call__(self, text: str) -> list[str]:
        return self.tokenize(text)

    def tokenize(self, text: str) -> list[str]:
        text = normalise(text)
        tokens: list[str] = []
        for word in self._jieba.lcut(text, HMM=True):
            word = word.strip()
            if not word or not _WORD.search(word) or word in _EN_STOP or word in _ZH_STOP:
                continue
            tokens.append(_stem(word))
        if self.bigrams:
            for run in _HAN.findall(text):
                tokens.extend(b for b in (run[i:i + 2] for i in range(len(run) - 1))
                              if b not in _ZH_STOP and not _PARTICLES.intersection(b))
        return tokens

    def tokenize_many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.tokenize(t) for t in texts]
