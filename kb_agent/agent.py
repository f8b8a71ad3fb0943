"""build_assistant(): the Qwen-Agent Assistant with kb-agent's tools and system prompt.

One Assistant is built per turn (cheap: the knowledge base behind the tools is shared), so
each turn's tools know who is asking and record what they returned.
"""

from __future__ import annotations

import copy
from typing import Iterator

from qwen_agent.agents import Assistant
from qwen_agent.llm.schema import ASSISTANT, FUNCTION, Message

from kb_agent.access import LOCAL_ADMIN, Principal
from kb_agent.config import Settings
from kb_agent.kb import KnowledgeBase
from kb_agent.llm import llm_config
from kb_agent.prompts import load_prompt
from kb_agent.results import TurnRecorder
from kb_agent.tooling import instantiate_tools, load_tool_class


class _NoFileMemory:
    """Stands in for Qwen-Agent's per-query file RAG (which would write ./workspace/).

    kb-agent brings its own persistent retrieval as the ``doc_retrieve`` tool, so the
    Assistant has no files to read: knowledge comes through tools only.
    """

    system_files: list[str] = []

    def run(self, messages, **kwargs) -> Iterator[list[Message]]:
        yield [Message(role=ASSISTANT, content="", name="memory")]


class KBAssistant(Assistant):
    """An Assistant with a per-turn cap on LLM calls (Qwen-Agent's own cap is a process-wide
    environment variable) and no file memory."""

    def __init__(self, *, max_llm_calls: int, **kwargs):
        self.mem = _NoFileMemory()
        super().__init__(**kwargs)
        self.max_llm_calls = max_llm_calls

    def _run(self, messages: list[Message], lang: str = "en", **kwargs) -> Iterator[list[Message]]:
        messages = copy.deepcopy(messages)
        response: list[Message] = []
        for _ in range(self.max_llm_calls):
            output: list[Message] = []
            for output in self._call_llm(messages=messages,
                                         functions=[f.function for f in self.function_map.values()],
                                         extra_generate_cfg={"lang": lang}):
                if output:
                    yield response + output
            if not output:
                break
            response.extend(output)
            messages.extend(output)
            used_tool = False
            for out in output:
                use_tool, tool_name, tool_args, _ = self._detect_tool(out)
                if use_tool:
                    result = self._call_tool(tool_name, tool_args, messages=messages, **kwargs)
                    fn_msg = Message(role=FUNCTION, name=tool_name, content=result,
                                     extra={"function_id": (out.extra or {}).get("function_id", "1")})
                    messages.append(fn_msg)
                    response.append(fn_msg)
                    yield response
                    used_tool = True
            if not used_tool:
                break
        yield response


def check_tools(settings: Settings) -> None:
    """Import every configured tool now, so a broken one fails at start-up naming its module."""
    for name in settings.agent.tools:
        load_tool_class(name, settings.agent.tools_dir)


def system_prompt(settings: Settings, lang: str) -> str:
    hint = {"zh": "本部署可用的工具：", "en": "Tools available in this deployment: "}[lang]
    return load_prompt(settings.agent.prompts_dir, settings.agent.system_prompt, lang,
                       tools_hint=hint + ", ".join(settings.agent.tools))


def build_assistant(settings: Settings, kb: KnowledgeBase, principal: Principal = LOCAL_ADMIN,
                    recorder: TurnRecorder | None = None, lang: str | None = None) -> KBAssistant:
    """The configured Assistant. Requires an LLM backend (not ``offline``)."""
    lang = lang or settings.agent.language
    cfg = {"kb": kb, "principal": principal, "recorder": recorder,
           "work_dir": str(settings.workspace_dir)}
    tools = instantiate_tools(settings.agent.tools, settings.agent.tools_dir, cfg)
    return KBAssistant(function_list=tools, llm=llm_config(settings), system_message=system_prompt(settings, lang),
                       name="kb-agent", max_llm_calls=settings.agent.max_llm_calls_per_turn)
