"""The real Qwen-Agent loop against the scripted OpenAI-compatible server, in both
tool-call modes, ending in `kb-agent ask --json`."""

from __future__ import annotations

import json
import socket

import pytest

from kb_agent.answering import Answerer
from kb_agent.errors import LLMUnavailableError, ToolLoadError
from kb_agent.kb import KnowledgeBase
from tests.fakellm import Call, Say, last_tool_result


def llm_env(fake_llm, raw: bool) -> dict[str, str]:
    return {"KB_AGENT_LLM": "openai", "KB_AGENT_OPENAI__MODEL_SERVER": fake_llm.url,
            "KB_AGENT_OPENAI__MODEL": "fake-qwen", "KB_AGENT_OPENAI__USE_RAW_API": str(raw).lower(),
            "KB_AGENT_AGENT__TOOLS": json.dumps(GLOSSARY_ONLY)}


GLOSSARY_ONLY = ["glossary_lookup"]


def answer_from_glossary(request: dict) -> Say:
    result = last_tool_result(request)
    assert "Account Manager" in result, result
    return Say("AM 是 Account Manager，即客户经理（销售部）。来源：公司术语表。")


@pytest.mark.parametrize("raw", [False, True], ids=["prompt-tool-calls", "native-tool-calls"])
def test_glossary_question_through_agent_loop_and_cli(fake_llm, cli, raw):
    fake_llm.enqueue(Call("glossary_lookup", {"term": "AM"}), answer_from_glossary)

    result = cli("ask", "--json", "AM是什么意思？", env=llm_env(fake_llm, raw))

    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["mode"] == "llm"
    assert "客户经理" in out["answer"] and "Account Manager" in out["answer"]
    assert out["tool_calls"] == [{"name": "glossary_lookup", "arguments": {"term": "AM"}}]
    assert out["citations"][0]["source"] == "glossary/company.yaml"
    # The wire format matched the mode: native tools only with use_raw_api.
    first = fake_llm.requests[0]
    assert bool(first.get("tools")) is raw
    assert first["stream"] is True
    second = fake_llm.requests[1]
    roles = [m["role"] for m in second["messages"]]
    assert ("tool" in roles) is raw
    # The system prompt told the model to look terms up.
    assert "glossary_lookup" in json.dumps(first["messages"][0], ensure_ascii=False)


def test_model_that_never_stops_calling_tools_hits_the_cap(fake_llm, make_settings):
    fake_llm.default = Call("glossary_lookup", {"term": "AM"})
    settings = make_settings(llm="openai", openai={"model_server": fake_llm.url},
                             agent={"max_llm_calls_per_turn": 3, "tools": GLOSSARY_ONLY})
    answer = Answerer(settings, KnowledgeBase(settings)).ask("AM?")
    assert len(fake_llm.requests) == 3
    assert answer.hit_call_cap
    assert len(answer.tool_calls) == 3
    assert "3" in answer.answer and "limit" in answer.answer.lower()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_model_server_down_gives_one_clear_error(cli):
    url = f"http://127.0.0.1:{_free_port()}/v1"
    result = cli("ask", "AM是什么意思？", env={"KB_AGENT_LLM": "openai", "KB_AGENT_OPENAI__MODEL_SERVER": url,
                                          "KB_AGENT_AGENT__TOOLS": json.dumps(GLOSSARY_ONLY)})
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "openai backend" in result.stderr and url in result.stderr
    assert "KB_AGENT_OPENAI__MODEL_SERVER" in result.stderr


def test_server_down_raises_typed_error(make_settings):
    url = f"http://127.0.0.1:{_free_port()}/v1"
    settings = make_settings(llm="openai", openai={"model_server": url}, agent={"tools": GLOSSARY_ONLY})
    with pytest.raises(LLMUnavailableError) as err:
        Answerer(settings, KnowledgeBase(settings)).ask("AM?")
    assert err.value.url == url and err.value.backend == "openai"


def test_missing_configuration_names_what_to_set(cli):
    result = cli("ask", "hi", env={"KB_AGENT_LLM": "dashscope"})
    assert result.exit_code == 2
    assert "DASHSCOPE_API_KEY" in result.stderr


def test_no_workspace_folder_in_the_working_directory(fake_llm, make_settings, tmp_path):
    fake_llm.enqueue(Call("glossary_lookup", {"term": "AAP"}), Say("AAP = Actual Achieved Price."))
    settings = make_settings(llm="openai", openai={"model_server": fake_llm.url}, agent={"tools": GLOSSARY_ONLY})
    Answerer(settings, KnowledgeBase(settings)).ask("AAP?")
    assert not (tmp_path / "workspace").exists()


