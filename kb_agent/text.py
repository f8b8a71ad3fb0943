"""The one place text is normalised and cut into words, for Chinese and English alike.

- :func:`normalise`: NFKC (full-width → ASCII) and case folding, used by keyword search, fact
  and table matching, the glossary's keys and the relevance decision.
- :class:`Tokenizer`: jieba words, with every company term (and its Chinese names) added as a
  user word so "三码" or "客户经理" are never split, plus overlapping character bigrams of each
  Han run (bigrams recover paraphrases that jieba segments differently); English words with a
  light plural strip ("printers" → "printer").
- Two stop lists: :data:`STOP_WORDS` for searching documents (asking words such as 什么 / how
  are dropped: a passage rarely says them), :data:`MATCH_STOP_WORDS` for matching a question
  against short fact phrasings and table rows (asking words stay: "谁审批" and "何时审批" are
  different facts about one subject).

Pure and deterministic for a given term list; one shared :class:`Tokenizer` (one jieba
dictionary in memory) per glossary version, from :func:`tokenizer_for`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import re
import threading
import unicodedata
from typing import Iterable

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_ASCII_RUN = re.compile(r"[0-9a-z]+")
_EN_STOP = frozenset("a an the of to in on at for and or is are was were be been by with what which who "
                     "how does do did this that these those it its as from into about can i we you".split())
_ZH_STOP = frozenset("的 了 是 在 和 与 及 或 吗 呢 吧 啊 什么 哪些 怎么 如何 多少 几 个 有 请 问 我 你 他 们 这 那 "
                     "里 中 上 下 对 为 把 被 就 都 也 要 会 能 可以".split())

#: Words keyword search ignores (also handed to Milvus's analyzer as its stop filter).
STOP_WORDS = _EN_STOP | _ZH_STOP

#: Words fact and table matching ignores: function words and framing only.
MATCH_STOP_WORDS = frozenset(
    "的 了 是 吗 呢 吧 啊 和 与 及 请问 请 一下 我们 我 你 公司 在 有 要 会 能 可以 "
    "a an the is are was were be do does did of to in on at for and or please i we you our it "
    "that this with by as can".split())

#: Words that ask rather than say what about. Neither the relevance decision nor the coverage
#: of a table row counts them as the question's topic; keyword search drops only those in
#: STOP_WORDS (a passage may hold "目的"), fact matching none (they tell facts apart).
QUESTION_WORDS = frozenset(
    "什么 多少 几 哪些 怎么 如何 几号 几点 哪天 哪一天 有没有 呢 what which who how "
    "怎样 怎么样 哪个 哪里 哪儿 哪 谁 为什么 为何 是否 能否 可否 几次 几个 几天 多久 多长 多大 多远 何时 什么时候 "
    "请问 一下 告诉 介绍 解释 说明 意思 意味着 含义 指 代表 关于 有关 相关 需要 应该 应当 吗 么 呀 "
    "when where why whom whose many much could would should will shall may might must please tell explain describe "
    "mean means meaning stand stands need use used using get there any some".split())

#: English function words that neither of the lists above drops (keyword search keeps them: BM25
#: weighs them down by itself). They never say what a question is about, so the relevance
#: decision does not count them as its terms; in a small corpus their IDF would be the highest
#: of all ("have" in "How many days do customers have to return …?").
FUNCTION_WORDS = frozenset(
    "have has had having am not no nor my our your their his her they them he she me us him "
    "there here than then so such very just only also more most other own same each every both "
    "few onto over under out off again further once while because if else until upon whether "
    "yes one ones anything something everything nothing".split())

#: Bigrams holding one of these carry no topic ("的原", "理是").
_PARTICLES = frozenset("的了吗呢吧啊是么")

_jieba_lock = threading.Lock()

#: The specificity of everyday words (:meth:`Tokenizer.specificity`'s floor).
EVERYDAY = 0.25

#: jieba's dictionary gives compounds it has no counts for a frequency of 3 or so.
RARE_COMPOUND = 3


def normalise(text: str | None) -> str:
    """NFKC + case folding: 'ＡＭ' → 'am', 'Printers' → 'printers'; None → ''."""
    return unicodedata.normalize("NFKC", text or "").casefold()


_PUNCT = re.compile(r"[\s\.\-_/·•,，。、'’\"`()（）\[\]【】:：;；!！?？]+")


def normalise_key(text: str | None) -> str:
    """A case-, width- and punctuation-insensitive key: 'A.M.' → 'am', 'Act.' → 'act' (glossary
    terms, fact phrasings, table and column names)."""
    return _PUNCT.sub("", normalise(text))


def stem(word: str) -> str:
    """The light plural strip of English words: 'printers' → 'printer' (not 'class')."""
    if word.isascii() and word.isalpha() and len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=200_000)
def match_stem(word: str) -> str:
    """The Snowball (Porter 2) stem of an English word, for deciding whether a passage mentions a
    question's word: 'approves', 'approval' → 'approv'. (Keyword search keeps the lighter
    plural strip of :func:`stem`, which its index was built with.)"""
    return _snowball().stemWord(word)


_SNOWBALL: list = []


def _snowball():
    if not _SNOWBALL:
        import snowballstemmer

        _SNOWBALL.append(snowballstemmer.stemmer("english"))
    return _SNOWBALL[0]


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
        self._user = {normalise(w) for w in self.user_words}
        # English terms that are more than one letter-and-digit run ("R&D", "SL-500", "C++"):
        # kept whole where they stand as words, besides their pieces.
        joined = sorted((w for w in self._user if w.isascii() and not _ASCII_RUN.fullmatch(w)
                         and _ASCII_RUN.search(w)), key=len, reverse=True)
        self._joined = (re.compile(r"(?<![0-9a-z])(?:" + "|".join(map(re.escape, joined)) + r")(?![0-9a-z])")
                        if joined else None)
        for word in self.user_words:
            # jieba matches user words against the normalised (lower-cased) text we give it.
            self._jieba.add_word(normalise(word), freq=1_000_000)

    def __call__(self, text: str) -> list[str]:
        return self.tokenize(text)

    def tokenize(self, text: str, stop: frozenset[str] = STOP_WORDS) -> list[str]:
        """Keyword tokens (with repeats): :meth:`words` with the light plural strip, then
        Chinese bigrams."""
        text = normalise(text)
        tokens = [stem(w) for w in self._words(text, stop)]
        if self.bigrams:
            for run in _HAN.findall(text):
                tokens.extend(b for b in (run[i:i + 2] for i in range(len(run) - 1))
                              if b not in stop and not _PARTICLES.intersection(b))
        return tokens

    def words(self, text: str, stop: frozenset[str] = STOP_WORDS) -> list[str]:
        """The words of ``text`` (normalised, company terms whole), without bigrams or words
        in ``stop``: what the relevance decision and the fact and calculation matching take a
        question's terms from."""
        return self._words(normalise(text), stop)

    def _words(self, text: str, stop: frozenset[str]) -> list[str]:
        # jieba for the Chinese words only: with a short company term as a user word it cuts
        # English words ("proc" + "ess", "c" + "am" + "era"); English words are the letter and
        # digit runs.
        han = [w.strip() for w in self._jieba.lcut(text, HMM=True) if _HAN.search(w)]
        joined = self._joined.findall(text) if self._joined else []
        return [w for w in han + _ASCII_RUN.findall(text) + joined if w and w not in stop]

    def specificity(self, word: str) -> float:
        """How specific a word is in the language at large: 0.25 for everyday words (公司, 负责,
        number, data) up to 1 for rare ones and words no list has (差旅, 调休, sigterm, company
        terms). From the Zipf frequency (log10 of uses per billion words): jieba's dictionary
        for Chinese words, wordfreq's list for the others."""
        if word in self._user:
            return 1.0
        if _HAN.search(word):
            freq = self.frequency(word)
            if freq <= RARE_COMPOUND:
                # A word jieba's HMM made up ("最多能") or a rare compound of common words
                # ("多少钱", "磁盘空间"): as specific as its most specific piece.
                parts = self.pieces(word) or [c for c in word if _HAN.match(c)]
                if parts and parts != [word]:
                    return max(self.specificity(p) for p in parts)
            zipf = math.log10((freq + 1) / self._jieba.total) + 9
        else:
            from wordfreq import zipf_frequency

            zipf = zipf_frequency(word, "en")
        return min(1.0, max(EVERYDAY, (6.0 - zipf) / 2.5))

    def frequency(self, word: str) -> int:
        """The word's count in jieba's dictionary (0 when it has none; a company term: very high)."""
        return self._jieba.FREQ.get(word, 0)

    def pieces(self, word: str) -> list[str]:
        """The dictionary words of at least two characters a Chinese word is made of, when it
        is made of more than one ("磁盘空间" → 磁盘, 空间); [] otherwise."""
        if not _HAN.search(word) or word in self._user:
            return []
        return list(dict.fromkeys(p for p in self._jieba.lcut_for_search(word, HMM=False) if len(p) >= 2 and p != word))

    def tokenize_many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.tokenize(t) for t in texts]


def tokenizer_for(user_words: Iterable[str] = (), *, bigrams: bool = True) -> Tokenizer:
    """The shared :class:`Tokenizer` for these company terms: keyword search, fact matching and
    the relevance decision of one glossary version use one jieba dictionary, loaded once."""
    return _shared(tuple(sorted({w.strip() for w in user_words if w and w.strip()})), bigrams)


@functools.lru_cache(maxsize=4)
def _shared(user_words: tuple[str, ...], bigrams: bool) -> Tokenizer:
    return Tokenizer(user_words, bigrams=bigrams)

