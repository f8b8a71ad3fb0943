"""Answering a question: through the LLM agent loop, or through the offline router.

:class:`Answerer` is built once per process (CLI invocation, web server). ``stream()`` yields
:class:`AnswerUpdate` objects as the answer grows (the web UI renders them); ``ask()`` returns
the final :class:`Answer` (the CLI prints it, ``--json`` included). Every answer is recorded
in the usage log, which is also the audit log (kb_agent/audit.py): with the ``surface`` it was
asked through (web, cli, api, eval) and the evidence shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal, Sequence

from kb_agent.access import LOCAL_ADMIN, Principal
from kb_agent.config import Settings
from kb_agent.errors import InputError, KBError, LLMError
from kb_agent.followup import FollowUp, resolve
from kb_agent.glossary.terms import TermUnderstanding
from kb_agent.grounding import NOTICE as GROUNDING_NOTICE
from kb_agent.grounding import Grounding, all_failed, check, evidence_of, mark
from kb_agent.i18n import language_of
from kb_agent.kb import KnowledgeBase
from kb_agent.results import Citation, ToolEvent, TurnRecorder

log = logging.getLogger(__name__)

Mode = Literal["offline", "llm"]

CAP_NOTICE = {
    "zh": "（已达到本轮允许的模型调用上限 {n} 次，回答可能不完整。）",
    "en": "(Stopped after the per-turn limit of {n} model calls; the answer may be incomplete.)",
}

#: Shown above an offline answer to a follow-up question, so the reader sees what was looked up.
UNDERSTOOD_AS = {"zh": "（按上文理解为：{q}）", "en": "(Read with the earlier question as: {q})"}

#: Shown instead of a model's answer none of whose claims the sources support.
UNVERIFIED = {
    "zh": "模型给出的回答无法在检索到的来源中核实，因此不予显示。以下是找到的来源，请直接查阅。",
    "en": "The model's answer could not be verified against the sources it was given, so it is not "
          "shown. The sources found are listed below; please read them directly.",
}


@dataclass
class Answer:
    question: str
    answer: str
    mode: Mode
    language: str
    events: list[ToolEvent] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    found: bool = True
    route: str | None = None          # offline: which route answered
    hit_call_cap: bool = False
    terms: dict[str, Any] = field(default_factory=dict)
    grounding: Grounding | None = None  # LLM mode: the check of the model's text against the evidence
    followup: FollowUp | None = None    # offline: the question as resolved against the earlier turns

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.events]

    def to_dict(self) -> dict[str, Any]:
        """The stable ``ask --json`` shape (docs/cli-json.md)."""
        return {
            "question": self.question,
            "answer": self.answer,
            "mode": self.mode,
            "language": self.language,
            "found": self.found,
            "route": self.route,
            "tool_calls": self.tool_calls,
            "citations": [c.to_dict() for c in self.citations],
            "terms": self.terms,
            "hit_call_cap": self.hit_call_cap,
            "grounding": self.grounding.to_dict() if self.grounding is not None else None,
            "followup": self.followup.to_dict() if self.followup is not None else None,
        }


@dataclass
class AnswerUpdate:
    """A snapshot while answering: the text so far and the tool calls made so far. In LLM mode
    the text stays empty until the answer is complete and checked against its sources (the
    tool calls show the progress): nobody reads a claim before it is checked."""

    text: str
    events: list[ToolEvent]
    done: bool = False
    answer: Answer | None = None


def check_question(question: str, max_chars: int) -> str:
    """The question to answer, stripped; InputError when it is empty or over ``max_chars``."""
    question = (question or "").strip()
    if not question:
        raise InputError("The question is empty.")
    if len(question) > max_chars:
        raise InputError(f"The question is too long ({len(question)} characters; at most {max_chars}).",
                         hint="Ask about one thing at a time, or shorten the question.")
    return question


HISTORY_MESSAGES = 12  # the last six turns are enough context and keep prompts small


def plain_history(history: Sequence[Any], max_chars: int) -> list[dict[str, str]]:
    """The earlier turns as the LLM gets them: user/assistant messages with plain-text content
    only (a client-sent list of content parts could name files or URLs for the LLM framework to
    fetch), each cut to a few questions' length, the last :data:`HISTORY_MESSAGES` of them."""
    kept = [{"role": m["role"], "content": m["content"][:4 * max_chars]} for m in history
            if isinstance(m, dict) and m.get("role") in ("user", "assistant")
            and isinstance(m.get("content"), str) and m["content"].strip()]
    return kept[-HISTORY_MESSAGES:]