TOOL_MODULE = '''
from qwen_agent.tools.base import register_tool
from kb_agent.tooling import KBTool, ToolOutput


@register_tool("{name}")
class Echo(KBTool):
    description = "Echo a word back in upper case."
    parameters = {{"type": "object", "properties": {{"word": {{"type": "string"}}}}, "required": ["word"]}}

    def run(self, args):
        return ToolOutput("ECHO:" + args["word"].upper())
'''


def test_tool_dropped_into_a_tools_folder_is_picked_up(fake_llm, make_settings, tmp_path):
    tools_dir = tmp_path / "tools"
    tools_dir.mkdir()
    (tools_dir / "echo_test_tool.py").write_text(TOOL_MODULE.format(name="echo_test_tool"))
    fake_llm.enqueue(Call("echo_test_tool", {"word": "hello"}),
                     lambda req: Say("the tool said " + last_tool_result(req)))
    settings = make_settings(llm="openai", openai={"model_server": fake_llm.url},
                             agent={"tools": ["glossary_lookup", "echo_test_tool"], "tools_dir": tools_dir})
    answer = Answerer(settings, KnowledgeBase(settings)).ask("echo hello")
    assert answer.answer == "the tool said ECHO:HELLO"
    assert answer.tool_calls == [{"name": "echo_test_tool", "arguments": {"word": "hello"}}]
    # The tool's schema was offered to the model.
    assert "echo_test_tool" in json.dumps(fake_llm.requests[0], ensure_ascii=False)


def test_unknown_or_broken_tool_fails_at_start_naming_the_module(make_settings, tmp_path, fake_llm):
    tools_dir = tmp_path / "tools"
    tools_dir.mkdir()
    (tools_dir / "broken_tool_x.py").write_text("import not_a_module_anywhere\n")
    for name, expected in (("missing_tool_x", "missing_tool_x.py"), ("broken_tool_x", "broken_tool_x.py")):
        settings = make_settings(llm="openai", openai={"model_server": fake_llm.url},
                                 agent={"tools": [name], "tools_dir": tools_dir})
        with pytest.raises(ToolLoadError) as err:
            Answerer(settings, KnowledgeBase(settings))
        assert expected in str(err.value)


def test_bad_tool_arguments_are_reported_to_the_model(fake_llm, make_settings):
    fake_llm.enqueue(Call("glossary_lookup", {"word": "AM"}),
                     lambda req: Say("saw: " + last_tool_result(req)))
    settings = make_settings(llm="openai", openai={"model_server": fake_llm.url}, agent={"tools": GLOSSARY_ONLY})
    answer = Answerer(settings, KnowledgeBase(settings)).ask("AM?")
    assert "missing required argument 'term'" in answer.answer
    assert "Traceback" not in answer.answer


def test_terminal_chat_streams_tool_calls_and_answer(fake_llm, cli):
    fake_llm.enqueue(Call("glossary_lookup", {"term": "AM"}), answer_from_glossary,
                     Say("不在术语表中的内容我不会猜测。"))
    result = cli("chat", env=llm_env(fake_llm, raw=False), input="AM是什么意思？\nXYZ呢？\n\n")
    assert result.exit_code == 0, result.output
    assert '→ glossary_lookup {"term": "AM"}' in result.stdout
    assert "客户经理" in result.stdout and "[1] glossary/company.yaml" in result.stdout
    # The second turn carried the first turn as history.
    last = fake_llm.requests[-1]["messages"]
    assert any("AM是什么意思" in json.dumps(m, ensure_ascii=False) for m in last[1:-1])


def test_tools_built_without_a_user_get_least_privilege(make_settings):
    """Plain Qwen-Agent use (no principal in cfg) must never see what only admins or groups may see."""
    from kb_agent.access import EMPLOYEE
    from kb_agent.tooling import load_tool_class

    settings = make_settings()
    kb = KnowledgeBase(settings)
    for name in settings.agent.tools:
        tool = load_tool_class(name, settings.agent.tools_dir)({"kb": kb})
        assert tool.principal == EMPLOYEE and not tool.principal.is_admin


def test_stores_and_routes_do_not_import_the_agent_bridge():
    """Imports point down: the knowledge base, its stores and the offline routes use the result
    types of kb_agent/results.py and never load Qwen-Agent or kb_agent.tooling (issue #13)."""
    import subprocess
    import sys

    code = ("import sys; import kb_agent.kb, kb_agent.router, kb_agent.glossary.route, kb_agent.facts.route, "
            "kb_agent.index.route, kb_agent.facts.answer, kb_agent.index.present, kb_agent.grounding; "
            "print(sorted(m for m in sys.modules if m == 'kb_agent.tooling' or m.startswith('qwen_agent')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout
