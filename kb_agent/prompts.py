"""System prompts live in ``prompts/<name>.<lang>.md`` and are loaded by name."""

from __future__ import annotations

from pathlib import Path

from kb_agent.errors import ConfigError


def prompt_path(prompts_dir: Path, name: str, lang: str) -> Path:
    return Path(prompts_dir) / f"{name}.{lang}.md"


def load_prompt(prompts_dir: Path, name: str, lang: str, **values: str) -> str:
    """Read a prompt and fill its ``{placeholders}``; missing prompt -> ConfigError."""
    path = prompt_path(prompts_dir, name, lang)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Prompt '{name}' ({lang}) not found: {path}",
                          hint="Check `agent.prompts_dir` and `agent.system_prompt` in the settings.") from exc
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text.strip()
