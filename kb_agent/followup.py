"""Follow-up questions in offline mode: "AM是什么意思？" then "它的英文全称是什么？".

Without a model, every question is routed alone, so a question that leans on the previous turn
("它", "its", "那中文呢？", an elliptical "每月几次？") finds nothing. :func:`resolve` carries the
previous turn's subject into it before routing: the company terms (glossary matches) of the
latest earlier question that had any. With an LLM the model writes its own tool queries from
the history, so this runs in offline mode only.

A question that does not lean on the history must come back unchanged, so the rules are narrow:

- a pronoun that points back (它/它们/这个/那个/该…/其…; it, its, they, them, their) is
  replaced by the subject (in a question that names a company term of its own, only 它/它们 and
  the English pronouns count);
- "那…呢？" / "what about …?" / "and in English?" gets the subject in front;
- a short question with a question word and no company term of its own ("每月几次？",
  "在哪里举行？", "how often?") gets the subject in front;
- nothing else changes, and nothing changes when no earlier question had a company term.

Pure: the caller passes ``terms_of`` (question -> the company terms it names, in order).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

#: Chinese pronouns that point back. 该/其 only where they are determiners (应该, 其他, 其中,
#: 尤其 … are not), 这个/那个 only before a noun or at the end ("这个呢").
_ZH_PRONOUN = re.compile(r"它们|它|(?<![应活])该(?=[\u4e00-\u9fff])(?![是怎])|(?<![尤与极])其(?![他它中余次实])(?=[\u4e00-\u9fff])|这个|那个|这些|那些")
_EN_PRONOUN = re.compile(r"\b(its|it|they|them|their)\b", re.I)
#: Pronouns that point back even in a question naming a term of its own ("它和ESS有什么关系？").
#: (Not "it": in "is it true that ESS …" it points at nothing.)
_STRONG = frozenset({"它", "它们", "its", "their", "them"})
_ZH_ELLIPSIS = re.compile(r"^(?:那|那么|那如果)\s*(.{1,12}?)\s*呢\s*[？?]?$|^(.{1,8}?)\s*呢\s*[？?]?$")
_EN_ELLIPSIS = re.compile(r"^\s*(?:and|what about|how about)\b\s*(.*?)\s*\??\s*$", re.I)
_ZH_QUESTION = re.compile(r"几|多少|哪|什么|谁|何时|吗|怎么|如何|是否")
_EN_QUESTION = re.compile(r"\b(what|how|when|where|who|which|why|whom)\b|\?$", re.I)
_PUNCT = re.compile(r"[\s\W_]+")
SHORT_ZH = 5     # characters, punctuation not counted: "在哪里举行" is short; "应该找谁报销" is a question of its own
SHORT_EN = 4     # words: "how often is it?" is short


@dataclass(frozen=True)
class FollowUp:
    original: str
    question: str                    # what is routed and searched (== original when unchanged)
    subject: tuple[str, ...] = ()    # the carried terms
    reason: str = ""                 # pronoun | ellipsis | short

    @property
    def changed(self) -> bool:
        return self.question != self.original

    def to_dict(self) -> dict:
        return {"question": self.question, "subject": list(self.subject), "reason": self.reason}


def _is_zh(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text))


def subject_of(earlier: Sequence[str], terms_of: Callable[[str], Sequence[str]], lookback: int = 3) -> tuple[str, ...]:
    """The company terms of the latest of the last ``lookback`` earlier questions that names any."""
    for question in list(earlier)[::-1][:lookback]:
        terms = tuple(dict.fromkeys(terms_of(question)))
        if terms:
            return terms
    return ()


def resolve(question: str, earlier: Sequence[str], terms_of: Callable[[str], Sequence[str]]) -> FollowUp:
    """``question`` with the previous turn's subject carried in where it leans on it (see the
    module docstring); ``earlier``: the user's earlier questions, oldest first."""
    q = question.strip()
    unchanged = FollowUp(question, question)
    if not earlier:
        return unchanged
    subject = subject_of(earlier, terms_of)
    if not subject:
        return unchanged
    own = tuple(terms_of(q))
    zh = _is_zh(q)
    name = " ".join(subject)
    pronoun = (_ZH_PRONOUN if zh else _EN_PRONOUN).search(q)
    if pronoun and own and pronoun.group(0).lower() not in _STRONG:
        pronoun = None                        # "ESS培训的其他安排" names its own subject
    if pronoun:
        word = pronoun.group(0)
        repl = f"{name}'s" if word.lower() in ("its", "their") else name
        return FollowUp(question, q[:pronoun.start()] + repl + q[pronoun.end():], subject, "pronoun")
    if own:
        return unchanged                      # names its own subject: a new question
    if zh:
        m = _ZH_ELLIPSIS.match(q)
        if m:
            return FollowUp(question, f"{name}{(m.group(1) or m.group(2)).strip()}？", subject, "ellipsis")
    else:
        m = _EN_ELLIPSIS.match(q)
        if m and m.group(1):
            return FollowUp(question, f"{name} {m.group(1)}?", subject, "ellipsis")
    bare = _PUNCT.sub(" ", q).strip()
    short = len(bare.replace(" ", "")) <= SHORT_ZH if zh else len(bare.split()) <= SHORT_EN
    if short and (_ZH_QUESTION if zh else _EN_QUESTION).search(q):
        return FollowUp(question, f"{name}{q}" if zh else f"{name} {q}", subject, "short")
    return unchanged