class Answerer:
    #: Called after each answer is logged (the web server's daily audit-log purge); None = nothing.
    after_log: Callable[[], object] | None = None

    def __init__(self, settings: Settings, kb: KnowledgeBase):
        self.settings = settings
        self.kb = kb
        if settings.llm != "offline":
            from kb_agent.agent import check_tools
            from kb_agent.llm import llm_config

            llm_config(settings)        # a misconfigured backend fails now, with what to set
            check_tools(settings)       # so does a broken tool module

    @property
    def mode(self) -> Mode:
        return "offline" if self.settings.llm == "offline" else "llm"

    def ask(self, question: str, principal: Principal = LOCAL_ADMIN,
            history: Sequence[dict[str, str]] = (), *, surface: str = "cli") -> Answer:
        final = None
        for update in self.stream(question, principal, history, surface=surface):
            final = update
        assert final is not None and final.answer is not None
        return final.answer

    def stream(self, question: str, principal: Principal = LOCAL_ADMIN,
               history: Sequence[dict[str, str]] = (), *, surface: str = "cli") -> Iterator[AnswerUpdate]:
        """``surface``: where the question was asked (web, cli, api, eval), for the audit log."""
        question = check_question(question, self.settings.agent.max_question_chars)
        if self.mode == "offline":
            answer = self._offline(question, principal, history, surface)
            yield AnswerUpdate(answer.answer, answer.events, done=True, answer=answer)
        else:
            yield from self._llm(question, principal, history, surface)

    # -- offline ---------------------------------------------------------------------------
    def _offline(self, question: str, principal: Principal, history: Sequence[dict[str, str]] = (),
                 surface: str = "cli") -> Answer:
        from kb_agent.router import NOT_FOUND, NOTICE, route_all

        lang = language_of(question, self.settings.agent.language)
        earlier = [m["content"] for m in plain_history(history, self.settings.agent.max_question_chars)
                   if m["role"] == "user"]
        understood: dict[str, TermUnderstanding] = {}   # each text of this turn understood once

        def terms_of(text: str) -> TermUnderstanding:
            if text not in understood:
                understood[text] = self.kb.understand(text)
            return understood[text]

        follow = resolve(question, earlier, lambda q: [m.text for m, _ in terms_of(q).chosen])
        routing = route_all(follow.question, self.kb, principal, terms_of(follow.question))
        routed, terms = routing.answer, routing.terms
        notice = NOTICE[lang] + (f"\n\n{UNDERSTOOD_AS[lang].format(q=follow.question)}" if follow.changed else "")
        self.kb.usage.record_unknown_terms(terms.unknown, question)
        if routed is None:
            body = NOT_FOUND[lang] + self._unknown_terms_note(terms.unknown, lang)
            if routing.miss is not None and routing.miss.text:
                body += "\n\n" + routing.miss.text     # why, and the closest passages: not an answer
            answer = Answer(question, f"{notice}\n\n{body}", "offline", lang, found=False,
                            terms=terms.to_dict())
        else:
            event = ToolEvent(routed.tool, routed.arguments, routed.output)
            answer = Answer(question, f"{notice}\n\n{routed.text}", "offline", lang, [event],
                            list(routed.output.citations), found=True, route=routed.route,
                            terms=terms.to_dict())
        answer.followup = follow if follow.changed else None
        self._log(principal, answer, surface)
        return answer

    def _unknown_terms_note(self, unknown: tuple[str, ...], lang: str) -> str:
        """'QBR is not in the glossary (did you mean …?)' for acronyms nobody has defined."""
        lines = []
        for term in unknown:
            similar = self.kb.glossary.suggest(term)
            if lang == "zh":
                lines.append(f"术语表中没有「{term}」" + (f"，您是否要找：{'、'.join(similar)}？" if similar else "。"))
            else:
                lines.append(f"'{term}' is not in the glossary" + (f"; did you mean {', '.join(similar)}?" if similar else "."))
        return ("\n\n" + "\n".join(lines)) if lines else ""

    # -- LLM -------------------------------------------------------------------------------
    def _llm(self, question: str, principal: Principal, history: Sequence[dict[str, str]],
             surface: str = "cli") -> Iterator[AnswerUpdate]:
        from qwen_agent.llm.base import ModelServiceError
        from qwen_agent.llm.schema import ASSISTANT, FUNCTION, Message

        from kb_agent.agent import build_assistant
        from kb_agent.llm import unavailable

        lang = language_of(question, self.settings.agent.language)
        recorder = TurnRecorder()
        assistant = build_assistant(self.settings, self.kb, principal, recorder, lang)
        messages = [Message(role=m["role"], content=m["content"])
                    for m in plain_history(history, self.settings.agent.max_question_chars)]
        messages.append(Message(role="user", content=question))
        response: list = []
        try:
            seen = -1
            for response in assistant.run(messages=messages, lang=lang):
                if len(recorder.events) != seen:  # the text is held back until it is checked
                    seen = len(recorder.events)
                    yield AnswerUpdate("", list(recorder.events))
        except ModelServiceError as exc:
            log.warning("model service error", exc_info=True)
            raise unavailable(self.settings, exc) from exc
        except LLMError:
            raise
        except Exception as exc:  # the openai client raises its own errors for HTTP failures
            if type(exc).__module__.startswith(("openai", "httpx", "dashscope")):
                log.warning("model call failed", exc_info=True)
                raise unavailable(self.settings, exc) from exc
            raise
        last = response[-1] if response else None
        hit_cap = bool(last is not None and (last.role == FUNCTION or (last.role == ASSISTANT and last.function_call)))
        text, grounding = checked_text(_final_text(response), recorder.evidence, question, lang)
        if hit_cap:
            text = (text + "\n\n" if text else "") + CAP_NOTICE[lang].format(n=self.settings.agent.max_llm_calls_per_turn)
        found = any(e.output.found for e in recorder.events) or not recorder.events
        if grounding is not None and all_failed(grounding):
            found = False
        answer = Answer(question, text, "llm", lang, list(recorder.events), recorder.citations,
                        found=found, hit_call_cap=hit_cap, terms=self.kb.understand(question).to_dict(),
                        grounding=grounding)
        self.kb.usage.record_unknown_terms(tuple(answer.terms.get("unknown_terms", ())), question)
        self._log(principal, answer, surface)
        yield AnswerUpdate(text, list(recorder.events), done=True, answer=answer)

    def _log(self, principal: Principal, answer: Answer, surface: str) -> None:
        try:
            flags = [f.kind for f in answer.grounding.failures] if answer.grounding else []
            self.kb.usage.record_question(principal.name, answer.question, answer.mode,
                                          [e.name for e in answer.events], answer.found, flags, surface=surface,
                                          evidence=[{"source": c.source, "locator": c.locator}
                                                    for c in answer.citations])
            if self.after_log is not None:
                self.after_log()
        except Exception:  # the usage log must never break answering
            log.warning("could not write the usage log", exc_info=True)


def checked_text(text: str, evidence: Sequence[Citation], question: str, lang: str) -> tuple[str, Grounding | None]:
    """The model's final text as people may read it, and the grounding check behind it: what
    failed is marked or removed under a notice; an answer none of whose claims hold is replaced
    by :data:`UNVERIFIED` (the sources are still listed under it), or by the offline "not found"
    answer when the turn found no source at all."""
    from kb_agent.router import NOT_FOUND

    if not text:
        return text, None
    grounding = check(text, evidence_of(evidence), question=question)
    if grounding.ok:
        return text, grounding
    if all_failed(grounding):
        return (UNVERIFIED if evidence else NOT_FOUND)[lang], grounding
    return f"{GROUNDING_NOTICE[lang]}\n\n{mark(text, grounding)}", grounding


def _final_text(response: list) -> str:
    """The assistant's text after the last tool result (what the user should read)."""
    text_parts: list[str] = []
    for msg in response:
        if msg.role == "function":
            text_parts = []
        elif msg.role == "assistant" and isinstance(msg.content, str) and msg.content:
            text_parts.append(msg.content)
    return "".join(text_parts).strip()
