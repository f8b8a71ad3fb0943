import pytest

from kb_agent.agent import system_prompt
from kb_agent.config import load_settings
from kb_agent.errors import ConfigError
from kb_agent.prompts import prompt_path


def test_defaults_are_offline_with_project_folders(tmp_path):
    s = load_settings(data_dir=tmp_path)
    assert s.llm == "offline" and s.data_dir == tmp_path
    assert (s.glossary.dir / "company.yaml").is_file()
    assert "glossary_lookup" in s.agent.tools


def test_environment_beats_file_and_file_beats_defaults(tmp_path, monkeypatch):
    (tmp_path / "kb_agent.yaml").write_text(
        "llm: openai\nopenai:\n  model_server: http://file/v1\n  model: from-file\nagent:\n  language: en\n",
        encoding="utf-8")
    monkeypatch.setenv("KB_AGENT_OPENAI__MODEL", "from-env")
    s = load_settings()
    assert s.llm == "openai" and s.openai.model_server == "http://file/v1"
    assert s.openai.model == "from-env" and s.agent.language == "en"
    assert load_settings(data_dir=tmp_path / "x").data_dir == tmp_path / "x"


def test_dashscope_key_from_its_own_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test")
    s = load_settings(data_dir=tmp_path, llm="dashscope")
    assert s.dashscope.api_key.get_secret_value() == "sk-test"


def test_invalid_values_name_the_field_and_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_AGENT_LLM", "gpt5")
    with pytest.raises(ConfigError) as err:
        load_settings(data_dir=tmp_path)
    assert "llm" in str(err.value) and "KB_AGENT_LLM" in str(err.value)
    monkeypatch.delenv("KB_AGENT_LLM")
    (tmp_path / "bad.yaml").write_text("agent:\n  max_llm_calls_per_turn: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="agent.max_llm_calls_per_turn"):
        load_settings(tmp_path / "bad.yaml")
    (tmp_path / "worse.yaml").write_text("llm: [offline\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"worse.yaml:\d+: not valid YAML"):
        load_settings(tmp_path / "worse.yaml")


def test_unknown_setting_is_refused(tmp_path):
    (tmp_path / "c.yaml").write_text("lm: offline\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="lm"):
        load_settings(tmp_path / "c.yaml")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_referenced_prompt_exists_and_names_the_tools(lang, tmp_path):
    s = load_settings(data_dir=tmp_path)
    assert prompt_path(s.agent.prompts_dir, s.agent.system_prompt, lang).is_file()
    text = system_prompt(s, lang)
    assert "{" not in text and all(name in text for name in s.agent.tools)


def test_example_config_is_current_and_loads(tmp_path):
    """kb_agent.example.yaml documents every setting; regenerate it with scripts/make_example_config.py."""
    import runpy

    from kb_agent.config import PROJECT_ROOT
    from kb_agent.settings_doc import example_yaml

    module = runpy.run_path(str(PROJECT_ROOT / "scripts" / "make_example_config.py"))
    assert (PROJECT_ROOT / "kb_agent.example.yaml").read_text(encoding="utf-8") == example_yaml(module["default_settings"]())
    s = load_settings(PROJECT_ROOT / "kb_agent.example.yaml", data_dir=tmp_path)
    assert s.llm == "offline" and s.agent.tools == ["glossary_lookup", "fact_query", "doc_retrieve"]


def test_config_show_masks_secrets(cli, monkeypatch):
    result = cli("config", "show", "--json", env={"KB_AGENT_LLM": "dashscope", "DASHSCOPE_API_KEY": "sk-secret"})
    assert result.exit_code == 0
    assert "sk-secret" not in result.stdout
    import json
    assert json.loads(result.stdout)["dashscope"]["api_key"] == "********"
